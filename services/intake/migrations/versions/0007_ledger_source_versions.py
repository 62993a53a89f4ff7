"""intake: the ledger follows each source's fields by that source's version

`routing_version` orders routing's fields (handling type, deadline, handler, bureau, outcome) apart from
the status (`state_version`, the latest of routing's and feedback's steps), so a feedback step that
arrives before routing's last ones no longer blocks them; `supervision_raises` keeps the supervision
records' share of `supervision_level` apart from routing's, so the level is the same in any order
(docs/projections.md). Existing rows start from what they have: routing's fields as of `state_version`,
their whole level as routing's.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 21:40:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("supervision_raises", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("routing_version", sa.Integer(), server_default="1", nullable=False))
    op.execute("UPDATE cases SET routing_version = state_version")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("routing_version")
        batch_op.drop_column("supervision_raises")

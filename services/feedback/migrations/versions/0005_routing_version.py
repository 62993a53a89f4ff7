"""feedback: routing_version, the version of routing's last event applied to feedback's copy of a case

`version` keeps the highest of the shared sequence seen from either service (feedback numbers its own
steps after it); routing's events are applied only when newer than `routing_version`, so a late or
reordered one cannot move the copy backwards (docs/projections.md). Existing rows start from `version`,
the newest routing state they can have applied.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 21:15:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routing_version", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE cases SET routing_version = version")


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("routing_version")

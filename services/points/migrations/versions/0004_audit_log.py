"""points: the audit trail (append-only: a trigger refuses UPDATE and DELETE)

Revision ID: 0003
Revises: points_outbox_lease
Create Date: 2026-12-01 21:30:00

"""

from collections.abc import Sequence

from alembic import op

from minqing import audit

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "points_outbox_lease"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    audit.create_in_migration(op)


def downgrade() -> None:
    audit.drop_in_migration(op)

"""feedback: residents' households (accounts' links)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:49:17.662527

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""

    op.create_table(
        "resident_households",
        sa.Column("resident", sa.String(length=120), nullable=False),
        sa.Column("community", sa.String(length=40), nullable=False),
        sa.Column("household", sa.String(length=80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("resident", name=op.f("pk_resident_households")),
    )


def downgrade() -> None:
    """Downgrade schema."""

    op.drop_table("resident_households")

"""feedback: covering indexes for the stats (bench/PROFILE-scale.md)

The aggregate behind GET /api/v1/stats reads a period's cases, of one community or of the district; with
every column it counts in the index (INCLUDE, PostgreSQL) it is an index-only scan. The community one
replaces ix_cases_community_registered (same keys).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:40:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTED = ["channel", "handling_type", "grid", "handler_id", "deadline", "first_action_at", "resolved_at",
           "satisfied", "rated", "reopen_count"]  # fmt: skip


def upgrade() -> None:
    op.create_index("ix_cases_stats_community", "cases", ["community", "registered_at"], postgresql_include=COUNTED)
    op.create_index("ix_cases_stats_period", "cases", ["registered_at"], postgresql_include=["community", *COUNTED])
    op.drop_index("ix_cases_community_registered", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_community_registered", "cases", ["community", "registered_at"])
    op.drop_index("ix_cases_stats_period", table_name="cases")
    op.drop_index("ix_cases_stats_community", table_name="cases")

"""intake: indexes for the ledger at scale (bench/PROFILE-scale.md)

- (community, status, registered_at, id): a status filter reads one page, not every newer case
- (handler_id, registered_at, id) instead of (handler_id): a handler's page without sorting all their cases
- trigram GIN indexes on title and description (PostgreSQL, pg_trgm): `q` finds rare text and references
  without reading the whole community

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 17:40:00

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRGM = {"title": "ix_cases_title_trgm", "description": "ix_cases_description_trgm"}


def upgrade() -> None:
    op.create_index("ix_cases_community_status", "cases", ["community", "status", "registered_at", "id"])
    op.create_index("ix_cases_handler_recent", "cases", ["handler_id", "registered_at", "id"])
    op.drop_index("ix_cases_handler_id", table_name="cases")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # a trusted extension: the database owner may
    for column, name in TRGM.items():
        op.create_index(name, "cases", [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def downgrade() -> None:
    for name in TRGM.values():
        op.drop_index(name, table_name="cases")
    op.create_index("ix_cases_handler_id", "cases", ["handler_id"])
    op.drop_index("ix_cases_handler_recent", table_name="cases")
    op.drop_index("ix_cases_community_status", table_name="cases")

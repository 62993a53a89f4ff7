"""The audit trail (PIPL): who changed or read what, when, from which request — append-only.

Every service has an `audit_log` table (in its own metadata, like the outbox) and writes a row **in the
same transaction as the change** it records, so a change and its record commit or roll back together.
The database refuses UPDATE and DELETE on the table (a trigger, as on points' ledger). Reads of unmasked
personal data happen at the gateway, which has no database: it publishes `personal_data.read` and intake
records it. A district admin asks the gateway, which asks every service (`audit_page`) and merges by time.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, Text, and_, insert, or_, select
from sqlalchemy.orm import Session

from minqing import context, paging
from minqing.db import UTCDateTime
from minqing.fields import PeriodPage

_meta = MetaData()
AUDIT_LOG = Table(
    "audit_log",
    _meta,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(32), nullable=False, unique=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("service", String(20), nullable=False),
    Column("actor", String(120), nullable=False),  # the token's sub, or `system`
    Column("role", String(20), nullable=False),
    Column("action", String(60), nullable=False),  # e.g. roster.added, rules.replaced, personal_data.read
    Column("community", String(40), nullable=True),
    Column("target", String(300), nullable=False),  # what was changed or read, e.g. members/maxian-g01-leader
    Column("detail", Text, nullable=False),  # JSON: the change as requested, or what a read returned
    Column("correlation_id", String(64), nullable=True),
    Index("ix_audit_log_at_id", "at", "id"),
)
APPEND_ONLY = "audit_log is append-only"
MAX_DETAIL = 20_000  # characters of JSON kept per row: a whole rule set fits, a bulk import is cut


class AuditQuery(PeriodPage):
    """GET /api/v1/audit: filters, newest first, keyset-paged."""

    class Meta:
        unknown = EXCLUDE

    actor = fields.Str(load_default=None, validate=validate.Length(min=1, max=120))
    action = fields.Str(load_default=None, validate=validate.Length(min=1, max=60))
    community = fields.Str(load_default=None, validate=validate.Length(min=1, max=40))
    service = fields.Str(load_default=None, validate=validate.Length(min=1, max=20))
    correlation_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=64))


class AuditExportQuery(AuditQuery):
    format = fields.Str(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))


class AuditEntryOut(Schema):
    id = fields.Str()
    at = fields.Str()
    service = fields.Str()
    actor = fields.Str()
    role = fields.Str()
    action = fields.Str()
    community = fields.Str(allow_none=True)
    target = fields.Str()
    detail = fields.Dict()
    correlation_id = fields.Str(allow_none=True)


def audit_tables(metadata: MetaData) -> None:
    """Adds the audit table to a service's own metadata (and so to its migrations)."""
    AUDIT_LOG.to_metadata(metadata)


def record(
    session: Session,
    service: str,
    scope: dict,
    action: str,
    target: str,
    community: str | None = None,
    detail: dict | None = None,
    at: datetime | None = None,
    correlation_id: str | None = None,
) -> None:
    """One audit row, in the caller's transaction."""
    text = json.dumps(detail or {}, ensure_ascii=False, default=str, sort_keys=True)
    if len(text) > MAX_DETAIL:
        text = json.dumps({"truncated": text[:MAX_DETAIL]}, ensure_ascii=False)
    session.execute(
        insert(AUDIT_LOG).values(
            id=uuid.uuid4().hex,
            at=at or datetime.now(UTC),
            service=service,
            actor=str(scope.get("sub") or "system")[:120],
            role=str(scope.get("role") or "system")[:20],
            action=action,
            community=community if community and community != "*" else None,
            target=target[:300],
            detail=text,
            correlation_id=correlation_id or context.current(),
        )
    )


def as_dict(row) -> dict:
    return {
        "id": row.id,
        "at": row.at.astimezone(UTC).isoformat(),
        "service": row.service,
        "actor": row.actor,
        "role": row.role,
        "action": row.action,
        "community": row.community,
        "target": row.target,
        "detail": json.loads(row.detail),
        "correlation_id": row.correlation_id,
    }


def page(session: Session, query: dict) -> dict:
    """Newest first, keyset-paged by (at, id); `query` as AuditQuery loaded it (filters, limit, cursor)."""
    table = AUDIT_LOG
    stmt = select(table)
    for name in ("actor", "action", "community", "correlation_id", "service"):
        if query.get(name):
            stmt = stmt.where(table.c[name] == query[name])
    if query.get("from_"):
        stmt = stmt.where(table.c.at >= query["from_"])
    if query.get("to"):
        stmt = stmt.where(table.c.at < query["to"])
    if query.get("cursor"):
        at, id_ = paging.decode(query["cursor"], 2, (datetime.fromisoformat,))
        stmt = stmt.where(or_(table.c.at < at, and_(table.c.at == at, table.c.id < id_)))
    rows = session.execute(stmt.order_by(table.c.at.desc(), table.c.id.desc()).limit(query["limit"] + 1)).all()
    return paging.page([as_dict(r) for r in rows], query["limit"], lambda item: (item["at"], item["id"]))


def merge(pages: list[dict], limit: int) -> dict:
    """One page out of each service's page of the same query: the newest `limit` of them all. A service
    that had more, or items left over here, means there is a next page, from the last item shown."""
    items = sorted((i for p in pages for i in p["items"]), key=lambda i: (i["at"], i["id"]), reverse=True)
    more = len(items) > limit or any(p["next_cursor"] for p in pages)
    items = items[:limit]
    return {"items": items, "next_cursor": paging.encode(items[-1]["at"], items[-1]["id"]) if more and items else None}


# --- migrations ---------------------------------------------------------------------------------------
def create_in_migration(op) -> None:
    """The table and its append-only trigger; each service's migration calls this."""
    import sqlalchemy as sa

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("community", sa.String(length=40), nullable=True),
        sa.Column("target", sa.String(length=300), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("correlation_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("id", name=op.f("uq_audit_log_id")),
    )
    op.create_index("ix_audit_log_at_id", "audit_log", ["at", "id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{action.lower()} BEFORE {action} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def drop_in_migration(op) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    op.drop_index("ix_audit_log_at_id", table_name="audit_log")
    op.drop_table("audit_log")

"""What every backend service has besides its own entrypoints: its database, outbox relay and
correlation id, the idempotent-write path, and the operations endpoints (health, outbox, metrics)."""

from __future__ import annotations

from nameko.dependency_providers import Config
from nameko.rpc import rpc
from nameko.web.handlers import http
from sqlalchemy import text

from minqing import amqp_patch, audit, metrics  # noqa: F401  amqp_patch: survive a broker restart mid-ack
from minqing.context import Correlation
from minqing.db import Database
from minqing.errors import Forbidden
from minqing.outbox import OutboxRelay, outbox_status, replay, write_once
from minqing.rpc import Idempotency, Scope, load


class ServiceBase:
    """Subclass it and set `name`; nameko finds the entrypoints below on every subclass."""

    name: str
    db = Database()
    relay = OutboxRelay()
    correlation = Correlation()
    config = Config()

    def _write(self, schema_in, payload, scope, idem, produce, prepare=None):
        """Validate, then run `produce(session, data, scope)` once per Idempotency-Key, in one transaction.

        `prepare(data, scope, idem)`, if given, runs before that with no transaction open: the place for
        calls to other services (never inside a transaction). It returns the data `produce` gets, and is
        skipped when the key already has its answer."""
        data, scope, idem = load(schema_in, payload), load(Scope, scope), load(Idempotency, idem)
        principal = idem["principal"] or scope["sub"]
        if prepare is not None:
            with self.db.transaction() as session:
                stored = replay(session, principal, idem["key"], idem["fingerprint"])
            if stored is not None:
                return stored
            data = prepare(data, scope, idem)
        return write_once(
            self.db, principal, idem["key"], idem["fingerprint"], lambda session: produce(session, data, scope)
        )

    def _audit(self, session, scope, action, target, community=None, detail=None):
        """Record an administrative change in the change's own transaction (minqing/audit.py)."""
        audit.record(session, self.name, scope, action, target, community, detail)

    @rpc
    def audit_page(self, query, scope):
        """This service's share of GET /api/v1/audit (the gateway merges every service's pages)."""
        query, scope = load(audit.AuditQuery, query), load(Scope, scope)
        if scope["role"] != "district_admin" or "*" not in scope["communities"]:
            raise Forbidden("only a district admin reads the audit trail")
        with self.db.transaction() as session:
            return audit.page(session, query)

    @rpc
    def health(self):
        with self.db.transaction() as session:
            session.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}

    @rpc
    def outbox_status(self):
        with self.db.transaction() as session:
            return outbox_status(session)

    @http("GET", "/metrics")
    def metrics(self, request):
        return metrics.response(request)

    @http("GET", "/healthz")
    def healthz(self, request):
        return 200, {"Content-Type": "application/json"}, '{"status": "ok"}'

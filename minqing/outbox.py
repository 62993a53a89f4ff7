"""Transactional outbox (ARCHITECTURE.md rule 3), inbox (rule 4) and idempotency keys.

Each service adds these tables to its own metadata with `plumbing_tables(metadata)`. The handler writes
its rows and `add_event(...)` in one transaction; `OutboxRelay` claims committed rows for a short lease in
one transaction, publishes them with publisher confirms with no transaction open, and marks them sent in
another. A crash between publish and mark re-publishes the event once the lease runs out; the consumers'
inbox makes that harmless.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta

import eventlet
from eventlet.queue import Empty, Full, LightQueue
from kombu import Connection
from kombu.exceptions import KombuError
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minqing import clock, context, metrics
from minqing.db import Database, UnitOfWork, UTCDateTime, is_postgres
from minqing.errors import Conflict

log = logging.getLogger(__name__)


_meta = MetaData()
OUTBOX = Table(
    "outbox",
    _meta,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("source", String(40), nullable=False),
    Column("type", String(60), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("sent_at", UTCDateTime(), nullable=True, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("claimed_until", UTCDateTime(), nullable=True),  # a relay copy is publishing it until then
)
INBOX = Table(
    "inbox",
    _meta,
    Column("consumer", String(120), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("applied_at", UTCDateTime(), nullable=False),
)
IDEMPOTENCY_KEYS = Table(
    "idempotency_keys",
    _meta,
    Column("principal", String(120), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


def plumbing_tables(metadata: MetaData) -> None:
    """Adds the outbox, inbox and idempotency tables to a service's own metadata (and migrations)."""
    for table in _meta.tables.values():
        table.to_metadata(metadata)


def now() -> datetime:
    return clock.now()


def add_event(session: Session, envelope: dict) -> None:
    """Stage an event in the caller's transaction; published only if that transaction commits."""
    if not envelope.get("correlation_id"):
        envelope["correlation_id"] = context.current()
    session.info["outbox"] = True
    session.execute(
        insert(OUTBOX).values(
            event_id=envelope["id"],
            source=envelope["source"],
            type=envelope["type"],
            body=json.dumps(envelope, ensure_ascii=False),
            created_at=now(),
            attempts=0,
        )
    )


def seen(session: Session, consumer: str, event_id: str) -> bool:
    """Whether `consumer` has already applied `event_id` (a read: it claims nothing)."""
    return (
        session.execute(
            select(INBOX.c.event_id).where(INBOX.c.consumer == consumer, INBOX.c.event_id == event_id)
        ).first()
        is not None
    )


def claim_inbox(session: Session, consumer: str, event_id: str) -> bool:
    """True the first time `consumer` sees `event_id`; the claim commits together with the effect."""
    inbox = INBOX
    if seen(session, consumer, event_id):
        return False
    # flush now: a concurrent copy applying the same event fails here, before doing any work
    session.execute(insert(inbox).values(consumer=consumer, event_id=event_id, applied_at=now()))
    session.flush()
    return True


def replay(session: Session, principal: str, key: str | None, fingerprint: str) -> dict | None:
    """The response stored for (principal, key), or None. Reusing a key for a different request is a
    client error, not a replay."""
    if not key:
        return None
    table = IDEMPOTENCY_KEYS
    row = session.execute(
        select(table.c.fingerprint, table.c.response).where(table.c.principal == principal, table.c.key == key)
    ).first()
    if row is None:
        return None
    if row.fingerprint != fingerprint:
        raise Conflict(f"Idempotency-Key {key!r} was already used for a different request")
    return json.loads(row.response)


def idempotent(session: Session, principal: str, key: str | None, fingerprint: str, produce) -> dict:
    """Return the stored response for (principal, key) or run `produce()` and store its response.

    The key is written in the same transaction as the effect, so a retry after a crash either finds both
    or neither.
    """
    if not key:
        return produce()
    stored = replay(session, principal, key, fingerprint)
    if stored is not None:
        return stored
    response = produce()
    try:
        with session.begin_nested():
            session.execute(
                insert(IDEMPOTENCY_KEYS).values(
                    principal=principal,
                    key=key,
                    fingerprint=fingerprint,
                    response=json.dumps(response, ensure_ascii=False, default=str),
                    created_at=now(),
                )
            )
    except IntegrityError as exc:
        # a concurrent request with the same key won: this transaction must go; `write_once` replays the winner
        raise KeyInProgress(f"a request with Idempotency-Key {key!r} is in progress; retry") from exc
    return response


class KeyInProgress(Conflict):
    """Another request with the same key stored its answer while this one ran (never leaves the service)."""


def write_once(uow: UnitOfWork, principal: str, key: str | None, fingerprint: str, produce) -> dict:
    """`idempotent` in a transaction of its own: `produce(session)` runs at most once per key. When a request
    with the same key commits first (a client's retry racing the broker's redelivery of the original after a
    restart), this one rolls back and replays the winner's answer instead of telling the client 409."""
    try:
        with uow.transaction() as session:
            return idempotent(session, principal, key, fingerprint, lambda: produce(session))
    except KeyInProgress:
        pass
    try:
        with uow.transaction() as session:
            return idempotent(session, principal, key, fingerprint, lambda: produce(session))
    except KeyInProgress as exc:
        raise Conflict(str(exc)) from None  # the winner has not committed yet: the client retries


def take_unsent(session: Session, source: str) -> list[dict]:
    """Mark every unpublished event of `source` as sent and return them (for loading history in bulk)."""
    rows = session.execute(
        select(OUTBOX.c.seq, OUTBOX.c.body)
        .where(OUTBOX.c.sent_at.is_(None), OUTBOX.c.source == source)
        .order_by(OUTBOX.c.seq)
    ).all()
    session.execute(update(OUTBOX).where(OUTBOX.c.seq.in_([r.seq for r in rows])).values(sent_at=now()))
    return [json.loads(r.body) for r in rows]


def outbox_status(session: Session) -> dict:
    outbox = OUTBOX
    pending, oldest = session.execute(
        select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.sent_at.is_(None))
    ).one()
    sent = session.execute(select(func.count()).where(outbox.c.sent_at.is_not(None))).scalar_one()
    lag = (now() - oldest).total_seconds() if oldest else 0.0
    return {
        "pending": pending,
        "sent": sent,
        "oldest_pending": oldest.isoformat() if oldest else None,
        "lag_seconds": lag,
    }


def claim_unsent(session: Session, batch: int, at: datetime, lease: timedelta) -> list:
    """Take up to `batch` unsent rows nobody holds a live lease on, and lease them until `at + lease`.

    Copies of a service share the work: on PostgreSQL SKIP LOCKED keeps two claims apart, on SQLite the
    write lock does. A copy that dies holding a lease leaves its rows to whoever claims after it runs out."""
    outbox = OUTBOX
    query = (
        select(outbox.c.seq, outbox.c.source, outbox.c.type, outbox.c.body)
        .where(outbox.c.sent_at.is_(None), or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < at))
        .order_by(outbox.c.seq)
        .limit(batch)
    )
    if is_postgres(session.get_bind()):
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if rows:
        session.execute(update(outbox).where(outbox.c.seq.in_([r.seq for r in rows])).values(claimed_until=at + lease))
    return rows


class Relay:
    """Publishes committed outbox rows; safe with N copies (rows are claimed with a lease)."""

    LEASE = timedelta(seconds=10)  # far above a batch's publish time; a dead copy's rows wait this long

    def __init__(self, uow: UnitOfWork, amqp_uri: str, service: str, batch: int = 200):
        self.uow = uow
        self.amqp_uri = amqp_uri
        self.service = service
        self.batch = batch
        self.connection: Connection | None = None

    def _producer(self):
        if self.connection is None:
            self.connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True})
        return self.connection.Producer()

    def close(self) -> None:
        if self.connection is not None:
            self.connection.release()
            self.connection = None

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were published. No transaction is open while publishing."""
        with self.uow.transaction() as session:
            rows = claim_unsent(session, self.batch, now(), self.LEASE)
        if not rows:
            return 0
        sent, error = [], None
        try:
            producer = self._producer()
            for row in rows:
                envelope = json.loads(row.body)
                exchange = get_event_exchange(row.source, {})  # the exchange nameko's handlers bind to
                producer.publish(
                    envelope,
                    exchange=exchange,
                    routing_key=row.type,
                    serializer="json",
                    delivery_mode=2,
                    headers={"nameko.correlation_id": envelope.get("correlation_id") or ""},
                    declare=[exchange],
                    retry=True,
                    retry_policy={"max_retries": 3, "interval_start": 0.2, "interval_step": 0.5},
                )
                sent.append(row.seq)
                metrics.EVENTS_OUT.labels(self.service, row.type).inc()
        except (KombuError, OSError) as exc:
            self.close()
            log.warning("outbox publish failed, will retry: %s", exc)
            error = exc
        outbox = OUTBOX
        with self.uow.transaction() as session:
            if sent:
                session.execute(update(outbox).where(outbox.c.seq.in_(sent)).values(sent_at=now(), claimed_until=None))
            failed = [r.seq for r in rows if r.seq not in sent]
            if failed:  # give them back at once; the first one carries the error
                session.execute(update(outbox).where(outbox.c.seq.in_(failed)).values(claimed_until=None))
                session.execute(
                    update(outbox)
                    .where(outbox.c.seq == failed[0])
                    .values(attempts=outbox.c.attempts + 1, last_error=str(error)[:500])
                )
        return len(sent)

    def refresh_gauges(self) -> None:
        with self.uow.transaction() as session:
            status = outbox_status(session)
        metrics.OUTBOX_PENDING.labels(self.service).set(status["pending"])
        metrics.OUTBOX_LAG.labels(self.service).set(status["lag_seconds"])


class OutboxRelay(DependencyProvider):
    """Runs a Relay in the service container: woken after every commit, polling as a fallback."""

    def setup(self):
        self.wakeup = LightQueue(maxsize=1)
        self.running = False
        self.relay: Relay | None = None

    def start(self):
        database = next(d for d in self.container.dependencies if isinstance(d, Database))
        config = self.container.config
        self.relay = Relay(database.uow, config["AMQP_URI"], config.get("SERVICE", self.container.service_name))
        database.uow.after_commit.append(self.wake)
        self.interval = float(config.get("OUTBOX_POLL_INTERVAL", 0.5))
        from minqing.topology import declare_all  # the service classes import this module

        declare_all(config["AMQP_URI"])
        self.running = True
        self.container.spawn_managed_thread(self._run, identifier="outbox-relay")

    def wake(self):
        try:
            self.wakeup.put_nowait(True)
        except Full:
            pass  # a wake-up is already pending

    def _run(self):
        last_gauge = 0.0
        while self.running:
            try:
                while self.running and self.relay.publish_pending():
                    pass
                if time.monotonic() - last_gauge > 5:
                    self.relay.refresh_gauges()
                    last_gauge = time.monotonic()
            except Exception:  # a database restart must not kill the relay; it retries next round
                log.exception("outbox relay round failed")
                eventlet.sleep(1)
            try:
                self.wakeup.get(timeout=self.interval)
            except Empty:
                pass

    def stop(self):
        self.running = False
        self.wake()
        if self.relay:
            self.relay.close()

    def kill(self):
        self.stop()

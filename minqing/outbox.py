"""Transactional outbox (ARCHITECTURE.md rule 3), inbox (rule 4) and idempotency keys.

Each service adds these tables to its own metadata with `plumbing_tables(metadata)`. The handler writes
its rows and `add_event(...)` in one transaction; `OutboxRelay` publishes committed rows with publisher
confirms and only then marks them sent. A crash between publish and mark re-publishes the event; the
consumers' inbox makes that harmless.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime

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


def claim_inbox(session: Session, consumer: str, event_id: str) -> bool:
    """True the first time `consumer` sees `event_id`; the claim commits together with the effect."""
    inbox = INBOX
    seen = session.execute(
        select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
    ).first()
    if seen:
        return False
    # flush now: a concurrent copy applying the same event fails here, before doing any work
    session.execute(insert(inbox).values(consumer=consumer, event_id=event_id, applied_at=now()))
    session.flush()
    return True


def idempotent(session: Session, principal: str, key: str | None, fingerprint: str, produce) -> dict:
    """Return the stored response for (principal, key) or run `produce()` and store its response.

    The key is written in the same transaction as the effect, so a retry after a crash either finds both
    or neither. Reusing a key for a different request is a client error, not a replay.
    """
    if not key:
        return produce()
    table = IDEMPOTENCY_KEYS
    row = session.execute(
        select(table.c.fingerprint, table.c.response).where(table.c.principal == principal, table.c.key == key)
    ).first()
    if row:
        if row.fingerprint != fingerprint:
            raise Conflict(f"Idempotency-Key {key!r} was already used for a different request")
        return json.loads(row.response)
    response = produce()
    try:
        with session.begin_nested():
            session.execute(
                insert(table).values(
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


class Relay:
    """Publishes committed outbox rows; safe with N copies (SKIP LOCKED on PostgreSQL)."""

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
        """Publish one batch; returns how many rows were published."""
        with self.uow.transaction() as session:
            outbox = OUTBOX
            query = select(outbox.c.seq, outbox.c.source, outbox.c.type, outbox.c.body).where(
                outbox.c.sent_at.is_(None)
            )
            query = query.order_by(outbox.c.seq).limit(self.batch)
            if is_postgres(self.uow.engine):
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if not rows:
                return 0
            producer = self._producer()
            sent = []
            try:
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
                failed = [r.seq for r in rows if r.seq not in sent]
                session.execute(
                    update(outbox)
                    .where(outbox.c.seq.in_(failed[:1]))
                    .values(attempts=outbox.c.attempts + 1, last_error=str(exc)[:500])
                )
            if sent:
                session.execute(update(outbox).where(outbox.c.seq.in_(sent)).values(sent_at=now()))
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

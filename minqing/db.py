"""SQLAlchemy 2 engines and the nameko `Database` dependency provider.

Why transactions are explicit (`with self.db.transaction() as session:`) rather than committed in
`worker_result`: nameko 2.14 calls an entrypoint's `handle_result` (which sends the RPC reply or acks
the event message) *before* the dependencies' `worker_result`. Committing there would acknowledge work
that might still fail to commit. So the entrypoint commits inside its body, before it returns.

SQLite under eventlet (docs/concurrency.md): every call into sqlite3 is C code that holds the process's
only thread, so SQLite's own busy wait would freeze the hub, and with it the greenlet that holds the
write lock. Hence, on SQLite only: one green lock per database file around every `transaction()`,
`BEGIN IMMEDIATE` (the write lock is taken up front, so a reader never has to upgrade), a busy timeout
of a few milliseconds, and the wait for another process's lock done as green sleeps.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from datetime import UTC

import greenlet
from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

_patched = False
SQLITE_BUSY_MS = 5  # SQLite's own busy wait blocks the hub: keep it to a blink and wait in green sleeps instead
SQLITE_LOCK_WAIT = 30.0  # seconds a transaction waits for its database before giving up (a 503, retried)


def make_engine(url: str, **kwargs) -> Engine:
    global _patched
    if url.startswith("postgresql"):
        if not _patched:
            # psycopg2 blocks the whole process unless told to yield to eventlet's hub.
            from psycogreen.eventlet import patch_psycopg

            patch_psycopg()
            _patched = True
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)  # survive a database restart
        return create_engine(url, **kwargs)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000}, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # pysqlite's implicit BEGIN is deferred: "begin" below says IMMEDIATE
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"busy_timeout={SQLITE_BUSY_MS}"):
            _green_retry(lambda pragma=pragma: dbapi_conn.execute(f"PRAGMA {pragma}").close())

    @event.listens_for(engine, "begin")
    def _begin_immediate(conn):
        _green_retry(lambda: conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE").close())

    return engine


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) if code else "locked" in str(exc)


def _green_retry(step) -> None:
    """Run a SQLite `step`; while another process holds the lock, sleep (green under eventlet) and retry."""
    deadline, pause = time.monotonic() + SQLITE_LOCK_WAIT, 0.002
    while True:
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)  # time.sleep is eventlet's when the process is monkey-patched: the hub keeps running
        pause = min(pause * 2, 0.05)


class _DatabaseLock:
    """One per SQLite file in this process: transactions take turns instead of meeting SQLite's lock.

    Made on first use, so `threading.Lock` is eventlet's green lock in a monkey-patched process. Re-entry
    from the same greenlet would wait for itself forever, so it is refused."""

    def __init__(self):
        self.lock = threading.Lock()
        self.owner = None

    @contextlib.contextmanager
    def held(self, name: str) -> Iterator[None]:
        me = greenlet.getcurrent()
        if self.owner is me:
            raise RuntimeError(f"a transaction on {name} is already open in this greenlet: nesting would deadlock")
        if not self.lock.acquire(timeout=SQLITE_LOCK_WAIT):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(f"{name} is busy"))
        self.owner = me
        try:
            yield
        finally:
            self.owner = None
            self.lock.release()


_locks: dict[str, _DatabaseLock] = {}
_locks_guard = threading.Lock()


def _database_lock(engine: Engine) -> _DatabaseLock | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    key = os.path.realpath(database) if database and database != ":memory:" else f"memory:{id(engine)}"
    with _locks_guard:
        return _locks.setdefault(key, _DatabaseLock())


# --- the rule "no network call inside a transaction", made checkable ------------------------------------
_open: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # greenlet → transactions it has open


def transaction_open() -> bool:
    """True while the calling greenlet (or thread) is inside `UnitOfWork.transaction()`."""
    return _open.get(greenlet.getcurrent(), 0) > 0


class NetworkInTransaction(AssertionError):
    """A publish, RPC or HTTP call was made while a database transaction was open."""


def forbid_network_in_transactions() -> None:
    """From now on, a green socket that connects or sends while its greenlet has a transaction open raises
    NetworkInTransaction. The test suite turns it on; so does MINQING_STRICT_TRANSACTIONS=1 in `serve`."""
    from eventlet.greenio.base import GreenSocket

    if getattr(GreenSocket, "_minqing_guarded", False):
        return
    for name in ("connect", "connect_ex", "send", "sendall", "sendto"):
        original = getattr(GreenSocket, name)

        def guarded(self, *args, _original=original, _name=name, **kwargs):
            if transaction_open():
                raise NetworkInTransaction(f"socket {_name} while a database transaction is open")
            return _original(self, *args, **kwargs)

        setattr(GreenSocket, name, guarded)
    GreenSocket._minqing_guarded = True


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class UnitOfWork:
    """A session factory with commit-or-rollback and after-commit hooks (the outbox relay's wake-up)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
        self.after_commit: list = []
        self.lock = _database_lock(engine)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction; no publish, RPC or HTTP call may happen inside it (docs/concurrency.md)."""
        with self.lock.held(str(self.engine.url)) if self.lock else contextlib.nullcontext():
            me = greenlet.getcurrent()
            _open[me] = _open.get(me, 0) + 1
            session = self.sessionmaker()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                _open[me] -= 1
                wrote_events = session.info.pop("outbox", False)
                session.close()
        if wrote_events:
            for hook in self.after_commit:
                hook()


class Database(DependencyProvider):
    """Gives each worker `transaction()`; one engine per container, from config DB_URL."""

    def __init__(self, url_key: str = "DB_URL"):
        self.url_key = url_key
        self.uow: UnitOfWork | None = None

    def setup(self):
        url = self.container.config[self.url_key]
        self.uow = UnitOfWork(make_engine(url))

    def stop(self):
        if self.uow is not None:
            self.uow.engine.dispose()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx) -> UnitOfWork:
        return self.uow

    @property
    def engine(self) -> Engine:
        return self.uow.engine


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on PostgreSQL and SQLite alike.

    SQLite has no time zones: it stores naive UTC text, which still sorts and compares correctly.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: times must carry a zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def service_metadata() -> MetaData:
    """A service's own metadata: stable constraint names for alembic, plus the outbox, inbox,
    idempotency and audit tables every service has."""
    from minqing.audit import audit_tables
    from minqing.outbox import plumbing_tables

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(table_name)s_%(column_0_N_name)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    plumbing_tables(metadata)
    audit_tables(metadata)
    return metadata

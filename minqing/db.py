"""SQLAlchemy 2 engines and the nameko `Database` dependency provider.

Why transactions are explicit (`with self.db.transaction() as session:`) rather than committed in
`worker_result`: nameko 2.14 calls an entrypoint's `handle_result` (which sends the RPC reply or acks
the event message) *before* the dependencies' `worker_result`. Committing there would acknowledge work
that might still fail to commit. So the entrypoint commits inside its body, before it returns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC

from nameko.extensions import DependencyProvider
from sqlalchemy import DateTime, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

_patched = False


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
    engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn, _record):
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class UnitOfWork:
    """A session factory with commit-or-rollback and after-commit hooks (the outbox relay's wake-up)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=engine, expire_on_commit=False)
        self.after_commit: list = []

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
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

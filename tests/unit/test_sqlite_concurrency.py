"""The embedded default under eventlet: SQLite writers take turns without freezing the hub, and the rule
"no network call while a transaction is open" is enforced by a guard the whole suite runs under."""

import socket
import sqlite3
import subprocess
import sys

import eventlet
import pytest
from sqlalchemy import text

from minqing.db import NetworkInTransaction, UnitOfWork, make_engine


@pytest.fixture
def uow(tmp_path):
    unit = UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'x.db'}"))
    with unit.transaction() as session:
        session.execute(text("CREATE TABLE notes (who TEXT)"))
    yield unit
    unit.engine.dispose()


def test_two_greenlets_writing_take_turns_and_the_hub_keeps_running(uow):
    """A holds its write transaction across a green yield; B wants to write meanwhile. Before, B's SQLite
    busy wait (a C call) froze the hub, so A never came back to commit and B failed with `database is
    locked` after 30 s."""
    events = []

    def writer(name, pause):
        with uow.transaction() as session:
            session.execute(text("INSERT INTO notes VALUES (:w)"), {"w": name})
            events.append(f"{name} wrote")
            eventlet.sleep(pause)
        events.append(f"{name} committed")

    def ticker():
        for _ in range(20):
            eventlet.sleep(0.01)
            events.append("tick")

    a = eventlet.spawn(writer, "a", 0.2)
    eventlet.sleep(0)
    b, t = eventlet.spawn(writer, "b", 0), eventlet.spawn(ticker)
    a.wait(), b.wait(), t.wait()
    assert [e for e in events if e != "tick"] == ["a wrote", "a committed", "b wrote", "b committed"]
    assert "tick" in events[: events.index("a committed")]  # others ran while B waited for A
    with uow.transaction() as session:
        assert sorted(session.scalars(text("SELECT who FROM notes"))) == ["a", "b"]


def test_another_process_holding_the_lock_is_waited_for_in_green_sleeps(uow, tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
            "c.execute('BEGIN IMMEDIATE'); c.execute(\"INSERT INTO notes VALUES ('other')\");"
            "print('locked', flush=True); time.sleep(0.5); c.execute('COMMIT')",
            str(tmp_path / "x.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "locked"
    ticks = []
    ticker = eventlet.spawn(lambda: [ticks.append(eventlet.sleep(0.01)) for _ in range(10)])
    with uow.transaction() as session:
        session.execute(text("INSERT INTO notes VALUES ('me')"))
    ticker.wait()
    holder.wait(timeout=10)
    assert len(ticks) == 10
    with uow.transaction() as session:
        assert sorted(session.scalars(text("SELECT who FROM notes"))) == ["me", "other"]


def test_a_reader_never_has_to_upgrade_its_lock(uow, tmp_path):
    """Every transaction begins IMMEDIATE: one that read first and writes later cannot fail on upgrade."""
    with uow.transaction() as session:
        session.execute(text("SELECT count(*) FROM notes")).scalar()
        other = sqlite3.connect(tmp_path / "x.db", timeout=0)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
        session.execute(text("INSERT INTO notes VALUES ('me')"))


def test_nesting_transactions_on_one_sqlite_database_is_refused_rather_than_deadlocking(uow):
    with uow.transaction(), pytest.raises(RuntimeError, match="nesting would deadlock"):
        with uow.transaction():
            pass


def test_a_network_call_inside_a_transaction_is_refused(uow):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    address = server.getsockname()
    try:
        with uow.transaction() as session:
            session.execute(text("INSERT INTO notes VALUES ('x')"))
            with pytest.raises(NetworkInTransaction):
                socket.create_connection(address, timeout=2)
        socket.create_connection(address, timeout=2).close()  # fine once the transaction is over
    finally:
        server.close()

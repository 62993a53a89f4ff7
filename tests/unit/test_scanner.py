"""The deadline scanner: due soon at 80% of the time, overdue at the deadline, each once per deadline."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from minqing.db import UnitOfWork, make_engine
from minqing.outbox import OUTBOX
from services.routing import scanner
from services.routing.models import RoutedCase, metadata

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
DEADLINE = START + timedelta(hours=10)


@pytest.fixture
def session(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'routing.db'}")
    metadata.create_all(engine)
    with UnitOfWork(engine).transaction() as s:
        s.add(
            RoutedCase(
                id="c1",
                community="maxian",
                reference="MX-2026-000001",
                title="t",
                registered_at=START,
                clock_started_at=START,
                status="assigned",
                handling_type="committed",
                deadline=DEADLINE,
                supervision_level=0,
                reopen_count=0,
                version=3,
                updated_at=START,
            )
        )
        s.flush()
        yield s


def emitted(session):
    return list(session.scalars(select(OUTBOX.c.type).order_by(OUTBOX.c.seq)))


def test_due_soon_then_overdue_each_exactly_once(session):
    assert scanner.scan(session, START + timedelta(hours=7)) == {"due_soon": 0, "overdue": 0}
    assert scanner.scan(session, START + timedelta(hours=8)) == {"due_soon": 1, "overdue": 0}
    assert scanner.scan(session, START + timedelta(hours=9)) == {"due_soon": 0, "overdue": 0}
    assert scanner.scan(session, DEADLINE) == {"due_soon": 0, "overdue": 1}
    assert scanner.scan(session, DEADLINE + timedelta(days=3)) == {"due_soon": 0, "overdue": 0}
    assert emitted(session) == ["case.due_soon", "case.overdue"]
    case = session.get(RoutedCase, "c1")
    assert case.supervision_level == 1 and scanner.overdue_counts(session, DEADLINE + timedelta(minutes=1)) == {
        "maxian": 1
    }


def test_a_new_deadline_gets_its_own_warnings_and_a_late_scan_skips_due_soon(session):
    scanner.scan(session, DEADLINE + timedelta(minutes=1))
    case = session.get(RoutedCase, "c1")
    case.deadline = DEADLINE + timedelta(days=2)  # e.g. reclassified with a committed date
    scanner.scan(session, case.deadline + timedelta(minutes=1))
    assert emitted(session) == ["case.overdue", "case.overdue"]


def test_finished_and_paused_cases_are_not_watched(session):
    case = session.get(RoutedCase, "c1")
    case.status = "resolved"
    assert scanner.scan(session, DEADLINE + timedelta(days=1)) == {"due_soon": 0, "overdue": 0}
    case.status, case.deadline = "awaiting_supplement", None
    assert scanner.scan(session, DEADLINE + timedelta(days=1)) == {"due_soon": 0, "overdue": 0}

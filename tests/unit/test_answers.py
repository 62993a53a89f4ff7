from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from minqing.db import UnitOfWork, make_engine
from minqing.errors import Conflict
from minqing.outbox import OUTBOX
from services.feedback import answers
from services.feedback.models import FeedbackCase, metadata

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)
STAFF = {"id": "w1", "role": "grid_member"}


@pytest.fixture
def session(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'feedback.db'}")
    metadata.create_all(engine)
    with UnitOfWork(engine).transaction() as s:
        yield s


def a_case(session, status="resolved"):
    case = FeedbackCase(
        id="c1",
        community="maxian",
        reference="MX-2026-000001",
        channel="online",
        registered_at=T0,
        status=status,
        rated=False,
        reopen_count=0,
        version=4,
        resolved_at=T0,
    )
    session.add(case)
    return case


def test_answered_only_when_resolved_and_rated_only_when_answered(session):
    case = a_case(session, status="assigned")
    with pytest.raises(Conflict):
        answers.reply(session, case, {"method": "online", "content": "x"}, STAFF, T0)
    case.status = "resolved"
    with pytest.raises(Conflict):
        answers.rate(session, case, {"satisfied": True}, STAFF, T0)
    answers.reply(session, case, {"method": "letter", "content": "书面函复"}, STAFF, T0)
    assert (case.status, case.version) == ("replied", 5)


def test_dissatisfied_reopens_and_counts(session):
    case = a_case(session)
    answers.reply(session, case, {"method": "online", "content": "x"}, STAFF, T0)
    answers.rate(session, case, {"satisfied": False, "comment": "没修好"}, {"id": "r1", "role": "resident"}, T0)
    assert (case.status, case.reopen_count, case.resolved_at) == ("reopened", 1, None)
    types = list(session.scalars(select(OUTBOX.c.type).order_by(OUTBOX.c.seq)))
    assert types == ["reply.sent", "case.rated", "case.reopened"]


def test_unrated_cases_close_as_not_rated_never_satisfied(session):
    case = a_case(session)
    answers.reply(session, case, {"method": "online", "content": "x"}, STAFF, T0)
    assert answers.close_unrated(session, T0 + timedelta(days=6), after_days=7) == 0
    assert answers.close_unrated(session, T0 + timedelta(days=7), after_days=7) == 1
    assert (case.status, case.close_reason, case.satisfied, case.rated) == ("closed", "not_rated", None, False)
    assert session.scalar(select(func.count()).select_from(OUTBOX).where(OUTBOX.c.type == "case.closed")) == 1

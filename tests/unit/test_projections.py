"""Every copy one service keeps of another's state follows its source by version (docs/projections.md).

For each projection, a realistic run of the source's events (built with minqing/events.py) is delivered
in every order (or, for long runs, in orders hypothesis draws, with redeliveries), through the same inbox
and apply functions the consumer's entrypoint calls; the copy must end exactly as if the events had come
in order, once. Pure: SQLite files, no broker.
"""

from __future__ import annotations

import contextlib
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect

from minqing.db import UnitOfWork, make_engine
from minqing.events import load_envelope, make_envelope
from minqing.outbox import claim_inbox
from services.feedback import answers
from services.feedback.models import FeedbackCase
from services.feedback.models import metadata as feedback_metadata

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CASE = "c0ffee00c0ffee00c0ffee00c0ffee00"
HANDLER = {"id": "maxian-g01-leader", "kind": "grid_member", "name": "吴宇涛"}
OTHER = {"id": "maxian-g01-officer", "kind": "grid_member", "name": "林晓"}
DEADLINE = T0 + timedelta(days=3)
STAFF = {"id": "w1", "role": "grid_member"}
HYPOTHESIS = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def envelope(type_: str, version: int, data: dict, at: datetime, source: str = "routing", subject: str = CASE):
    """An event as its consumer receives it: built and validated by the producer, loaded by the consumer."""
    body = make_envelope(type_, source=source, community="maxian", subject=subject, version=version, data=data, time=at)
    return load_envelope(body)


class Routing:
    """Routing's side of one case, as far as its events tell: every step bumps the version and carries the
    whole state; the scanner's and a project's events repeat the version of the step before them."""

    def __init__(self, case_id: str = CASE):
        self.case_id, self.version = case_id, 1
        self.state = {
            "reference": "MX-2026-000001",
            "channel": "online",
            "grid": "maxian-g01",
            "registered_at": T0,
            "status": "registered",
            "handling_type": None,
            "deadline": None,
            "handler": None,
            "bureau": None,
            "supervision_level": 0,
        }

    def step(self, type_: str, status: str, minutes: float, data: dict | None = None, **changes) -> dict:
        self.version += 1
        self.state.update(changes, status=status)
        return self._event(type_, minutes, data or {})

    def follower(self, type_: str, minutes: float, data: dict, **changes) -> dict:
        self.state.update(changes)
        return self._event(type_, minutes, data)

    def after(self, version: int) -> None:
        """Routing takes up a feedback event (a reopening): its next step numbers after it."""
        self.version = max(self.version, version)

    def _event(self, type_: str, minutes: float, data: dict) -> dict:
        at = T0 + timedelta(minutes=minutes)
        return envelope(type_, self.version, {**data, "state": dict(self.state)}, at, subject=self.case_id)


def worked_case(routing: Routing) -> list[dict]:
    """Classified and assigned by a rule, accepted, overdue, started, resolved; later linked to a project."""
    return [
        routing.step(
            "case.classified",
            "classified",
            1,
            {"handling_type": "committed", "deadline": DEADLINE},
            handling_type="committed",
            deadline=DEADLINE,
        ),  # fmt: skip
        routing.step("case.assigned", "assigned", 1, {"handler": HANDLER}, handler=HANDLER),
        routing.step("case.accepted", "accepted", 30),
        routing.follower(
            "case.overdue", 3 * 24 * 60 + 1, {"deadline": DEADLINE, "supervision_level": 1}, supervision_level=1
        ),  # fmt: skip
        routing.step("case.started", "in_progress", 3 * 24 * 60 + 60),
        routing.step("case.resolved", "resolved", 3 * 24 * 60 + 120, {"summary": "已更换灯泡"}),
        routing.follower(
            "case.project_linked", 10 * 24 * 60, {"project_id": "p1", "title": "楼道照明", "units": ["maxian-edu"]}
        ),
    ]


def snapshot(row, leave_out: tuple[str, ...] = ()) -> dict:
    return {c.key: getattr(row, c.key) for c in inspect(row).mapper.column_attrs if c.key not in leave_out}


@contextlib.contextmanager
def sqlite_uow(tmp_path_factory, metadata):
    """A fresh database per delivery order (a hypothesis example cannot use function-scoped fixtures)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('projection') / 'copy.db'}")
    metadata.create_all(engine)
    try:
        yield UnitOfWork(engine)
    finally:
        engine.dispose()


def orders_with_redeliveries(events: list[dict]):
    """Any order of the events, each delivered once or twice (a redelivery has the same id)."""
    return st.permutations(events).flatmap(
        lambda order: (
            st.lists(st.sampled_from(order), max_size=len(order)).map(lambda again: [*order, *again])
            | st.permutations([*order, *order[: len(order) // 2]])
        )
    )


# --- feedback's copy of routing's case ---------------------------------------------------------------


def fresh_feedback_case() -> FeedbackCase:
    """What `_ensure_case` inserts when the first event of a case arrives."""
    return FeedbackCase(
        id=CASE, community="maxian", reference="MX-2026-000001", channel="online", grid="maxian-g01",
        registered_at=T0, status="registered", rated=False, reopen_count=0, version=1, routing_version=0,
    )  # fmt: skip


def test_feedback_copy_ends_the_same_whatever_order_routing_events_arrive_in():
    events = worked_case(Routing())
    in_order = fresh_feedback_case()
    for event in events:
        answers.on_routing_event(None, in_order, event)
    expected = snapshot(in_order)
    assert (expected["status"], expected["handler_id"], expected["routing_version"]) == ("resolved", HANDLER["id"], 6)
    assert expected["first_action_at"] == T0 + timedelta(minutes=30)  # accepted, the first action
    assert expected["resolved_at"] == T0 + timedelta(minutes=3 * 24 * 60 + 120)
    for order in itertools.permutations(events):  # 5040 orders, each event delivered twice in a row
        case = fresh_feedback_case()
        for event in order:
            answers.on_routing_event(None, case, event)
            answers.on_routing_event(None, case, event)
        assert snapshot(case) == expected, [e["type"] for e in order]


@pytest.fixture
def feedback_uow(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'feedback.db'}")
    feedback_metadata.create_all(engine)
    yield UnitOfWork(engine)
    engine.dispose()


def deliver_to_feedback(uow: UnitOfWork, event: dict) -> None:
    """What feedback's two event entrypoints do with one message."""
    with uow.transaction() as session:
        if event["source"] == "intake":
            if claim_inbox(session, "feedback.intake", event["id"]):
                answers.on_registered(session, event)
        elif claim_inbox(session, "feedback.routing", event["id"]):
            answers.on_routing_event(session, answers.case_for_routing_event(session, event), event)


def registered(at_minutes: float = 0, case_id: str = CASE) -> dict:
    data = {"reference": "MX-2026-000001", "channel": "online", "title": "楼道灯坏了", "grid": "maxian-g01",
            "registered_at": T0, "reporter_user": "resident-13800000001"}  # fmt: skip
    return envelope("case.registered", 1, data, T0 + timedelta(minutes=at_minutes), source="intake", subject=case_id)


def test_the_reported_case_accepted_after_resolved_can_still_be_answered_rated_and_closed(feedback_uow):
    """Issue 18: accepted (v11) and resolved (v12) 71 ms apart, delivered the other way round."""
    routing = Routing()
    routing.version = 10
    accepted = routing.step("case.accepted", "accepted", 0, handler=HANDLER)
    resolved = routing.step("case.resolved", "resolved", 0.071 / 60, {"summary": "已修好"})
    for event in (registered(), resolved, accepted):
        deliver_to_feedback(feedback_uow, event)
    with feedback_uow.transaction() as session:
        case = answers.get_case(session, CASE, lock=True)
        assert (case.status, case.handler_id) == ("resolved", HANDLER["id"])
        answers.reply(session, case, {"method": "online", "content": "已修好"}, {"id": "w1", "role": "grid_member"}, T0)
        answers.rate(session, case, {"satisfied": True}, {"id": "resident-13800000001", "role": "resident"}, T0)
        assert (case.status, case.close_reason, case.version) == ("closed", "rated", 15)


def feedback_run() -> tuple[list[dict], list[dict]]:
    """A case worked, answered and found wanting, then worked again by another handler: the events feedback
    receives before its own reply and rating, and those routing sends after the reopening."""
    routing = Routing()
    first = [registered(), *worked_case(routing)]
    routing.after(9)  # reply.sent v7, case.rated v8, case.reopened v9 came from feedback itself
    second = [
        routing.step(
            "case.classified",
            "classified",
            11 * 24 * 60,
            {"handling_type": "committed"},
            handling_type="committed",
            deadline=DEADLINE + timedelta(days=11),
            handler=None,
        ),  # fmt: skip
        routing.step("case.assigned", "assigned", 11 * 24 * 60, {"handler": OTHER}, handler=OTHER),
        routing.step("case.accepted", "accepted", 11 * 24 * 60 + 5),
    ]
    return first, second


def play_feedback(uow: UnitOfWork, first: list[dict], second: list[dict]) -> dict:
    """Deliver `first` in its order; the moment the case reads resolved, staff answer and the resident is
    dissatisfied (whatever of `first` is still in flight arrives later); then `second` arrives."""
    answered = False
    for event in [*first, *second]:
        deliver_to_feedback(uow, event)
        with uow.transaction() as session:
            case = session.get(FeedbackCase, CASE)
            if not answered and case is not None and case.status == "resolved":
                answers.reply(session, case, {"method": "online", "content": "已修好"}, STAFF, T0)
                answers.rate(session, case, {"satisfied": False}, {"id": "r1", "role": "resident"}, T0)
                answered = True
    assert answered
    with uow.transaction() as session:
        return snapshot(session.get(FeedbackCase, CASE), leave_out=("replied_at",))


@given(st.data())
@HYPOTHESIS
def test_feedback_copy_through_the_inbox_in_any_order_with_redeliveries(tmp_path_factory, data):
    first, second = feedback_run()
    with sqlite_uow(tmp_path_factory, feedback_metadata) as uow:
        expected = play_feedback(uow, first, second)
    assert (expected["status"], expected["handler_id"], expected["reopen_count"]) == ("accepted", OTHER["id"], 1)
    assert expected["reporter_user"] == "resident-13800000001" and expected["version"] == 12
    first, second = data.draw(orders_with_redeliveries(first)), data.draw(orders_with_redeliveries(second))
    with sqlite_uow(tmp_path_factory, feedback_metadata) as uow:
        got = play_feedback(uow, first, second)
    assert got == expected

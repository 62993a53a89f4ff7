"""Every copy one service keeps of another's state follows its source by version (docs/projections.md).

For each projection, a realistic run of the source's events (built with minqing/events.py) is delivered
in every order (or, for long runs, in orders hypothesis draws, with redeliveries), through the same inbox
and apply functions the consumer's entrypoint calls; the copy must end exactly as if the events had come
in order, once. Pure: SQLite files, no broker.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select
from sqlalchemy.pool import StaticPool

from minqing.db import UnitOfWork, make_engine
from minqing.events import load_envelope, make_envelope
from minqing.outbox import OUTBOX, claim_inbox
from services.feedback import answers
from services.feedback.models import FeedbackCase
from services.feedback.models import metadata as feedback_metadata
from services.intake import cases, directory, ledger
from services.intake.models import Case, TimelineEntry
from services.intake.models import metadata as intake_metadata
from services.points import awards
from services.points import members as points_members
from services.points.models import Award, Member
from services.points.models import metadata as points_metadata
from services.routing import meetings, workflow
from services.routing.models import HotIssue, Project, RoutedCase, Unit
from services.routing.models import metadata as routing_metadata

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


ENGINES: dict[int, object] = {}


@contextlib.contextmanager
def sqlite_uow(metadata):
    """An empty database per delivery order: one in-memory engine per schema, emptied after each use (a new
    engine each time would compile every statement afresh, most of such a test's time)."""
    if id(metadata) not in ENGINES:
        ENGINES[id(metadata)] = make_engine("sqlite://", poolclass=StaticPool)
        metadata.create_all(ENGINES[id(metadata)])
    engine = ENGINES[id(metadata)]
    try:
        yield UnitOfWork(engine)
    finally:
        with engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())


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
def test_feedback_copy_through_the_inbox_in_any_order_with_redeliveries(data):
    first, second = feedback_run()
    with sqlite_uow(feedback_metadata) as uow:
        expected = play_feedback(uow, first, second)
    assert (expected["status"], expected["handler_id"], expected["reopen_count"]) == ("accepted", OTHER["id"], 1)
    assert expected["reporter_user"] == "resident-13800000001" and expected["version"] == 12
    first, second = data.draw(orders_with_redeliveries(first)), data.draw(orders_with_redeliveries(second))
    with sqlite_uow(feedback_metadata) as uow:
        got = play_feedback(uow, first, second)
    assert got == expected


# --- intake's ledger: routing's and feedback's case ----------------------------------------------------
def feedback_event(type_: str, version: int, minutes: float, data: dict, case_id: str = CASE) -> dict:
    return envelope(type_, version, data, T0 + timedelta(minutes=minutes), source="feedback", subject=case_id)


def ledger_run() -> list[dict]:
    """Everything the ledger hears about one case: worked (overdue, supervised by a deputy), answered,
    found wanting, worked again by another handler, answered, rated satisfied and closed. The deputy's
    record took "last seen + 1" in feedback, the same number routing gave its next step."""
    routing = Routing()
    day = 24 * 60
    first = worked_case(routing)  # classified v2 … overdue v4 … resolved v6, project linked v6
    supervised = feedback_event(
        "case.supervised", 5, 3 * day + 30, {"supervision_id": "s1", "kind": "deputies", "finding": "拖延"}
    )
    answered = [
        feedback_event("reply.sent", 7, 4 * day, {"reply_id": "r1", "method": "online", "content": "已修好"}),
        feedback_event("case.rated", 8, 5 * day, {"satisfied": False, "score": 2, "handler_id": HANDLER["id"]}),
        feedback_event("case.reopened", 9, 5 * day, {"reason": "还是不亮", "reopen_count": 1}),
    ]
    routing.after(9)
    again = [
        routing.step(
            "case.classified",
            "classified",
            5 * day + 1,
            {"handling_type": "immediate"},
            handling_type="immediate",
            deadline=T0 + timedelta(days=6),
            handler=None,
        ),  # fmt: skip
        routing.step("case.assigned", "assigned", 5 * day + 1, {"handler": OTHER}, handler=OTHER),
        routing.step("case.resolved", "resolved", 5 * day + 60, {"summary": "更换整条线路"}),
    ]
    closed = [
        feedback_event(
            "reply.sent", 13, 5 * day + 90, {"reply_id": "r2", "method": "hotline_callback", "content": "已更换"}
        ),
        feedback_event("case.rated", 14, 6 * day, {"satisfied": True, "score": 5, "handler_id": OTHER["id"]}),
        feedback_event("case.closed", 15, 6 * day, {"reason": "rated"}),
    ]
    return [*first[:4], supervised, *first[4:], *answered, *again, *closed]


def ledger_case(session, case_id: str = CASE) -> Case:
    """Intake's own row for the case, as registration leaves it."""
    directory.create_community(
        session, {"code": "maxian", "name": "马限社区", "district": "mawei", "district_name": "马尾区"}, T0
    )
    case = Case(
        id=case_id, community="maxian", reference="MX-2026-000001", channel="online", title="楼道灯坏了",
        description="1号楼三层楼道灯不亮", category="lighting", grid="maxian-g01", registered_at=T0,
        status="registered", overdue=False, supervision_level=0, supervision_raises=0, reopen_count=0,
        state_version=1, routing_version=1, feedback_version=0, updated_at=T0, possible_duplicates=[],
    )  # fmt: skip
    session.add(case)
    session.flush()
    return case


def deliver_to_ledger(uow: UnitOfWork, event: dict) -> None:
    """What intake's two event entrypoints do with one message."""
    with uow.transaction() as session:
        if claim_inbox(session, "intake.ledger", event["id"]):
            ledger.apply_event(session, cases.get_case(session, event["subject"], lock=True), event)


def play_ledger(uow: UnitOfWork, events: list[dict]) -> tuple[dict, list]:
    with uow.transaction() as session:
        ledger_case(session)
    for event in events:
        deliver_to_ledger(uow, event)
    with uow.transaction() as session:
        case = cases.get_case(session, CASE)
        entries = session.scalars(select(TimelineEntry).where(TimelineEntry.event_id.is_not(None)))
        return ledger.as_dict(case, T0 + timedelta(days=30)), sorted(e.event_id for e in entries)


@given(st.data())
@HYPOTHESIS
def test_ledger_ends_the_same_whatever_order_with_redeliveries(data):
    events = ledger_run()
    with sqlite_uow(intake_metadata) as uow:
        expected, timeline = play_ledger(uow, events)
    assert (expected["status"], expected["handler"]["id"], expected["version"]) == ("closed", OTHER["id"], 15)
    assert (expected["satisfied"], expected["reopen_count"], expected["outcome"]) == (True, 1, None)
    assert expected["supervision_level"] == 2  # overdue (督办 level 1), then a deputy's record raised it once more
    assert timeline == sorted(e["id"] for e in events)  # every step on the timeline, applied or not
    with sqlite_uow(intake_metadata) as uow:
        assert play_ledger(uow, data.draw(orders_with_redeliveries(events))) == (expected, timeline)


def test_a_merged_case_stays_merged_while_routing_works_on_in_any_order():
    """Intake merges on its own and routing does not hear of it: routing carries on with its numbering, the
    ledger keeps following routing's handler and deadline, and the case still reads merged."""
    events = worked_case(Routing())
    before, after = events[:2], events[2:]  # classified, assigned | accepted, overdue, started, resolved, linked
    admin = {"sub": "admin", "role": "district_admin", "communities": ["*"]}
    seen = set()
    for order in itertools.permutations(after[:4]):
        with sqlite_uow(intake_metadata) as uow:
            with uow.transaction() as session:
                ledger_case(session)
                session.add(Case(**{**snapshot(cases.get_case(session, CASE)), "id": "target" * 4,
                                    "reference": "MX-2026-000002"}))  # fmt: skip
            for event in before:
                deliver_to_ledger(uow, event)
            with uow.transaction() as session:
                cases.merge_case(session, cases.get_case(session, CASE), "target" * 4, admin, "同一盏灯", T0)
            for event in [*order, after[4]]:
                deliver_to_ledger(uow, event)
            with uow.transaction() as session:
                got = ledger.as_dict(cases.get_case(session, CASE), T0)
        seen.add((got["status"], got["handler"]["id"], got["deadline"], got["version"], got["supervision_level"]))
    assert seen == {("merged", HANDLER["id"], DEADLINE, 6, 1)}


# --- routing's copy of intake's hot issue ----------------------------------------------------------
ISSUE = "1550e000000000000000000000000001"
PARKING = [f"{n:032x}" for n in range(1, 9)]


def hot_issue_run() -> list[dict]:
    """Detected at the fifth parking case; three more join it, one event each with the whole membership."""
    detected = {"category": "parking", "count": 5, "window_days": 30, "case_ids": PARKING[:5], "title": "停车难"}
    events = [envelope("hot_issue.detected", 5, detected, T0, source="intake", subject=ISSUE)]
    for n in (6, 7, 8):
        data = {
            "category": "parking",
            "count": n,
            "window_days": 30,
            "case_ids": PARKING[:n],
            "joined": [PARKING[n - 1]],
        }
        events.append(envelope("hot_issue.updated", n, data, T0 + timedelta(days=n), source="intake", subject=ISSUE))
    return events


def deliver_to_routing(uow: UnitOfWork, event: dict) -> None:
    """What routing's hot-issue entrypoints do with one message."""
    with uow.transaction() as session:
        if claim_inbox(session, "routing.hot_issues", event["id"]):
            meetings.record_hot_issue(session, event, T0 + timedelta(days=30))


def test_routing_hot_issue_copy_ends_the_same_whatever_order_and_twice():
    events = hot_issue_run()
    results = set()
    for order in itertools.permutations(events):
        with sqlite_uow(routing_metadata) as uow:
            for event in [*order, *order]:
                deliver_to_routing(uow, event)
            with uow.transaction() as session:
                issue = session.get(HotIssue, ISSUE)
                results.add((tuple(issue.case_ids), issue.title, issue.detected_at, issue.category, issue.status))
    assert results == {(tuple(PARKING), "停车难", T0, "parking", "open")}


def test_cases_joining_a_claimed_hot_issue_join_its_project_and_are_resolved_with_it():
    events = hot_issue_run()
    staff = {"id": "admin", "role": "community_admin"}
    with sqlite_uow(routing_metadata) as uow:
        with uow.transaction() as session:
            session.add(Unit(id="maxian-prop", community="maxian", name="物业公司"))
            for n, case_id in enumerate(PARKING):
                data = {"reference": f"MX-2026-00000{n}", "channel": "online", "title": "停车难", "category": "parking",
                        "registered_at": T0}  # fmt: skip
                workflow.on_registered(session, envelope("case.registered", 1, data, T0, "intake", case_id), T0)
        deliver_to_routing(uow, events[0])
        with uow.transaction() as session:
            agenda = {"title": "停车难议事会", "held_at": T0, "attending_units": ["maxian-prop"]}
            meeting = meetings.convene(session, "maxian", agenda | {"agenda": [{"hot_issue": ISSUE}]}, staff)
            item = meetings.meeting_view(session, meeting)["agenda"][0]
            project = meetings.claim(session, item.id, {"units": ["maxian-prop"], "owner": "陈经理"}, staff, T0)
        for event in reversed(events[1:]):  # the three that joined, the last first
            deliver_to_routing(uow, event)
        with uow.transaction() as session:
            assert session.get(Project, project.id).case_ids == PARKING
            linked = session.scalars(select(OUTBOX.c.body).where(OUTBOX.c.type == "case.project_linked"))
            assert sorted(json.loads(body)["subject"] for body in linked) == PARKING
            done = meetings.complete(session, project.id, "划定夜间临时停车区", staff, T0)
            assert sorted(done["resolved_cases"]) == PARKING
            assert {c.status for c in session.scalars(select(RoutedCase))} == {"resolved"}


# --- points: awards from routing's and feedback's events -------------------------------------------------
def points_run() -> list[dict]:
    """A member's suggestion adopted, a case they handled rated unhappy then (after the reopening) satisfied,
    a home visit and a reception duty; on different days, so no cap decides between them."""
    member, case_a, case_b = "maxian-g01-leader", "a" * 32, "b" * 32
    adopted = {"reference": "MX-2026-000007", "title": "增设充电桩", "summary": "已采纳", "proposer_member": member}
    return [
        envelope("suggestion.adopted", 4, adopted, T0, subject=case_a),
        feedback_event("case.rated", 8, 24 * 60, {"satisfied": False, "handler_id": member}, case_id=case_b),
        feedback_event("case.rated", 14, 3 * 24 * 60, {"satisfied": True, "handler_id": member}, case_id=case_b),
        feedback_event("visit.recorded", 1, 5 * 24 * 60, {"kind": "home", "visitor": member}, case_id="v1" * 16),
        feedback_event("visit.recorded", 1, 6 * 24 * 60, {"kind": "reception", "visitor": member}, case_id="v2" * 16),
    ]


def play_points(uow: UnitOfWork, events: list[dict]) -> tuple:
    with uow.transaction() as session:
        points_members.register(
            session,
            {"community": "maxian", "name": "吴宇涛", "roster_id": "maxian-g01-leader", "branch": "第一支部",
             "status": "serving"},
            T0,
        )  # fmt: skip
    for event in events:  # what points' three event entrypoints do with one message
        with uow.transaction() as session:
            if claim_inbox(session, f"points.{event['source']}", event["id"]):
                awards.on_event(session, event, T0 + timedelta(days=30))
    with uow.transaction() as session:
        member = session.scalars(select(Member)).one()
        given = session.scalars(select(Award).order_by(Award.source))
        return member.balance, [(a.rule_code, a.source, a.points, a.status) for a in given]


def test_points_awards_end_the_same_whatever_order_and_twice():
    events = points_run()
    with sqlite_uow(points_metadata) as uow:
        expected = play_points(uow, events)
    assert expected[0] == 5 + 3 + 1
    for order in itertools.permutations(events):
        with sqlite_uow(points_metadata) as uow:
            assert play_points(uow, [*order, *order]) == expected

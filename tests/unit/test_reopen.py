"""A dissatisfied resident's case goes back to whoever answered it, for every handling type, with a fresh
limit counted from the reopening; staff may redirect it. The workflow's own functions on an embedded
database, at fixed instants."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from minqing.db import UnitOfWork, make_engine
from minqing.errors import Conflict, InvalidInput
from minqing.outbox import take_unsent
from services.routing import machine, public, workflow
from services.routing.models import Bureau, Decision, RosterMember, Unit, metadata

SH = ZoneInfo("Asia/Shanghai")
REGISTERED = datetime(2026, 2, 24, 9, 30, tzinfo=SH)  # a Tuesday after the 2026 Spring Festival break
REOPENED = datetime(2026, 3, 2, 9, 0, tzinfo=SH)  # a Monday
STAFF = {"sub": "maxian-admin", "role": "community_admin", "communities": ["maxian"]}
ACTOR = workflow.actor_of(STAFF)
LEADER = {"id": "maxian-g01-leader", "kind": "grid_member", "name": "林网格长"}
UNIT = {"id": "maxian-u02", "kind": "resident_unit", "name": "马尾区第一中心小学"}


@pytest.fixture
def session(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'routing.db'}")
    metadata.create_all(engine)
    with UnitOfWork(engine).transaction() as s:
        s.add(
            RosterMember(
                id=LEADER["id"], community="maxian", grid="maxian-g01", name=LEADER["name"], role="grid_leader"
            )
        )
        s.add(
            RosterMember(
                id="maxian-g02-leader", community="maxian", grid="maxian-g02", name="陈网格长", role="grid_leader"
            )
        )
        s.add(Unit(id=UNIT["id"], community="maxian", name=UNIT["name"]))
        s.add(Bureau(code="housing", name="马尾区住房和城乡建设局", days=10))
        s.add(Bureau(code="urban", name="马尾区城市管理局", days=10))
        s.flush()
        yield s
    engine.dispose()


def registered(session, n=1):
    envelope = {
        "subject": f"case-{n}",
        "community": "maxian",
        "version": 1,
        "data": {
            "reference": f"MX-2026-{n:06d}",
            "title": "楼道灯不亮",
            "grid": "maxian-g01",
            "registered_at": REGISTERED,
        },
    }
    return workflow.on_registered(session, envelope, REGISTERED)


def handler_scope(handler):
    return {"sub": handler["id"], "role": "unit_handler", "communities": ["maxian"]}


def answered_by(session, handling_type, handler):
    """Classified, assigned, worked and resolved, a few days after registration."""
    case = registered(session)
    t = REGISTERED + timedelta(minutes=10)
    workflow.classify(session, case, handling_type, ACTOR, "人工分类", t)
    workflow.assign(session, case, handler, ACTOR, None, t)
    scope = handler_scope(handler)
    workflow.handler_step(session, case, "accept", scope, None, t + timedelta(hours=1))
    if handling_type == "supplement":
        workflow.handler_step(session, case, "request_supplement", scope, "请提供证明", t + timedelta(hours=2))
        workflow.handler_step(session, case, "supplement_received", scope, "材料已补齐", t + timedelta(days=1))
    outcome = "not_adopted" if handling_type == "suggestion" else None
    workflow.handler_step(
        session, case, "resolve", scope, None, t + timedelta(days=2), summary="已处理", outcome=outcome
    )
    return case


def reopen(session, case):
    take_unsent(session, "routing")  # what came before is not the reopening's doing
    envelope = {"version": case.version + 3, "data": {"reopen_count": 1, "reason": "问题没有彻底解决"}}
    workflow.reopen(session, case, envelope, REOPENED)
    return take_unsent(session, "routing")


@pytest.mark.parametrize(
    ("handling_type", "handler", "deadline"),
    (
        ("immediate", LEADER, datetime(2026, 3, 2, 18, tzinfo=SH)),  # same working day: reopened before 16:00
        ("committed", LEADER, datetime(2026, 3, 9, 18, tzinfo=SH)),  # the default 5 working days
        ("suggestion", UNIT, datetime(2026, 3, 16, 18, tzinfo=SH)),  # 10 working days
        ("supplement", UNIT, datetime(2026, 3, 5, 18, tzinfo=SH)),  # the material is in: 3 working days
    ),
)
def test_a_community_case_goes_back_to_its_handler_with_a_fresh_limit(session, handling_type, handler, deadline):
    case = answered_by(session, handling_type, handler)
    events = reopen(session, case)
    assert (case.status, case.handling_type, case.reopen_count, case.bureau) == ("assigned", handling_type, 1, None)
    assert (case.handler_id, case.handler_kind, case.deadline, case.clock_started_at) == (
        handler["id"],
        handler["kind"],
        deadline,
        REOPENED,
    )
    assert [e["type"] for e in events] == ["case.classified", "case.assigned"]
    assert datetime.fromisoformat(events[-1]["data"]["state"]["deadline"]) == deadline
    decisions = [d.action for d in session.scalars(select(Decision).order_by(Decision.id))][-3:]
    assert decisions == ["reopen", "classify", "assign"]
    # the handler works it again; staff may give it to someone else instead, saying why
    assert set(machine.callable_from(case.status, workflow.parties(case, handler_scope(handler)))) >= {
        "accept",
        "resolve",
    }
    other = workflow.resolve_handler(session, case, "member", "maxian-g02-leader")
    with pytest.raises(InvalidInput) as unexplained:
        workflow.assign(session, case, other, ACTOR, None, REOPENED + timedelta(hours=1))
    assert unexplained.value.errors == {"reason": ["required when reassigning"]}
    workflow.assign(session, case, other, ACTOR, "原网格长休假", REOPENED + timedelta(hours=1))
    assert case.handler_id == "maxian-g02-leader"


def answered_by_bureau(session):
    case = registered(session)
    workflow.escalate(session, case, "housing", ACTOR, "物业问题需住建局处理", REGISTERED + timedelta(minutes=10))
    clerk = {"sub": "housing-clerk", "role": "bureau_handler", "communities": ["*"], "bureau": "housing"}
    workflow.bureau_step(session, case, "bureau_accept", clerk, None, REGISTERED + timedelta(hours=3))
    workflow.bureau_step(
        session, case, "bureau_resolve", clerk, None, REGISTERED + timedelta(days=4), summary="已约谈物业"
    )
    return case, clerk


def test_an_escalated_case_goes_back_to_the_same_bureau_as_a_fresh_public_transfer(session):
    case, clerk = answered_by_bureau(session)
    events = reopen(session, case)
    assert (case.status, case.handling_type, case.bureau, case.reopen_count) == ("escalated", "escalated", "housing", 1)
    assert case.deadline == datetime(2026, 3, 3, 18, tzinfo=SH) and case.clock_started_at == REOPENED
    [transfer] = events
    assert transfer["type"] == "case.escalated" and transfer["data"]["bureau"] == "housing"
    # the same public path as the first transfer: the bureau's own routing key, and its webhook
    assert public.is_public(transfer, case)
    assert public.routing_key(transfer["type"], case.community, "housing") == "case.escalated.maxian.housing"
    # the bureau sees it and takes it up again, with its own limit from then
    assert machine.callable_from(case.status, workflow.parties(case, clerk)) == [
        "bureau/accept",
        "bureau/resolve",
        "bureau/return",
    ]
    accepted_at = REOPENED + timedelta(hours=2)
    workflow.bureau_step(session, case, "bureau_accept", clerk, None, accepted_at)
    assert case.status == "bureau_accepted" and case.deadline == datetime(2026, 3, 16, 18, tzinfo=SH)


def test_staff_may_redirect_a_reopened_transfer_to_another_bureau(session):
    case, clerk = answered_by_bureau(session)
    reopen(session, case)
    assert "escalate" in machine.callable_from(case.status, workflow.parties(case, STAFF))
    workflow.escalate(session, case, "urban", ACTOR, "实为市政道路问题", REOPENED + timedelta(hours=1))
    [transfer] = take_unsent(session, "routing")
    assert (case.status, case.bureau, transfer["data"]["bureau"]) == ("escalated", "urban", "urban")
    assert workflow.parties(case, clerk) == set()  # the first bureau no longer has it
    with pytest.raises(Exception, match="not found"):
        workflow.bureau_step(session, case, "bureau_accept", clerk, None, REOPENED + timedelta(hours=2))


def test_a_case_a_bureau_returned_and_the_community_answered_goes_back_to_the_community(session):
    case = registered(session)
    workflow.escalate(session, case, "housing", ACTOR, "物业问题", REGISTERED + timedelta(minutes=10))
    clerk = {"sub": "housing-clerk", "role": "bureau_handler", "communities": ["*"], "bureau": "housing"}
    workflow.bureau_step(session, case, "bureau_return", clerk, "不属于本局职责", REGISTERED + timedelta(hours=3))
    workflow.classify(session, case, "committed", ACTOR, "社区自办", REGISTERED + timedelta(hours=4))
    workflow.assign(session, case, LEADER, ACTOR, None, REGISTERED + timedelta(hours=4))
    workflow.handler_step(
        session, case, "resolve", handler_scope(LEADER), None, REGISTERED + timedelta(days=1), summary="ok"
    )
    reopen(session, case)
    assert (case.status, case.handling_type, case.bureau, case.handler_id) == (
        "assigned",
        "committed",
        None,
        LEADER["id"],
    )


def test_a_case_nobody_handled_waits_classified_for_staff(session):
    """Answered by a claimed project (resolve_by_project), never assigned: there is no handler to go back to."""
    case = registered(session)
    workflow._step(
        session, case, "resolve_by_project", ACTOR, "项目完成", REGISTERED + timedelta(days=30), {"summary": "项目完成"}
    )
    reopen(session, case)
    assert (case.status, case.handler_id, case.handling_type) == ("classified", None, "committed")
    assert case.deadline == datetime(2026, 3, 9, 18, tzinfo=SH)
    assert machine.callable_from(case.status, workflow.parties(case, STAFF)) == ["assign", "classify", "escalate"]


@pytest.mark.parametrize("status", ("registered", "assigned", "escalated", "closed"))
def test_only_an_answered_case_reopens(session, status):
    case = registered(session)
    case.status = status
    with pytest.raises(Conflict):
        reopen(session, case)


def test_returning_a_case_needs_a_reason(session):
    case = registered(session)
    workflow.classify(session, case, "committed", ACTOR, None, REGISTERED)
    workflow.assign(session, case, LEADER, ACTOR, None, REGISTERED)
    with pytest.raises(InvalidInput) as unexplained:
        workflow.handler_step(session, case, "return", STAFF, None, REGISTERED + timedelta(hours=1))
    assert unexplained.value.errors == {"reason": ["required"]} and case.status == "assigned"
    workflow.handler_step(session, case, "return", STAFF, "网格调整", REGISTERED + timedelta(hours=1))
    assert (case.status, case.handler_id) == ("returned", None)

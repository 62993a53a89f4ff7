"""Classification, assignment and every later step of a case, each a decision with actor, time and
reason, a new case version, and an event (through the outbox) for the ledger and other services."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing.errors import Forbidden, InvalidInput, NotFound
from minqing.events import make_envelope
from minqing.outbox import add_event
from services.routing import calendar, machine, rules
from services.routing.models import Bureau, CommunitySettings, Decision, RosterMember, RoutedCase, Rule, Unit

SOURCE = "routing"
HANDLER_MODELS = {"member": (RosterMember, "grid_member"), "unit": (Unit, "resident_unit")}
STAFF = ("grid_member", "community_admin", "district_admin")


def actor_of(scope: dict) -> dict:
    return {"id": scope["sub"], "role": scope["role"]}


def limits_for(session: Session, community: str) -> calendar.Limits:
    row = session.get(CommunitySettings, community)
    return calendar.Limits.from_dict(row.limits) if row and row.limits else calendar.Limits()


def get_case(session: Session, case_id: str, lock: bool = False) -> RoutedCase:
    query = select(RoutedCase).where(RoutedCase.id == case_id)
    case = session.scalars(query.with_for_update() if lock else query).first()
    if case is None:
        raise NotFound(f"case {case_id!r} not found")
    return case


def state_of(case: RoutedCase) -> dict:
    handler = {"id": case.handler_id, "kind": case.handler_kind, "name": case.handler_name} if case.handler_id else None
    return {
        "reference": case.reference,
        "channel": case.channel,
        "grid": case.grid,
        "registered_at": case.registered_at,
        "status": case.status,
        "handling_type": case.handling_type,
        "deadline": case.deadline,
        "handler": handler,
        "bureau": case.bureau,
        "supervision_level": case.supervision_level,
    }


def _emit(session: Session, case: RoutedCase, type_: str, data: dict, now: datetime) -> None:
    data = {**data, "state": state_of(case)}
    add_event(
        session,
        make_envelope(
            type_, source=SOURCE, community=case.community, subject=case.id, version=case.version, data=data, time=now
        ),
    )


def _step(
    session: Session, case: RoutedCase, action: str, actor: dict, reason: str | None, now: datetime, data: dict
) -> RoutedCase:
    step = machine.check(action, case.status)
    case.status, case.version, case.updated_at = step.target, case.version + 1, now
    session.add(Decision(case_id=case.id, action=action, actor=actor, reason=reason, time=now, version=case.version))
    _emit(session, case, step.event, {**data, "actor": actor}, now)
    return case


# --- classification and assignment -------------------------------------------------------------
def classify(
    session: Session,
    case: RoutedCase,
    handling_type: str,
    actor: dict,
    reason: str | None,
    now: datetime,
    committed_days: int | None = None,
    committed_date: date | None = None,
    start: datetime | None = None,
) -> RoutedCase:
    if handling_type == "escalated":
        raise InvalidInput("use escalate, naming the bureau", {"handling_type": ["escalate the case instead"]})
    limits = limits_for(session, case.community)
    try:
        deadline = calendar.deadline_for(
            handling_type,
            start or case.registered_at,
            limits,
            committed_days=committed_days,
            committed_date=committed_date,
        )
    except ValueError as exc:
        raise InvalidInput(str(exc), {"deadline": [str(exc)]}) from None
    return _classified(session, case, handling_type, deadline, start or case.registered_at, actor, reason, now)


def _classified(session, case, handling_type, deadline, clock_start, actor, reason, now) -> RoutedCase:
    case.handling_type, case.deadline, case.clock_started_at = handling_type, deadline, clock_start
    data = {"handling_type": handling_type, "deadline": deadline, "reason": reason}
    return _step(session, case, "classify", actor, reason, now, data)


def resolve_handler(session: Session, case: RoutedCase, kind: str, ref: str | None) -> dict:
    """The handler a rule or a person named: a roster member, a unit, or the grid's leader."""
    if kind == "grid_leader":
        leader = session.scalars(
            select(RosterMember).where(
                RosterMember.community == case.community,
                RosterMember.grid == case.grid,
                RosterMember.role == "grid_leader",
                RosterMember.active.is_(True),
            )
        ).first()
        if leader is None:
            raise InvalidInput(f"grid {case.grid!r} has no leader on the roster", {"handler": ["no grid leader"]})
        return {"id": leader.id, "kind": "grid_member", "name": leader.name}
    model, handler_kind = HANDLER_MODELS.get(kind, (None, None))
    found = session.get(model, ref) if model and ref else None
    if found is None or found.community != case.community:
        raise InvalidInput(f"no {kind} {ref!r} in community {case.community!r}", {"handler": ["unknown handler"]})
    return {"id": found.id, "kind": handler_kind, "name": found.name}


def assign(
    session: Session, case: RoutedCase, handler: dict, actor: dict, reason: str | None, now: datetime
) -> RoutedCase:
    if case.handler_id and not reason:
        # a first assignment may go without saying; taking a case from its handler is a decision to explain
        raise InvalidInput("reassigning a case needs a reason", {"reason": ["required when reassigning"]})
    case.handler_id, case.handler_kind, case.handler_name = handler["id"], handler["kind"], handler.get("name")
    return _step(session, case, "assign", actor, reason, now, {"handler": handler, "reason": reason})


def escalate(session: Session, case: RoutedCase, bureau_code: str, actor: dict, reason: str, now: datetime):
    bureau = session.get(Bureau, bureau_code)
    if bureau is None:
        raise InvalidInput(f"no bureau {bureau_code!r}", {"bureau": ["unknown bureau"]})
    limits = limits_for(session, case.community)
    case.handling_type, case.bureau = "escalated", bureau.code
    case.deadline = calendar.deadline_for("escalated", now, limits)
    case.clock_started_at = now
    data = {"bureau": bureau.code, "reason": reason, "deadline": case.deadline}
    return _step(session, case, "escalate", actor, reason, now, data)


def auto_route(session: Session, case: RoutedCase, text: str, now: datetime) -> RoutedCase:
    """Apply the community's first matching rule; with none, the case waits for staff."""
    found = rules.choose(
        [
            rules.RuleView(
                r.id,
                r.priority,
                r.category,
                tuple(r.keywords or ()),
                r.handling_type,
                r.handler_kind,
                r.handler_ref,
                r.committed_days,
            )
            for r in session.scalars(select(Rule).where(Rule.community == case.community))
        ],
        case.category,
        text,
    )
    if found is None:
        return case
    system = {"id": f"rule-{found.id}", "role": "system"}
    reason = f"rule {found.id}" + (f" ({found.category})" if found.category else "")
    if found.handling_type == "escalated":
        return escalate(session, case, found.handler_ref, system, reason, now)
    classify(session, case, found.handling_type, system, reason, now, committed_days=found.committed_days)
    try:
        handler = resolve_handler(session, case, found.handler_kind, found.handler_ref)
    except InvalidInput:
        return case  # classified; staff will assign by hand
    return assign(session, case, handler, system, reason, now)


def on_registered(session: Session, envelope: dict, now: datetime) -> RoutedCase:
    data = envelope["data"]
    case = RoutedCase(
        id=envelope["subject"],
        community=envelope["community"],
        reference=data["reference"],
        title=data["title"],
        category=data.get("category"),
        channel=data.get("channel"),
        grid=data.get("grid"),
        building=data.get("building"),
        registered_at=data["registered_at"],
        proposer_user=data.get("reporter_user"),
        proposer_member=data.get("proposer_member"),
        status="registered",
        version=envelope["version"],
        supervision_level=0,
        reopen_count=0,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    return auto_route(session, case, f"{data['title']} {data.get('description') or ''}", now)


# --- the handler's and the bureau's steps --------------------------------------------------------
def authorize_handler(case: RoutedCase, scope: dict) -> None:
    if scope["role"] in STAFF:
        return
    if scope["role"] == "bureau_handler":
        raise Forbidden("a bureau answers with the bureau actions (accept, return, resolve)")
    if case.handler_id != scope["sub"]:
        raise Forbidden("only the case's handler or community staff may do this")


def authorize_bureau(case: RoutedCase, scope: dict) -> None:
    if scope["role"] != "bureau_handler" or not scope.get("bureau"):
        raise Forbidden("only a bureau_handler token with a bureau claim may do this")
    if case.bureau != scope["bureau"]:
        raise NotFound(f"case {case.id!r} not found")


def parties(case: RoutedCase, scope: dict) -> set[str]:
    """Who the caller is to this case, in the terms of `machine.ENDPOINTS`."""
    if scope["role"] == "bureau_handler":
        return {"bureau"} if scope.get("bureau") and scope["bureau"] == case.bureau else set()
    if scope["role"] in STAFF:
        return {"staff", "handler"}
    return {"handler"} if case.handler_id and case.handler_id == scope["sub"] else set()


def handler_step(session, case, action, scope, reason, now, summary=None, outcome=None) -> RoutedCase:
    authorize_handler(case, scope)
    actor, data = actor_of(scope), {"reason": reason}
    if action == "request_supplement":
        case.deadline = None  # the clock stops until the resident's material arrives
        data["deadline"] = None
    elif action == "supplement_received":
        case.deadline = calendar.resume_after_supplement(now, limits_for(session, case.community))
        case.clock_started_at = now
        data["deadline"] = case.deadline
    elif action == "resolve":
        if case.handling_type == "suggestion" and outcome not in ("adopted", "not_adopted"):
            raise InvalidInput("a suggestion ends adopted or not_adopted", {"outcome": ["adopted or not_adopted"]})
        data = {"summary": summary, "outcome": outcome}
    elif action == "return":
        if scope["role"] not in STAFF:
            raise Forbidden("only community staff return a case")
        if not reason:
            raise InvalidInput("returning a case needs a reason", {"reason": ["required"]})
        case.handler_id = case.handler_kind = case.handler_name = None
    _step(session, case, action, actor, reason, now, data)
    if action == "resolve" and outcome == "adopted" and case.handling_type == "suggestion":
        _emit(session, case, "suggestion.adopted", _adopted(case, summary, actor), now)
    return case


def _adopted(case: RoutedCase, summary: str, actor: dict) -> dict:
    return {
        "reference": case.reference,
        "title": case.title,
        "summary": summary,
        "proposer_user": case.proposer_user,
        "proposer_member": case.proposer_member,
        "actor": actor,
    }


def bureau_step(session, case, action, scope, reason, now, summary=None) -> RoutedCase:
    authorize_bureau(case, scope)
    actor = actor_of(scope)
    if action == "bureau_accept":
        bureau = session.get(Bureau, case.bureau)
        limits = limits_for(session, case.community)
        case.deadline = calendar.bureau_deadline(now, dataclasses.replace(limits, bureau_days=bureau.days))
        case.clock_started_at = now
        data = {"bureau": case.bureau, "deadline": case.deadline}
    elif action == "bureau_return":
        if not reason:
            raise InvalidInput("a bureau returns a case with a reason", {"reason": ["required"]})
        data = {"bureau": case.bureau, "reason": reason}
        case.bureau = None
        case.deadline = None  # back with the community, which reclassifies or reassigns it
    else:
        data = {"summary": summary or reason or ""}
    return _step(session, case, action, actor, reason, now, data)


REOPEN_REASON = "居民不满意，重新办理"
COMMUNITY_TYPES = ("immediate", "supplement", "committed", "suggestion")  # the handling types worked in the community


def reopen(session: Session, case: RoutedCase, envelope: dict, now: datetime) -> RoutedCase:
    """A dissatisfied resident sends the case back (feedback's `case.reopened`) to whoever answered it, with a
    fresh time limit counted from now: a grid member or resident unit has it assigned again under the same
    handling type; a bureau has it transferred again (`case.escalated`, so the same public routing key and
    webhook as the first transfer). A case nobody handled (answered by a project) waits, classified, for staff.
    Staff may redirect it as any other case: reassign it, or escalate it elsewhere."""
    step = machine.check("reopen", case.status)
    case.version = max(case.version, envelope["version"])
    case.reopen_count = envelope["data"]["reopen_count"]
    case.status = step.target
    actor, reason = {"id": "system", "role": "system"}, envelope["data"]["reason"]
    session.add(Decision(case_id=case.id, action="reopen", actor=actor, reason=reason, time=now, version=case.version))
    if case.handling_type == "escalated" and case.bureau:
        return escalate(session, case, case.bureau, actor, REOPEN_REASON, now)
    case.bureau = None  # a bureau that returned the case is done with it; the community works it
    kind = case.handling_type if case.handling_type in COMMUNITY_TYPES else "committed"
    deadline = calendar.reopen_deadline(kind, now, limits_for(session, case.community))
    _classified(session, case, kind, deadline, now, actor, REOPEN_REASON, now)
    if case.handler_id:
        handler = {"id": case.handler_id, "kind": case.handler_kind, "name": case.handler_name}
        assign(session, case, handler, actor, "原承办人重新办理", now)
    return case

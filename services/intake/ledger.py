"""The people's-conditions ledger (民情工作台账): who may see which case, listing, and applying the
events routing and feedback emit.

Events can arrive out of order (classification and assignment are published moments apart, retries
reorder them). Every event goes on the timeline; the case's current state only moves forward: an event
whose `version` is not newer than what the ledger has applied from its source changes nothing but the
timeline (docs/projections.md).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from minqing import paging
from minqing.vocabulary import OPEN_STATUSES
from services.intake.directory import visible_communities
from services.intake.models import Case, Follow, TimelineEntry


def visibility(scope: dict):
    """SQL condition for the cases a caller may see (API.md, Auth)."""
    allowed = visible_communities(scope)
    in_scope = Case.community.in_(allowed) if allowed is not None else None
    role = scope["role"]
    if role == "resident":
        own = Case.reporter_user == scope["sub"]
    elif role == "unit_handler":
        own = Case.handler_id == scope["sub"]
    elif role == "deputy":
        own = Case.id.in_(select(Follow.case_id).where(Follow.user_id == scope["sub"]))
    elif role == "bureau_handler":
        own = Case.bureau == scope["bureau"] if scope.get("bureau") else false()
    else:
        own = None
    parts = [c for c in (in_scope, own) if c is not None]
    return and_(*parts) if parts else None


def is_overdue(case: Case, now: datetime) -> bool:
    # the flag is set by routing's scanner; the comparison covers the moments before its next scan
    return bool(case.overdue) or bool(
        case.deadline is not None and case.deadline < now and case.status in OPEN_STATUSES
    )


def list_statement(query: dict, scope: dict, now: datetime):
    """The SELECT behind one page of the ledger: `limit + 1` rows, newest first (bench/scale.py runs it too)."""
    stmt = select(Case)
    condition = visibility(scope)
    if condition is not None:
        stmt = stmt.where(condition)
    for field, column in (
        ("community", Case.community),
        ("status", Case.status),
        ("handling_type", Case.handling_type),
        ("channel", Case.channel),
        ("grid", Case.grid),
        ("handler", Case.handler_id),
    ):
        if query.get(field) is not None:
            stmt = stmt.where(column == query[field])
    if query.get("overdue") is not None:
        late = or_(
            Case.overdue.is_(True),
            and_(Case.deadline.is_not(None), Case.deadline < now, Case.status.in_(OPEN_STATUSES)),
        )
        stmt = stmt.where(late if query["overdue"] else ~late)
    if query.get("q"):
        pattern = "%" + query["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                Case.title.like(pattern, escape="\\"),
                Case.description.like(pattern, escape="\\"),
                Case.reference == query["q"],
            )
        )
    if query.get("from_"):
        stmt = stmt.where(Case.registered_at >= query["from_"])
    if query.get("to"):
        stmt = stmt.where(Case.registered_at < query["to"])
    if query.get("cursor"):
        when_dt, after = paging.decode(query["cursor"], 2, (datetime.fromisoformat,))
        # the first condition is implied by the second; it bounds the index scan (registered_at, id), which
        # the OR alone does not, so a page deep in the list starts where the cursor is, not at the top
        stmt = stmt.where(
            Case.registered_at <= when_dt,
            or_(Case.registered_at < when_dt, and_(Case.registered_at == when_dt, Case.id < after)),
        )
    return stmt.order_by(Case.registered_at.desc(), Case.id.desc()).limit(query.get("limit", 50) + 1)


def list_cases(session: Session, query: dict, scope: dict, now: datetime) -> dict:
    limit = query.get("limit", 50)
    rows = list(session.scalars(list_statement(query, scope, now)))
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = paging.encode(rows[-1].registered_at.isoformat(), rows[-1].id) if more and rows else None
    return {"items": rows, "next_cursor": cursor}


def timeline(session: Session, case_id: str) -> list[TimelineEntry]:
    entries = session.scalars(
        select(TimelineEntry).where(TimelineEntry.case_id == case_id).order_by(TimelineEntry.time, TimelineEntry.id)
    )
    return sorted(entries, key=lambda e: (e.time, (e.detail or {}).get("version", 0)))


def _handler(case: Case, data: dict) -> None:
    handler = data["handler"]
    case.handler_id, case.handler_kind, case.handler_name = handler["id"], handler["kind"], handler.get("name")


def _classified(case: Case, data: dict) -> None:
    case.handling_type = data["handling_type"]
    case.deadline = data.get("deadline")


def _escalated(case: Case, data: dict) -> None:
    case.bureau = data["bureau"]
    if data.get("deadline"):
        case.deadline = data["deadline"]


def _returned(case: Case, data: dict) -> None:
    case.handler_id = case.handler_kind = case.handler_name = None
    if data.get("bureau"):
        case.bureau = None


def _new_deadline(case: Case, data: dict) -> None:
    # a supplement request stops the clock (no deadline); the material's arrival or a bureau's
    # acceptance starts a new one
    case.deadline = data.get("deadline")


def _resolved(case: Case, data: dict) -> None:
    case.outcome = data.get("outcome")


def _rated(case: Case, data: dict) -> None:
    case.satisfied = data["satisfied"]


def _reopened(case: Case, data: dict) -> None:
    case.satisfied = None


def _take_state(case: Case, state: dict) -> None:
    case.handling_type, case.deadline, case.bureau = state["handling_type"], state["deadline"], state["bureau"]
    _supervise(case, routing_level=state.get("supervision_level") or 0)
    handler = state.get("handler") or {}
    case.handler_id, case.handler_kind, case.handler_name = handler.get("id"), handler.get("kind"), handler.get("name")


VERDICT = {"case.rated": _rated, "case.reopened": _reopened}

# event type → (status it moves the case to, how its data changes the row), for events without a state
TRANSITIONS = {
    "case.classified": ("classified", _classified),
    "case.assigned": ("assigned", _handler),
    "case.resolved": ("resolved", _resolved),
    "case.escalated": ("escalated", _escalated),
    "case.accepted": ("accepted", None),
    "case.started": ("in_progress", None),
    "case.returned": ("returned", _returned),
    "case.supplement_requested": ("awaiting_supplement", _new_deadline),
    "case.supplement_received": ("in_progress", _new_deadline),
    "case.bureau_accepted": ("bureau_accepted", _new_deadline),
    "case.bureau_returned": ("returned", _returned),
    "reply.sent": ("replied", None),
    "case.rated": ("rated", _rated),
    "case.closed": ("closed", None),
    "case.reopened": ("reopened", _reopened),
}


def is_case_event(event_type: str) -> bool:
    """Whether an event's subject is a case (and so belongs on the ledger)."""
    return event_type.startswith("case.") or event_type in ("reply.sent", "notification.sent")


def _supervise(case: Case, routing_level: int = 0, raises: int = 0) -> None:
    """督办 has two sources: routing's level (at least 1 once overdue; only ever rises) and the supervision
    records that demand action, each raising it one more. Kept apart, so the sum is the same in any order."""
    base = max(case.supervision_level - case.supervision_raises, routing_level)
    case.supervision_raises += raises
    case.supervision_level = base + case.supervision_raises


def apply_event(session: Session, case: Case, envelope: dict) -> bool:
    """Record the event on the timeline and apply what it says that is newer than what the ledger has.
    True if it changed the case's state.

    Two services write a case, so each group of fields follows its own source's order: routing's fields
    (handling type, deadline, handler, bureau, outcome) by `routing_version`, the resident's verdict by
    `feedback_version`; the status is whoever's latest in the shared sequence (`state_version`). Intake's
    own merge is none of these: a merged case reads merged whatever routing does next."""
    data, kind, version = envelope["data"], envelope["type"], envelope["version"]
    actor = data.get("actor") or data.get("recorded_by")
    detail = {
        k: (v.isoformat() if isinstance(v, (datetime, date)) else v)
        for k, v in data.items()
        if k not in ("actor", "recorded_by", "state")
    }
    # steps taken in one go (classified and assigned) share a time; the source's version orders them, since
    # concurrent consumers may apply them in either order
    detail["version"] = version
    session.add(
        TimelineEntry(
            case_id=case.id, event_id=envelope["id"], type=kind, time=envelope["time"], actor=actor, detail=detail
        )
    )
    if kind == "case.supervised":
        # a supervision record demanding action raises the case's urgency (督办) by one level
        _supervise(case, raises=1)
        case.updated_at = max(case.updated_at, envelope["time"])
        return True
    if kind == "case.overdue":
        # supervision only ever rises, whatever order the events come in; the deadline is the step's own,
        # which the step (same version) sets too: taken here only while that step is still on its way
        case.overdue = True
        _supervise(case, routing_level=data.get("supervision_level") or 1)
        if version > case.routing_version:
            case.deadline = data["deadline"]
        case.updated_at = max(case.updated_at, envelope["time"])
        return True
    if kind == "case.reopened":  # a count that only rises: whatever the order, the highest is the count
        case.reopen_count = max(case.reopen_count, data["reopen_count"])
    if kind in VERDICT and version > case.feedback_version:
        # the resident's verdict has its own order: a reopening that arrives after routing has already
        # reassigned the case still clears the old verdict and counts the reopen
        VERDICT[kind](case, data)
        case.feedback_version = version
    if kind not in TRANSITIONS:
        return False
    applied = False
    if envelope["source"] == "routing" and version > case.routing_version:
        change = TRANSITIONS[kind][1]
        if change:
            change(case, data)
        if data.get("state"):
            _take_state(case, data["state"])
        case.routing_version = version
        applied = True
    if version > case.state_version:
        case.status = data["state"]["status"] if data.get("state") else TRANSITIONS[kind][0]
        case.state_version = version
        applied = True
    if case.merged_into:
        case.status = "merged"
    if applied:
        case.updated_at = max(case.updated_at, envelope["time"])
    return applied


def as_dict(case: Case, now: datetime) -> dict:
    """The case as the ledger shows it (dumped by CaseOut)."""
    return {
        "id": case.id,
        "reference": case.reference,
        "community": case.community,
        "channel": case.channel,
        "title": case.title,
        "description": case.description,
        "category": case.category,
        "status": case.status,
        "handling_type": case.handling_type,
        "deadline": case.deadline,
        "handler": {"id": case.handler_id, "kind": case.handler_kind, "name": case.handler_name}
        if case.handler_id
        else None,
        "bureau": case.bureau,
        "overdue": is_overdue(case, now),
        "supervision_level": case.supervision_level,
        "outcome": case.outcome,
        "satisfied": case.satisfied,
        "reopen_count": case.reopen_count,
        "merged_into": case.merged_into,
        "reporter": {"name": case.reporter_name, "phone": case.reporter_phone}
        if (case.reporter_name or case.reporter_phone)
        else None,
        "location": {
            "address": case.address,
            "building": case.building,
            "grid": case.grid,
            "lat": case.lat,
            "lon": case.lon,
        },
        "possible_duplicates": case.possible_duplicates or [],
        "registered_at": case.registered_at,
        "updated_at": case.updated_at,
        "version": case.state_version,
    }

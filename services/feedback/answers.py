"""Answering residents (跟踪反馈) and hearing their verdict: replies by the six methods, satisfaction,
reopening on dissatisfaction, closing unrated cases as "not rated" (never counted as satisfied).

Feedback's events continue the case's version sequence that routing started, so the ledger orders
them after routing's: each feedback step takes the highest version it has seen, plus one.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from minqing.errors import Conflict, Forbidden, NotFound
from minqing.events import make_envelope
from minqing.outbox import add_event
from services.feedback.models import FeedbackCase, Rating, Reply

SOURCE = "feedback"
REPLYABLE = ("resolved", "replied")
# once answered, only feedback moves the case on (a rating closes or reopens it); routing is idle until then
FEEDBACK_OWNED = ("replied", "closed")
# events that repeat the version and state of the step before them (routing's scanner, a project claim):
# the step itself carries what it means (the resolution's time), so only steps move the copy
FOLLOWERS = ("case.overdue", "case.due_soon", "case.project_linked")
FIRST_ACTIONS = ("case.accepted", "case.started", "case.resolved", "case.escalated", "case.supplement_requested")


def get_case(session: Session, case_id: str, lock: bool = False) -> FeedbackCase:
    # lock=True for every change: two events of one case applied at once must not overwrite each other
    case = session.get(FeedbackCase, case_id, with_for_update=lock)
    if case is None:
        raise NotFound(f"case {case_id!r} not found")
    return case


def _emit(session: Session, case: FeedbackCase, type_: str, data: dict, now: datetime) -> None:
    case.version += 1
    add_event(
        session,
        make_envelope(
            type_,
            source=SOURCE,
            community=case.community,
            subject=case.id,
            version=case.version,
            data=data,
            time=now,
        ),
    )


# --- following intake and routing ---------------------------------------------------------------
def _ensure_case(session: Session, case_id: str, community: str, data: dict) -> FeedbackCase:
    """Create the case if it is new and lock it. Intake's registration and routing's first event race
    each other on separate queues; INSERT … ON CONFLICT DO NOTHING lets either come first."""
    dialect = session.get_bind().dialect.name
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    session.execute(
        insert(FeedbackCase)
        .values(
            id=case_id,
            community=community,
            reference=data["reference"],
            channel=data["channel"],
            grid=data.get("grid"),
            reporter_user=data.get("reporter_user"),
            registered_at=data["registered_at"],
            status="registered",
            rated=False,
            reopen_count=0,
            version=1,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return session.get(FeedbackCase, case_id, with_for_update=True, populate_existing=True)


def on_registered(session: Session, envelope: dict) -> None:
    """Intake's registration: the case's basics, and whose case it is (the resident who may rate it)."""
    case = _ensure_case(session, envelope["subject"], envelope["community"], envelope["data"])
    case.reporter_user = envelope["data"].get("reporter_user")


def case_for_routing_event(session: Session, envelope: dict) -> FeedbackCase:
    """The case a routing event is about, created from the event's state when it overtook intake's."""
    state = envelope["data"].get("state") or {}
    if state.get("reference") and state.get("channel") and state.get("registered_at"):
        return _ensure_case(session, envelope["subject"], envelope["community"], state)
    return get_case(session, envelope["subject"], lock=True)


def on_routing_event(session: Session, case: FeedbackCase, envelope: dict) -> bool:
    """Follow routing's view of the case by routing's version: an event no newer than the last one applied
    (late, reordered, redelivered) changes nothing of the copied state. Returns whether it was applied.

    `routing_version` is routing's alone; `version` is the highest of the shared sequence seen from either
    service (feedback numbers its own steps after it), so a routing step that shares a number with a
    feedback supervision record (both took "last seen + 1") still applies."""
    case.version = max(case.version, envelope["version"])
    if envelope["type"] in FIRST_ACTIONS:  # the earliest, whatever order they arrive in
        case.first_action_at = min(t for t in (case.first_action_at, envelope["time"]) if t is not None)
    state = envelope["data"].get("state")
    if not state or envelope["type"] in FOLLOWERS or envelope["version"] <= case.routing_version:
        return False
    case.routing_version = envelope["version"]
    case.handling_type, case.deadline = state.get("handling_type"), state.get("deadline")
    case.handler_id = (state.get("handler") or {}).get("id")
    if case.status not in FEEDBACK_OWNED:
        case.status = state["status"]
    if envelope["type"] == "case.resolved":
        case.resolved_at = envelope["time"]
    return True


# --- replying and rating --------------------------------------------------------------------------
def check_rater(session: Session, case: FeedbackCase, scope: dict) -> None:
    """The resident rates their own case; staff may record a rating heard on a hotline callback."""
    if scope["role"] == "resident" and case.reporter_user != scope["sub"]:
        raise NotFound(f"case {case.id!r} not found")
    if scope["role"] not in ("resident", "grid_member", "community_admin", "district_admin"):
        raise Forbidden("only the resident, or staff recording a callback, rate a case")


def reply(session: Session, case: FeedbackCase, data: dict, actor: dict, now: datetime) -> Reply:
    if case.status not in REPLYABLE:
        raise Conflict(f"a case is answered once it is resolved; this one is {case.status}")
    answer = Reply(
        id=uuid.uuid4().hex,
        case_id=case.id,
        method=data["method"],
        content=data["content"],
        attachments=data.get("attachments") or [],
        replied_by=actor,
        replied_at=now,
    )
    session.add(answer)
    case.status, case.replied_at = "replied", now
    _emit(
        session,
        case,
        "reply.sent",
        {
            "reply_id": answer.id,
            "method": answer.method,
            "content": answer.content,
            "actor": actor,
        },
        now,
    )
    return answer


def rate(session: Session, case: FeedbackCase, data: dict, actor: dict, now: datetime) -> Rating:
    """Satisfied closes the case; dissatisfied sends it back to routing, counting the reopen."""
    if case.status != "replied":
        raise Conflict(f"a case is rated after it has been answered; this one is {case.status}")
    via_callback = actor["role"] != "resident"  # staff record a rating heard on a hotline callback
    rating = Rating(
        case_id=case.id,
        satisfied=data["satisfied"],
        score=data.get("score"),
        comment=data.get("comment"),
        recorded_by=actor,
        via_callback=via_callback,
        rated_at=now,
    )
    session.add(rating)
    case.rated, case.satisfied = True, data["satisfied"]
    _emit(
        session,
        case,
        "case.rated",
        {
            "satisfied": rating.satisfied,
            "score": rating.score,
            "comment": rating.comment,
            "recorded_by": actor,
            "handler_id": case.handler_id,
        },
        now,
    )
    if rating.satisfied:
        case.status, case.closed_at, case.close_reason = "closed", now, "rated"
        _emit(session, case, "case.closed", {"reason": "rated", "actor": actor}, now)
    else:
        case.reopen_count += 1
        case.status, case.resolved_at, case.replied_at = "reopened", None, None
        _emit(
            session,
            case,
            "case.reopened",
            {
                "reason": data.get("comment") or "居民不满意",
                "reopen_count": case.reopen_count,
                "actor": actor,
            },
            now,
        )
    return rating


def close_unrated(session: Session, now: datetime, after_days: float, batch: int = 500) -> int:
    """Replied cases nobody rated within `after_days` close as not rated."""
    due = session.scalars(
        select(FeedbackCase)
        .where(FeedbackCase.status == "replied", FeedbackCase.replied_at <= now - timedelta(days=after_days))
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    closed = 0
    for case in due:
        case.status, case.closed_at, case.close_reason, case.satisfied = "closed", now, "not_rated", None
        _emit(session, case, "case.closed", {"reason": "not_rated", "actor": {"id": "system", "role": "system"}}, now)
        closed += 1
    return closed


def history(session: Session, case_id: str) -> dict:
    replies = session.scalars(select(Reply).where(Reply.case_id == case_id).order_by(Reply.replied_at))
    ratings = session.scalars(select(Rating).where(Rating.case_id == case_id).order_by(Rating.rated_at))
    return {"replies": list(replies), "ratings": list(ratings)}

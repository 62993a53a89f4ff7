"""`GET /api/v1/stats`: the rates of `rates`, over feedback's view of each case in a period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing.errors import InvalidInput
from services.feedback import rates
from services.feedback.models import FeedbackCase
from services.intake.directory import visible_communities
from services.routing.calendar import TZ


def facts(case: FeedbackCase) -> rates.CaseFacts:
    return rates.CaseFacts(
        case_id=case.id,
        community=case.community,
        grid=case.grid,
        handler=case.handler_id,
        channel=case.channel,
        handling_type=case.handling_type,
        registered_at=case.registered_at,
        deadline=case.deadline,
        first_action_at=case.first_action_at,
        resolved_at=case.resolved_at,
        # as a district counts it: satisfied means satisfied without the case ever having been reopened
        satisfied=(bool(case.satisfied) and case.reopen_count == 0) if case.rated else None,
        rated=case.rated,
        reopen_count=case.reopen_count,
        closed_not_rated=case.close_reason == "not_rated",
    )


def stats(session: Session, query: dict, scope: dict, now: datetime) -> dict:
    try:
        start, end = rates.period(query["period"], now.astimezone(TZ).date())
    except ValueError as exc:
        raise InvalidInput(str(exc), {"period": [str(exc)]}) from None
    stmt = select(FeedbackCase).where(FeedbackCase.registered_at >= start, FeedbackCase.registered_at < end)
    allowed = visible_communities(scope)
    if allowed is not None:
        stmt = stmt.where(FeedbackCase.community.in_(allowed))
    if query.get("community"):
        stmt = stmt.where(FeedbackCase.community == query["community"])
    if query.get("channel"):
        stmt = stmt.where(FeedbackCase.channel == query["channel"])
    cases = [facts(c) for c in session.scalars(stmt)]
    return {
        "period": {"name": query["period"], "from": start.isoformat(), "to": end.isoformat()},
        "group_by": query["group_by"],
        "overall": rates.summarize(cases, now)[0] if cases else None,
        "groups": rates.summarize(cases, now, query["group_by"]),
    }

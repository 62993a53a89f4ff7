"""Time supervision: `case.due_soon` at 80% of the time used and `case.overdue` at the deadline, each
exactly once per deadline (a new deadline gets its own), safe with several copies scanning at once:
rows are claimed with FOR UPDATE SKIP LOCKED and the sent-for markers commit with the events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from minqing.db import is_postgres
from services.routing import calendar
from services.routing.models import RoutedCase
from services.routing.workflow import _emit

CLOCK_RUNNING = (
    "classified",
    "assigned",
    "accepted",
    "in_progress",
    "escalated",
    "bureau_accepted",
    "returned",
    "reopened",
)


def due_soon_at(case: RoutedCase, fraction: float) -> datetime:
    return calendar.due_soon_at(case.clock_started_at or case.registered_at, case.deadline, fraction)


def scan(session: Session, now: datetime, batch: int = 500, fraction: float = 0.8) -> dict:
    query = (
        select(RoutedCase)
        .where(
            RoutedCase.status.in_(CLOCK_RUNNING),
            RoutedCase.deadline.is_not(None),
            or_(RoutedCase.overdue_sent_for.is_(None), RoutedCase.overdue_sent_for != RoutedCase.deadline),
        )
        .order_by(RoutedCase.deadline)
        .limit(batch)
    )
    if is_postgres(session.get_bind()):
        query = query.with_for_update(skip_locked=True)
    counts = {"due_soon": 0, "overdue": 0}
    for case in session.scalars(query):
        if now >= case.deadline:
            case.overdue_sent_for = case.deadline
            case.due_soon_sent_for = case.deadline  # a late scan does not also announce "due soon"
            case.supervision_level = max(case.supervision_level, 1)
            _emit(
                session,
                case,
                "case.overdue",
                {"deadline": case.deadline, "supervision_level": case.supervision_level},
                now,
            )
            counts["overdue"] += 1
        elif case.due_soon_sent_for != case.deadline and now >= due_soon_at(case, fraction):
            case.due_soon_sent_for = case.deadline
            _emit(session, case, "case.due_soon", {"deadline": case.deadline}, now)
            counts["due_soon"] += 1
    return counts


def overdue_counts(session: Session, now: datetime) -> dict[str, int]:
    rows = session.execute(
        select(RoutedCase.community, func.count())
        .where(RoutedCase.status.in_(CLOCK_RUNNING), RoutedCase.deadline < now)
        .group_by(RoutedCase.community)
    ).all()
    return {community: count for community, count in rows}

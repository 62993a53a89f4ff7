"""Hot-issue detection (热点问题): the same category recurring in one community — at least `threshold`
cases within `window_days` — is announced once with `hot_issue.detected`; later cases join it."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing.events import make_envelope
from minqing.outbox import add_event
from services.intake.models import Case, HotIssue

SOURCE = "intake"


def check(session: Session, case: Case, now: datetime, threshold: int = 5, window_days: int = 30) -> HotIssue | None:
    if not case.category:
        return None
    existing = session.scalars(
        select(HotIssue).where(
            HotIssue.community == case.community, HotIssue.category == case.category, HotIssue.status == "open"
        )
    ).first()
    if existing is not None:
        existing.case_ids = [*existing.case_ids, case.id]
        return existing
    since = now - timedelta(days=window_days)
    recent = list(
        session.scalars(
            select(Case.id)
            .where(Case.community == case.community, Case.category == case.category, Case.registered_at >= since)
            .order_by(Case.registered_at)
        )
    )
    if case.id not in recent:
        recent.append(case.id)
    if len(recent) < threshold:
        return None
    issue = HotIssue(
        id=uuid.uuid4().hex,
        community=case.community,
        category=case.category,
        status="open",
        case_ids=recent,
        detected_at=now,
    )
    session.add(issue)
    add_event(
        session,
        make_envelope(
            "hot_issue.detected",
            source=SOURCE,
            community=case.community,
            subject=issue.id,
            version=1,
            time=now,
            data={
                "category": case.category,
                "count": len(recent),
                "window_days": window_days,
                "case_ids": recent,
                "title": case.title,
            },
        ),
    )
    return issue

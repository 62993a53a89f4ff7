"""Hot-issue detection (热点问题): the same category recurring in one community — at least `threshold`
cases within `window_days` — is announced once with `hot_issue.detected`; a later case of the category
joins it and is announced with `hot_issue.updated` (the whole membership again)."""

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
        if case.id not in existing.case_ids:
            existing.case_ids = [*existing.case_ids, case.id]
            _announce(session, existing, "hot_issue.updated", window_days, None, now, joined=[case.id])
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
    _announce(session, issue, "hot_issue.detected", window_days, case.title, now)
    return issue


def _announce(
    session: Session, issue: HotIssue, type_: str, window_days: int, title: str | None, now: datetime, **extra
):
    """The issue's whole membership, every time it changes: routing's copy (which meetings and projects
    use) takes the largest; the membership only grows, so its size is the version."""
    add_event(
        session,
        make_envelope(
            type_,
            source=SOURCE,
            community=issue.community,
            subject=issue.id,
            version=len(issue.case_ids),
            time=now,
            data={
                "category": issue.category,
                "count": len(issue.case_ids),
                "window_days": window_days,
                "case_ids": issue.case_ids,
                "title": title,
                **extra,
            },
        ),
    )

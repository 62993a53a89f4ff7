"""Supervision (接受监督), the five kinds — individual, social, media, evaluation, deputies: who
supervises what, the finding, the required action and its deadline; a record about a case may raise
its urgency (督办), and every record is itself tracked until it is closed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing import paging
from minqing.errors import Conflict, InvalidInput, NotFound
from minqing.events import make_envelope
from minqing.outbox import add_event
from services.feedback.models import FeedbackCase, Supervision
from services.intake.directory import can_see, visible_communities


def record(session: Session, data: dict, actor: dict, now: datetime) -> Supervision:
    if data["target_type"] == "case":
        case = session.get(FeedbackCase, data["target_id"], with_for_update=True)
        if case is None or case.community != data["community"]:
            raise InvalidInput("no such case in this community", {"target_id": ["unknown case"]})
    elif data["raises_urgency"]:
        raise InvalidInput("only a record about a case raises its urgency", {"raises_urgency": ["cases only"]})
    item = Supervision(id=uuid.uuid4().hex, status="open", recorded_by=actor["id"], recorded_at=now, **data)
    session.add(item)
    if data["target_type"] == "case" and data["raises_urgency"]:
        case.version += 1
        add_event(
            session,
            make_envelope(
                "case.supervised",
                source="feedback",
                community=case.community,
                subject=case.id,
                version=case.version,
                time=now,
                data={
                    "supervision_id": item.id,
                    "kind": item.kind,
                    "finding": item.finding,
                    "due": item.due,
                    "actor": actor,
                },
            ),
        )
    session.flush()
    return item


def get(session: Session, supervision_id: str, scope: dict) -> Supervision:
    item = session.get(Supervision, supervision_id)
    if item is None or not can_see(scope, item.community):
        raise NotFound(f"supervision record {supervision_id!r} not found")
    return item


def close(session: Session, item: Supervision, closure: str, now: datetime) -> Supervision:
    if item.status == "closed":
        raise Conflict("this supervision record is already closed")
    item.status, item.closed_at, item.closure = "closed", now, closure
    return item


def page(session: Session, query: dict, scope: dict, now: datetime) -> dict:
    stmt = select(Supervision).order_by(Supervision.recorded_at.desc(), Supervision.id.desc())
    allowed = visible_communities(scope)
    if allowed is not None:
        stmt = stmt.where(Supervision.community.in_(allowed))
    if scope["role"] == "deputy":  # a deputy follows up their own records, not other supervisors'
        stmt = stmt.where(Supervision.recorded_by == scope["sub"])
    for field in ("community", "kind", "status", "target_type", "target_id"):
        if query.get(field):
            stmt = stmt.where(getattr(Supervision, field) == query[field])
    if query.get("overdue"):
        stmt = stmt.where(Supervision.status == "open", Supervision.due < now)
    if query.get("cursor"):
        when_dt, after = paging.decode(query["cursor"], 2, (datetime.fromisoformat,))
        stmt = stmt.where(
            (Supervision.recorded_at < when_dt) | ((Supervision.recorded_at == when_dt) & (Supervision.id < after))
        )
    rows = list(session.scalars(stmt.limit(query["limit"] + 1)))
    more = len(rows) > query["limit"]
    rows = rows[: query["limit"]]
    cursor = paging.encode(rows[-1].recorded_at.isoformat(), rows[-1].id) if more else None
    return {"items": rows, "next_cursor": cursor}

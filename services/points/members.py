"""Member files (一人一档): who the member is, where they serve, what they can do and when."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minqing import paging
from minqing.errors import Conflict, Forbidden, NotFound
from minqing.vocabulary import STAFF_ROLES
from services.intake.directory import can_see
from services.points.models import Member

STAFF = STAFF_ROLES
EDITABLE = (
    "name",
    "gender",
    "birth_year",
    "phone",
    "user_id",
    "roster_id",
    "branch",
    "unit",
    "status",
    "joined_party",
    "professions",
    "specialties",
    "availability",
    "active",
)


def _search_text(member: Member) -> str:
    # |律师|lawyer| so a specialty matches whole, and a substring search still finds parts of words
    words = [w.strip().lower() for w in (member.professions or []) + (member.specialties or []) if w.strip()]
    return "|" + "|".join(words) + "|" if words else ""


def _set(member: Member, data: dict) -> None:
    for key in EDITABLE:
        if key in data:
            value = data[key]
            setattr(member, key, value.isoformat() if isinstance(value, date) else value)


def register(session: Session, data: dict, now: datetime, member_id: str | None = None) -> Member:
    member = Member(
        id=member_id or uuid.uuid4().hex,
        community=data["community"],
        balance=0,
        active=True,
        registered_at=now,
        updated_at=now,
    )
    _set(member, data)
    member.search_text = _search_text(member)
    session.add(member)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"user {data.get('user_id')!r} already has a member file in {data['community']!r}") from exc
    return member


def update(session: Session, member: Member, changes: dict, now: datetime) -> Member:
    _set(member, changes)
    member.search_text, member.updated_at = _search_text(member), now
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"user {changes.get('user_id')!r} already has a member file in {member.community!r}") from exc
    return member


def get(session: Session, member_id: str, scope: dict, lock: bool = False) -> Member:
    """The member if the caller may see them: staff of the community, or the member themself."""
    query = select(Member).where(Member.id == member_id)
    member = session.scalars(query.with_for_update() if lock else query).first()
    if member is None or not can_see(scope, member.community):
        raise NotFound(f"member {member_id!r} not found")
    if scope["role"] not in STAFF and member.user_id != scope["sub"]:
        raise NotFound(f"member {member_id!r} not found")
    return member


def require_staff(scope: dict) -> None:
    if scope["role"] not in STAFF:
        raise Forbidden("only community staff may do this")


def find(session: Session, community: str, ref: str | None) -> Member | None:
    """The active member a login or roster id (as other services name people) belongs to."""
    if not ref:
        return None
    return session.scalars(
        select(Member)
        .where(Member.community == community, Member.active.is_(True))
        .where(or_(Member.id == ref, Member.user_id == ref, Member.roster_id == ref))
        .order_by(Member.id)
    ).first()


def search(session: Session, query: dict, scope: dict) -> dict:
    """Members of a community, by name; filter by specialty (exact), branch, status, or free text."""
    q = select(Member).where(Member.community == query["community"])
    if not can_see(scope, query["community"]):
        return {"items": [], "next_cursor": None}
    if query.get("specialty"):
        q = q.where(Member.search_text.contains(f"|{query['specialty'].strip().lower()}|", autoescape=True))
    if query.get("q"):
        text = query["q"].strip().lower()
        # autoescape: a % or _ typed by staff is a character to find, not a wildcard
        name = Member.name.contains(query["q"].strip(), autoescape=True)
        q = q.where(or_(name, Member.search_text.contains(text, autoescape=True)))
    for key in ("branch", "status", "unit"):
        if query.get(key):
            q = q.where(getattr(Member, key) == query[key])
    if query.get("active") is not None:
        q = q.where(Member.active.is_(query["active"]))
    if query.get("cursor"):
        name, last_id = paging.decode(query["cursor"], 2)
        q = q.where(or_(Member.name > name, (Member.name == name) & (Member.id > last_id)))
    rows = list(session.scalars(q.order_by(Member.name, Member.id).limit(query["limit"] + 1)))
    return paging.page(rows, query["limit"], lambda m: (m.name, m.id))

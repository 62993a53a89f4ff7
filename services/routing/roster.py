"""The roster: grid teams, resident units, think-tank advisers (per community) and district bureaus."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from minqing import paging
from minqing.errors import Conflict, InvalidInput, NotFound
from services.routing import calendar
from services.routing.models import Adviser, Bureau, CommunitySettings, RosterMember, Rule, Unit
from services.routing.public import new_webhook_secret

KINDS = {"members": RosterMember, "units": Unit, "advisers": Adviser}


def add(session: Session, kind: str, community: str, data: dict):
    model = KINDS[kind]
    if session.get(model, data["id"]) is not None:
        raise Conflict(f"{kind[:-1]} {data['id']!r} already exists")
    row = model(community=community, **data)
    session.add(row)
    session.flush()
    return row


def _get(session: Session, kind: str, community: str, entry_id: str):
    row = session.get(KINDS[kind], entry_id)
    if row is None or row.community != community:
        raise NotFound(f"{kind[:-1]} {entry_id!r} not found")
    return row


def update(session: Session, kind: str, community: str, entry_id: str, changes: dict):
    row = _get(session, kind, community, entry_id)
    for key, value in changes.items():
        setattr(row, key, value)
    session.flush()
    return row


def remove(session: Session, kind: str, community: str, entry_id: str) -> None:
    """Members are deactivated, not deleted: past cases and decisions still name them."""
    row = _get(session, kind, community, entry_id)
    if kind == "members":
        row.active = False
    else:
        session.delete(row)
    session.flush()


def page(session: Session, kind: str, community: str, limit: int, cursor: str | None, specialty: str | None = None):
    model = KINDS[kind]
    query = select(model).where(model.community == community).order_by(model.id).limit(limit + 1)
    if cursor:
        (after,) = paging.decode(cursor, 1)
        query = query.where(model.id > after)
    rows = list(session.scalars(query))
    if specialty and kind == "advisers":
        rows = [r for r in rows if specialty in (r.specialties or [])]
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": paging.encode(rows[-1].id) if more else None}


def add_bureau(session: Session, data: dict) -> Bureau:
    if session.get(Bureau, data["code"]) is not None:
        raise Conflict(f"bureau {data['code']!r} already exists")
    secret = new_webhook_secret() if data.get("webhook_url") else None
    bureau = Bureau(webhook_secret=secret, **data)
    session.add(bureau)
    session.flush()
    return bureau


def replace_rules(session: Session, community: str, rules: list[dict]) -> list[Rule]:
    """A community's rules are replaced as a whole, so an edit never leaves a half-applied set."""
    for rule in rules:
        if rule["handling_type"] == "escalated" and not rule.get("handler_ref"):
            raise InvalidInput("an escalated rule names the bureau", {"rules": ["handler_ref: the bureau code"]})
        if rule["handling_type"] == "escalated" and session.get(Bureau, rule["handler_ref"]) is None:
            raise InvalidInput(f"no bureau {rule['handler_ref']!r}", {"rules": ["handler_ref: unknown bureau"]})
        if not rule.get("category") and not rule.get("keywords"):
            raise InvalidInput("a rule needs a category or keywords", {"rules": ["category or keywords required"]})
    session.execute(delete(Rule).where(Rule.community == community))
    rows = [Rule(community=community, **rule) for rule in rules]
    session.add_all(rows)
    session.flush()
    return rows


def set_limits(session: Session, community: str, limits: dict) -> dict:
    try:
        checked = calendar.Limits.from_dict(limits).to_dict()
    except (ValueError, TypeError) as exc:
        raise InvalidInput(str(exc), {"limits": [str(exc)]}) from None
    row = session.get(CommunitySettings, community) or CommunitySettings(community=community)
    row.limits = checked
    session.add(row)
    return checked

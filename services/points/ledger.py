"""The points ledger: every change of a balance is one appended entry, posted in the same transaction as
the guarded balance update, so the balance is always the entries' sum and can never go below zero."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from minqing import paging
from minqing.errors import Conflict, InvalidInput, NotFound
from services.points import rules
from services.points.models import Award, ExpiryPolicy, Member, PointEntry


def post(
    session: Session,
    member: Member,
    points: int,
    kind: str,
    reason: str,
    actor: str,
    now: datetime,
    *,
    rule_code: str | None = None,
    rule_version: int | None = None,
    source: str | None = None,
    reverses: int | None = None,
) -> PointEntry:
    """Append one entry. A debit succeeds only if the balance covers it: the check and the update are one
    statement, so concurrent debits cannot both pass on the same points."""
    if kind not in rules.ENTRY_KINDS:
        raise ValueError(f"unknown entry kind {kind!r}")
    statement = update(Member).where(Member.id == member.id)
    if points < 0:
        statement = statement.where(Member.balance >= -points)
    row = session.execute(
        statement.values(balance=Member.balance + points).returning(Member.balance),
        execution_options={"synchronize_session": False},
    ).first()
    if row is None:
        raise Conflict(f"member {member.id!r} has fewer than {-points} points")
    entry = PointEntry(
        member_id=member.id,
        community=member.community,
        kind=kind,
        points=points,
        balance_after=row.balance,
        reason=reason,
        rule_code=rule_code,
        rule_version=rule_version,
        source=source,
        actor=actor,
        reverses=reverses,
        created_at=now,
    )
    session.add(entry)
    session.flush()
    # the ORM object did not see the UPDATE; tell it without marking it changed (no second UPDATE)
    set_committed_value(member, "balance", row.balance)
    return entry


def correct(session: Session, member: Member, data: dict, actor: str, now: datetime) -> PointEntry:
    """A correction by an admin: reverse one entry exactly (`reverses`), or adjust by `points`; always with
    a reason and the admin's name, never an edit."""
    reverses, points = data.get("reverses"), data.get("points")
    if (reverses is None) == (points is None):
        raise InvalidInput("give either `reverses` (an entry id) or `points`", {"reverses": ["one of the two"]})
    if reverses is not None:
        original = session.get(PointEntry, reverses)
        if original is None or original.member_id != member.id:
            raise NotFound(f"entry {reverses} not found in this member's ledger")
        if original.kind not in rules.EARNING_KINDS:
            raise Conflict("only awards and corrections are reversed; cancel a redemption to refund it")
        already = session.scalar(select(func.count()).where(PointEntry.reverses == original.id))
        if already:
            raise Conflict(f"entry {reverses} has already been reversed")
        points = -original.points
    entry = post(session, member, points, "correction", data["reason"], actor, now, reverses=reverses, source="admin")
    if reverses is not None:
        # the award behind a reversed entry no longer counts towards caps or the member's file
        session.execute(update(Award).where(Award.entry_id == reverses).values(status="reversed"))
    return entry


def entries_sum(session: Session, member_id: str) -> int:
    return int(
        session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0)).where(PointEntry.member_id == member_id))
    )


def mismatches(session: Session) -> list[dict]:
    """Members whose balance differs from their entries' sum: always empty unless the books were tampered with."""
    sums = (
        select(PointEntry.member_id, func.sum(PointEntry.points).label("total"))
        .group_by(PointEntry.member_id)
        .subquery()
    )
    rows = session.execute(
        select(Member.id, Member.balance, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.member_id == Member.id)
        .where(Member.balance != func.coalesce(sums.c.total, 0))
    )
    return [{"member": m, "balance": b, "entries_sum": int(t)} for m, b, t in rows]


def page(session: Session, member: Member, query: dict) -> dict:
    q = select(PointEntry).where(PointEntry.member_id == member.id)
    if query.get("kind"):
        q = q.where(PointEntry.kind == query["kind"])
    if query.get("cursor"):
        (last,) = paging.decode(query["cursor"], 1, (int,))
        q = q.where(PointEntry.id < last)
    rows = list(session.scalars(q.order_by(PointEntry.id.desc()).limit(query["limit"] + 1)))
    return paging.page(rows, query["limit"], lambda e: (e.id,))


def earned(session: Session, member: Member) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(PointEntry.points), 0)).where(
                PointEntry.member_id == member.id, PointEntry.kind.in_(rules.EARNING_KINDS)
            )
        )
    )


# --- expiry -----------------------------------------------------------------------------------------
def set_policy(session: Session, community: str, years: int | None, actor: str, now: datetime) -> dict:
    policy = session.get(ExpiryPolicy, community)
    if years is None:
        if policy is not None:
            session.delete(policy)
        return {"community": community, "years": None}
    if policy is None:
        policy = ExpiryPolicy(community=community)
        session.add(policy)
    policy.years, policy.changed_by, policy.changed_at = years, actor, now
    session.flush()
    return {"community": community, "years": years, "changed_by": actor, "changed_at": now}


def get_policy(session: Session, community: str) -> dict:
    policy = session.get(ExpiryPolicy, community)
    if policy is None:
        return {"community": community, "years": None}
    return {
        "community": community,
        "years": policy.years,
        "changed_by": policy.changed_by,
        "changed_at": policy.changed_at,
    }


def expire(session: Session, community: str, today: date, now: datetime) -> dict:
    """Lapse what the community's policy says has lapsed; running it again the same day adds nothing."""
    policy = session.get(ExpiryPolicy, community)
    if policy is None:
        return {"community": community, "members": 0, "points": 0}
    cutoff = rules.expiry_cutoff(today, policy.years)
    members = session.scalars(
        select(Member).where(Member.community == community, Member.balance > 0).order_by(Member.id).with_for_update()
    )
    touched = total = 0
    for member in members:
        history = session.execute(
            select(PointEntry.created_at, PointEntry.points, PointEntry.kind, PointEntry.source)
            .where(PointEntry.member_id == member.id)
            .order_by(PointEntry.created_at, PointEntry.id)
        ).all()
        lapsing = rules.expiring([tuple(row) for row in history], cutoff, member.balance)
        if lapsing:
            reason = f"积分有效期{policy.years}年：{cutoff.date().isoformat()}前获得且未使用的积分失效"
            post(session, member, -lapsing, "expiry", reason, "system", now, source=f"expiry:{cutoff.date()}")
            touched, total = touched + 1, total + lapsing
    return {"community": community, "cutoff": cutoff, "members": touched, "points": total}

"""Awards: points for one piece of work under the rule's current version, once, within the caps; held
for staff approval where the rule says so. Activities and other services' events both come through here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minqing import paging
from minqing.errors import Conflict, NotFound
from services.intake.directory import can_see
from services.points import ledger, members, rulebook, rules
from services.points.models import Award, Member, PointRule, PointRuleVersion


def earned_in_windows(session: Session, member_id: str, rule_code: str, when: datetime) -> dict[str, int]:
    """Points already given to the member under this rule in the day, month and year around `when`."""
    out = {}
    for name, (start, end) in rules.cap_windows(when).items():
        out[name] = int(
            session.scalar(
                select(func.coalesce(func.sum(Award.points), 0)).where(
                    Award.member_id == member_id,
                    Award.rule_code == rule_code,
                    Award.status == "awarded",
                    Award.earned_at >= start,
                    Award.earned_at < end,
                )
            )
        )
    return out


def grant(
    session: Session,
    member: Member,
    rule_code: str,
    source: str,
    quantity: float,
    reason: str,
    earned_at: datetime,
    now: datetime,
    actor: str = "system",
    source_event: str | None = None,
) -> Award | None:
    """Award `member` for `source` under the rule's current version; the same source twice is the first
    award again. None if the rule is switched off."""
    existing = _existing(session, member.id, rule_code, source)
    if existing is not None:
        return existing
    rule, version = rulebook.current(session, member.community, rule_code, now)
    if not version.active:
        return None
    # lock the member so two awards at once cannot both fit under the same cap
    session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    std = rulebook.standard(version)
    award = Award(
        community=member.community,
        member_id=member.id,
        rule_code=rule_code,
        rule_version=version.version,
        source=source,
        source_event=source_event,
        quantity=quantity,
        requested=rules.standard_points(std, quantity),
        points=0,
        status="pending",
        reason=reason,
        earned_at=earned_at,
    )
    try:
        with session.begin_nested():
            session.add(award)
            session.flush()
    except IntegrityError:
        return _existing(session, member.id, rule_code, source)  # a concurrent worker granted it first
    if not std.needs_approval:
        _settle(session, member, award, std, actor, now)
    return award


def _existing(session: Session, member_id: str, rule_code: str, source: str) -> Award | None:
    return session.scalars(
        select(Award).where(Award.member_id == member_id, Award.rule_code == rule_code, Award.source == source)
    ).first()


def _settle(session: Session, member: Member, award: Award, std: rules.Standard, actor: str, now: datetime) -> None:
    room = rules.room_under_caps(std, earned_in_windows(session, member.id, award.rule_code, award.earned_at))
    given = rules.within_caps(award.requested, room)
    award.points, award.decided_by, award.decided_at = given, actor, now
    award.status = "awarded" if given > 0 else "capped"
    if given:
        note = award.reason if given == award.requested else f"{award.reason}（封顶，按{given}分计）"
        entry = ledger.post(
            session,
            member,
            given,
            "award",
            note,
            actor,
            now,
            rule_code=award.rule_code,
            rule_version=award.rule_version,
            source=award.source_event or award.source,
        )
        award.entry_id = entry.id


def get(session: Session, award_id: int, scope: dict, lock: bool = False) -> Award:
    query = select(Award).where(Award.id == award_id)
    award = session.scalars(query.with_for_update() if lock else query).first()
    if award is None or not can_see(scope, award.community):
        raise NotFound(f"award {award_id} not found")
    return award


def decide(session: Session, award: Award, approve: bool, actor: str, reason: str | None, now: datetime) -> Award:
    """Staff approve a pending award (caps apply now, by when the work was done) or reject it."""
    if award.status != "pending":
        raise Conflict(f"award {award.id} is {award.status}, not pending")
    member = session.get(Member, award.member_id)
    if not approve:
        award.status, award.decided_by, award.decided_at = "rejected", actor, now
        award.reason = f"{award.reason}（未通过：{reason}）" if reason else award.reason
        return award
    # the terms it was earned under, even if the rule changed while it waited
    version = session.scalars(
        select(PointRuleVersion)
        .join(PointRule, PointRule.id == PointRuleVersion.rule_id)
        .where(
            PointRule.community == award.community,
            PointRule.code == award.rule_code,
            PointRuleVersion.version == award.rule_version,
        )
    ).one()
    session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    _settle(session, member, award, rulebook.standard(version), actor, now)
    return award


def page(session: Session, query: dict, scope: dict) -> dict:
    if not can_see(scope, query["community"]):
        return {"items": [], "next_cursor": None}
    q = select(Award).where(Award.community == query["community"])
    if query.get("status"):
        q = q.where(Award.status == query["status"])
    if query.get("member"):
        q = q.where(Award.member_id == query["member"])
    if scope["role"] not in members.STAFF:  # a member sees their own awards only
        q = q.join(Member, Member.id == Award.member_id).where(Member.user_id == scope["sub"])
    if query.get("cursor"):
        (last,) = paging.decode(query["cursor"], 1, (int,))
        q = q.where(Award.id < last)
    rows = list(session.scalars(q.order_by(Award.id.desc()).limit(query["limit"] + 1)))
    return paging.page(rows, query["limit"], lambda a: (a.id,))


# --- other services' events -------------------------------------------------------------------------
def on_event(session: Session, envelope: dict, now: datetime) -> Award | None:
    """Award for a routing or feedback event if it credits a member of the community; else nothing."""
    data, community, kind = envelope["data"], envelope["community"], envelope["type"]
    if kind == "suggestion.adopted":
        member = members.find(session, community, data.get("proposer_member")) or members.find(
            session, community, data.get("proposer_user")
        )
        source, reason = f"case:{envelope['subject']}", f"建议被采纳：{data['reference']} {data['title']}"
    elif kind == "case.rated":
        if not data["satisfied"]:
            return None
        member = members.find(session, community, data.get("handler_id"))
        source, reason = f"case:{envelope['subject']}", "承办事项获居民满意评价"
    elif kind == "visit.recorded":
        if data["kind"] == "reception":
            return None  # receptions are the office's duty, not a member's outreach
        member = members.find(session, community, data["visitor"])
        source, reason = f"visit:{envelope['subject']}", f"民情走访（{'回访' if data['kind'] == 'return' else '入户'}）"
    else:
        return None
    if member is None:
        return None
    return grant(
        session,
        member,
        rules.EVENT_RULES[kind],
        source,
        1,
        reason,
        envelope["time"],
        now,
        source_event=envelope["id"],
    )

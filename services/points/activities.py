"""Activities: the monthly volunteer service day, night patrols, flood and typhoon duty. Staff publish
them with slots; members sign up or cancel; staff check people in and out; check-out turns the hours into
an award (pending where the rule needs approval); closing an activity records the no-shows."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minqing import paging
from minqing.errors import Conflict, InvalidInput, NotFound
from services.intake.directory import can_see
from services.points import awards, members, rulebook, rules
from services.points.models import Activity, Award, Member, Signup

CHECK_IN_EARLY = timedelta(hours=2)  # people arrive early; earlier than this is a mistake


def publish(session: Session, data: dict, actor: str, now: datetime) -> Activity:
    if data["ends_at"] <= data["starts_at"]:
        raise InvalidInput("an activity ends after it starts", {"ends_at": ["must be after starts_at"]})
    try:
        rulebook.current(session, data["community"], data["rule_code"], now)
    except NotFound:
        unknown = f"no rule {data['rule_code']!r} in {data['community']!r}"
        raise InvalidInput(unknown, {"rule_code": ["unknown rule"]}) from None
    activity = Activity(
        id=uuid.uuid4().hex,
        community=data["community"],
        title=data["title"],
        rule_code=data["rule_code"],
        place=data["place"],
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        slots=data["slots"],
        signed_up=0,
        description=data.get("description"),
        status="published",
        created_by=actor,
        created_at=now,
    )
    session.add(activity)
    session.flush()
    return activity


def get(session: Session, activity_id: str, scope: dict, lock: bool = False) -> Activity:
    query = select(Activity).where(Activity.id == activity_id)
    activity = session.scalars(query.with_for_update() if lock else query).first()
    if activity is None or not can_see(scope, activity.community):
        raise NotFound(f"activity {activity_id!r} not found")
    return activity


def _member_for(session: Session, activity: Activity, member_id: str, scope: dict) -> Member:
    member = members.get(session, member_id, scope, lock=True)
    if member.community != activity.community:
        raise InvalidInput("the member belongs to another community", {"member": ["not in this community"]})
    if not member.active:
        raise Conflict(f"member {member.id!r} is inactive")
    return member


def _signup(session: Session, activity: Activity, member_id: str, lock: bool = True) -> Signup:
    query = select(Signup).where(Signup.activity_id == activity.id, Signup.member_id == member_id)
    found = session.scalars(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFound(f"member {member_id!r} has not signed up for this activity")
    return found


def sign_up(session: Session, activity: Activity, member_id: str, scope: dict, now: datetime) -> Signup:
    """Expects `activity` locked, so the last slot goes to exactly one member."""
    member = _member_for(session, activity, member_id, scope)
    if activity.status != "published" or now >= activity.ends_at:
        raise Conflict(f"activity {activity.id!r} is {activity.status if activity.status != 'published' else 'over'}")
    signup = session.scalars(
        select(Signup).where(Signup.activity_id == activity.id, Signup.member_id == member.id)
    ).first()
    if signup is not None and signup.status != "cancelled":
        return signup  # signing up twice is signing up once
    if activity.signed_up >= activity.slots:
        raise Conflict(f"activity {activity.id!r} is full ({activity.slots} slots)")
    if signup is None:
        signup = Signup(activity_id=activity.id, member_id=member.id)
        session.add(signup)
    signup.status, signup.signed_up_at = "signed_up", now
    activity.signed_up += 1
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict("signed up concurrently; retry") from exc
    return signup


def cancel(session: Session, activity: Activity, member_id: str, scope: dict, now: datetime) -> Signup:
    members.get(session, member_id, scope)
    signup = _signup(session, activity, member_id)
    if signup.status == "cancelled":
        return signup
    if signup.status != "signed_up" or now >= activity.starts_at:
        raise Conflict("a sign-up can be cancelled only before the activity starts and before check-in")
    signup.status = "cancelled"
    activity.signed_up -= 1
    return signup


def check_in(session: Session, activity: Activity, member_id: str, scope: dict, at: datetime) -> Signup:
    members.require_staff(scope)
    signup = _signup(session, activity, member_id)
    if signup.status == "checked_in":
        return signup
    if signup.status != "signed_up":
        raise Conflict(f"sign-up is {signup.status}; only a signed-up member checks in")
    if not activity.starts_at - CHECK_IN_EARLY <= at <= activity.ends_at:
        raise Conflict("check-in is open from two hours before the start until the end")
    signup.status, signup.checked_in_at = "checked_in", at
    return signup


def check_out(session: Session, activity: Activity, member_id: str, scope: dict, at: datetime, now: datetime) -> dict:
    members.require_staff(scope)
    signup = _signup(session, activity, member_id)
    if signup.status == "checked_out":
        return {"signup": signup, "award": _award_of(session, signup)}
    if signup.status != "checked_in":
        raise Conflict(f"sign-up is {signup.status}; check in first")
    if at <= signup.checked_in_at:
        raise InvalidInput("check-out comes after check-in", {"at": ["must be after the check-in"]})
    if at > now or at > activity.ends_at + CHECK_IN_EARLY:
        raise InvalidInput(
            "check-out is not in the future nor more than two hours after the end", {"at": ["out of range"]}
        )
    return {"signup": signup, "award": _finish(session, activity, signup, at, scope["sub"], now)}


def _finish(session: Session, activity: Activity, signup: Signup, at: datetime, actor: str, now: datetime) -> Award:
    signup.status, signup.checked_out_at = "checked_out", at
    signup.hours = rules.hours_between(signup.checked_in_at, at)
    _, version = rulebook.current(session, activity.community, activity.rule_code, now)
    quantity = signup.hours if version.unit == "per_hour" else 1
    member = session.get(Member, signup.member_id)
    reason = f"{activity.title}（{activity.starts_at.astimezone(rules.TZ):%Y-%m-%d}，{signup.hours:g}小时）"
    return awards.grant(
        session, member, activity.rule_code, f"signup:{signup.id}", quantity, reason, signup.checked_in_at, now, actor
    )


def _award_of(session: Session, signup: Signup) -> Award | None:
    return session.scalars(select(Award).where(Award.source == f"signup:{signup.id}")).first()


def close(session: Session, activity: Activity, scope: dict, now: datetime) -> dict:
    """After the end: who never came is a no-show; who never checked out is checked out at the end."""
    members.require_staff(scope)
    if activity.status == "closed":
        return summary(session, activity)
    if activity.status != "published":
        raise Conflict(f"activity {activity.id!r} is {activity.status}")
    if now < activity.ends_at:
        raise Conflict("an activity is closed after it ends")
    signups = list(session.scalars(select(Signup).where(Signup.activity_id == activity.id).with_for_update()))
    # the awards below lock members one by one; take them all first, in id order as expiry does, so the two
    # cannot deadlock
    attended = sorted(s.member_id for s in signups if s.status == "checked_in")
    session.execute(select(Member.id).where(Member.id.in_(attended)).order_by(Member.id).with_for_update())
    for signup in signups:
        if signup.status == "signed_up":
            signup.status = "no_show"
        elif signup.status == "checked_in":
            _finish(session, activity, signup, activity.ends_at, scope["sub"], now)
    activity.status, activity.closed_at = "closed", now
    return summary(session, activity)


def cancel_activity(session: Session, activity: Activity, scope: dict, now: datetime) -> dict:
    members.require_staff(scope)
    if activity.status == "cancelled":
        return summary(session, activity)
    if activity.status != "published" or now >= activity.starts_at:
        raise Conflict("only a published activity that has not started can be cancelled")
    activity.status, activity.closed_at = "cancelled", now
    return summary(session, activity)


def summary(session: Session, activity: Activity, scope: dict | None = None) -> dict:
    """The activity with its sign-ups; a member (not staff) sees only their own sign-up."""
    query = (
        select(Signup, Member.name)
        .join(Member, Member.id == Signup.member_id)
        .where(Signup.activity_id == activity.id)
        .order_by(Signup.id)
    )
    if scope is not None and scope["role"] not in members.STAFF:
        query = query.where(Member.user_id == scope["sub"])
    rows = session.execute(query).all()
    award_of = {
        a.source: a
        for a in session.scalars(select(Award).where(Award.source.in_([f"signup:{s.id}" for s, _ in rows] or ["-"])))
    }
    signups = []
    for signup, name in rows:
        award = award_of.get(f"signup:{signup.id}")
        signups.append(
            {
                "member": signup.member_id,
                "name": name,
                "status": signup.status,
                "signed_up_at": signup.signed_up_at,
                "checked_in_at": signup.checked_in_at,
                "checked_out_at": signup.checked_out_at,
                "hours": signup.hours,
                "award": {"id": award.id, "status": award.status, "points": award.points} if award else None,
            }
        )
    out = {c.name: getattr(activity, c.name) for c in Activity.__table__.c}
    out["signups"] = signups
    out["no_shows"] = sum(1 for s in signups if s["status"] == "no_show")
    return out


def page(session: Session, query: dict, scope: dict) -> dict:
    if not can_see(scope, query["community"]):
        return {"items": [], "next_cursor": None}
    q = select(Activity).where(Activity.community == query["community"])
    if query.get("status"):
        q = q.where(Activity.status == query["status"])
    if query.get("rule_code"):
        q = q.where(Activity.rule_code == query["rule_code"])
    if query.get("cursor"):
        starts_at, last_id = paging.decode(query["cursor"], 2, (datetime.fromisoformat,))
        q = q.where((Activity.starts_at < starts_at) | ((Activity.starts_at == starts_at) & (Activity.id > last_id)))
    rows = list(session.scalars(q.order_by(Activity.starts_at.desc(), Activity.id).limit(query["limit"] + 1)))
    return paging.page(rows, query["limit"], lambda row: (row.starts_at.isoformat(), row.id))

"""The demo year as points saw it: a file for every party-member household head and for the grid leaders
and party instructors on the roster; awards from the year's adopted suggestions, satisfied ratings and
visits (the events routing and feedback produced while loading their own demo years); the monthly
volunteer service days, Friday night patrols and the typhoon season's flood duty, worked through sign-up,
check-in, check-out and approval; a rewards catalogue and a year of redemptions. It runs the live
service's functions at historical times. Idempotent: a community that has member files is left alone."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing.events import load_envelope
from services.intake import demo_content
from services.points import activities, awards, ledger, members, rewards, rules
from services.points.models import Award, Member

STAFF = {"sub": "maxian-admin", "role": "community_admin", "communities": ["*"]}
ROSTER_ROLES = {"grid_leader": ("网格长", "网格管理"), "party_instructor": ("党建指导员", "党建指导")}
SERVICE_THEMES = ("关爱空巢老人", "健康义诊进社区", "环境卫生大扫除", "四点半课堂助学", "政策宣讲")
REWARDS = (
    ("毛巾礼盒", 20, 80),
    ("雨伞", 25, 60),
    ("洗衣液", 30, 100),
    ("图书兑换券", 35, 50),
    ("保温杯", 40, 60),
    ("大米5公斤", 50, 80),
    ("食用油5升", 60, 60),
    ("健康体检套餐", 200, 10),
)


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=rules.TZ)


def _second_saturday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(5 - first.weekday()) % 7 + 7)


def load_members(session: Session, community: str, roster: list[dict], now: datetime) -> list[Member]:
    start = now - timedelta(days=365)
    files = []
    for item in demo_content.party_members(community):
        data = {k: v for k, v in item.items() if k != "id"}
        files.append(members.register(session, data, start, member_id=item["id"]))
    grid_no = {g["code"]: n for n, g in enumerate(demo_content.grids(community), start=1)}
    for person in roster:
        if person["community"] != community or person["role"] not in ROSTER_ROLES:
            continue
        profession, specialty = ROSTER_ROLES[person["role"]]
        data = {
            "community": community,
            "name": person["name"],
            "user_id": person["id"],
            "roster_id": person["id"],
            "branch": f"第{demo_content._NUMERALS[(grid_no.get(person['grid'], 1) - 1) // 3]}党支部",
            "status": "serving",
            "professions": [profession],
            "specialties": [specialty],
            "availability": ["weekdays"],
        }
        files.append(members.register(session, data, start, member_id=f"pm-{person['id']}"))
    return files


def follow_events(session: Session, events: list[dict]) -> int:
    """Award for the year's events in the order they happened, as the live handlers would have."""
    count = 0
    for body in sorted(events, key=lambda e: e["time"]):
        if body["type"] not in rules.EVENT_RULES:
            continue
        envelope = load_envelope(body)
        if awards.on_event(session, envelope, envelope["time"]):
            count += 1
    return count


def _run(session, rng, community, files, title, rule_code, place, starts, ends, slots, signups, now) -> int:
    created = min(starts - timedelta(days=7), now - timedelta(days=2))  # an upcoming one is open already
    activity = activities.publish(
        session,
        {
            "community": community,
            "title": title,
            "rule_code": rule_code,
            "place": place,
            "starts_at": starts,
            "ends_at": ends,
            "slots": slots,
        },
        STAFF["sub"],
        created,
    )
    chosen = rng.sample(files, min(signups, slots, len(files)))
    for n, member in enumerate(chosen):
        activities.sign_up(session, activity, member.id, STAFF, created + timedelta(hours=n + 1))
    if ends + timedelta(hours=1) > now:  # check-outs and the closing come up to an hour after the end
        return 0
    for member in chosen:
        if rng.random() < 0.12:
            continue  # a no-show, recorded when the activity is closed
        arrive = starts + timedelta(minutes=rng.randint(-15, 20))
        activities.check_in(session, activity, member.id, STAFF, arrive)
        leave = ends + timedelta(minutes=rng.randint(-30, 15))
        done = activities.check_out(session, activity, member.id, STAFF, leave, leave)
        approved = ends + timedelta(days=1)
        if done["award"] is not None and done["award"].status == "pending" and approved < now:
            awards.decide(session, done["award"], True, STAFF["sub"], None, approved)
    activities.close(session, activity, STAFF, ends + timedelta(hours=1))
    return 1


def load_activities(session: Session, community: str, files: list[Member], now: datetime) -> int:
    rng = random.Random(f"minqing-demo-activities-{community}")
    local_now = now.astimezone(rules.TZ)
    count = 0
    for back in range(11, -2, -1):  # a year of service days, and next month's already open for sign-up
        month = (local_now.month - 1 - back) % 12 + 1
        year = local_now.year + (local_now.month - 1 - back) // 12
        day = _second_saturday(year, month)
        starts, ends = _local(day, 9), _local(day, 11, 30)
        title = f"{month}月党员志愿服务日：{rng.choice(SERVICE_THEMES)}"
        count += _run(
            session,
            rng,
            community,
            files,
            title,
            "volunteer_service_day",
            "社区党群服务中心",
            starts,
            ends,
            40,
            rng.randint(18, 32),
            now,
        )
    friday = (local_now - timedelta(days=364)).date()
    friday += timedelta(days=(4 - friday.weekday()) % 7)
    while _local(friday, 22) < now:
        patrol = [m for m in files if m.status == "retired" or "治安巡逻" in m.specialties]
        starts = _local(friday, 20)
        count += _run(
            session,
            rng,
            community,
            patrol,
            "夜间平安巡逻",
            "night_patrol",
            "社区警务室集合",
            starts,
            starts + timedelta(hours=2),
            6,
            rng.randint(3, 6),
            now,
        )
        friday += timedelta(days=7)
    for name, offset in (("台风“海葵”", 300), ("台风“杜苏芮”", 330), ("强降雨", 250)):
        day = (local_now - timedelta(days=offset)).date()
        starts = _local(day, 8)
        count += _run(
            session,
            rng,
            community,
            [m for m in files if m.status == "serving"],
            f"防汛抗台值守：{name}",
            "flood_typhoon_duty",
            "闽江沿岸低洼片区",
            starts,
            starts + timedelta(hours=8),
            12,
            10,
            now,
        )
    return count


def load_redemptions(session: Session, community: str, files: list[Member], now: datetime) -> int:
    rng = random.Random(f"minqing-demo-rewards-{community}")
    catalogue = [
        rewards.add(session, {"community": community, "name": n, "price": p, "stock": s}, now - timedelta(days=300))
        for n, p, s in REWARDS
    ]
    count = 0
    for member in sorted(files, key=lambda m: m.id):
        if member.balance < 40 or rng.random() < 0.3:
            continue
        for _ in range(rng.randint(1, 2)):
            affordable = [r for r in catalogue if r.price <= member.balance and r.stock > 0]
            if not affordable:
                break
            at = now - timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 9))
            redemption = rewards.redeem(session, member, rng.choice(affordable), 1, member.user_id or member.id, at)
            fate = rng.random()
            if fate < 0.06:
                rewards.cancel(session, redemption, member.user_id or member.id, "暂不需要", at + timedelta(days=1))
            elif fate < 0.85 and at + timedelta(days=3) < now:
                rewards.pick_up(session, redemption, STAFF["sub"], at + timedelta(days=rng.randint(1, 3)))
            count += 1
    return count


def load(session: Session, roster: list[dict], events: list[dict], now: datetime) -> dict:
    counts = {"members": 0, "awards": 0, "activities": 0, "redemptions": 0}
    fresh = []
    for community in (c["code"] for c in demo_content.communities()):
        if session.scalar(select(Member.id).where(Member.community == community).limit(1)):
            continue
        files = load_members(session, community, roster, now)
        counts["members"] += len(files)
        fresh.append((community, files))
    if not fresh:
        return counts
    counts["awards"] = follow_events(session, [e for e in events if e["community"] in dict(fresh)])
    for community, files in fresh:
        counts["activities"] += load_activities(session, community, files, now)
        counts["redemptions"] += load_redemptions(session, community, files, now)
        ledger.set_policy(session, community, 3, STAFF["sub"], now - timedelta(days=365))
    counts["awards"] = session.query(Award).count()
    return counts

"""The demo year as routing saw it: the roster, bureaus and rules of the pilot, every demo case routed by
those rules and worked through the real workflow functions at historical times (mostly on time, a few
late, some escalated, suggestions adopted or not), and the "4:30 after-school programme" claimed at a
joint meeting by the Youth League district committee and the Education Bureau. Idempotent."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.intake import demo_content
from services.routing import meetings, roster, scanner, workflow
from services.routing.models import Bureau, HotIssue, Meeting, RosterMember, RoutedCase, Rule, Unit

BUREAUS = [
    ("housing", "马尾区住房和城乡建设局"),
    ("education", "马尾区教育局"),
    ("urban", "马尾区城市管理局"),
    ("water", "马尾区水务局"),
    ("civil", "马尾区民政局"),
    ("police", "福州市公安局马尾分局"),
]
OFFICERS = (("party_instructor", "党建指导员"), ("policy_publicist", "政策宣传员"), ("info_officer", "民情信息员"))
RULES = [  # category → handling type (committed days), handler; the rest stays with staff
    {"priority": 10, "keywords": ["建议", "希望增设", "能否"], "handling_type": "suggestion"},
    {
        "priority": 20,
        "category": "property_management",
        "handling_type": "escalated",
        "handler_kind": "bureau",
        "handler_ref": "housing",
    },
    {
        "priority": 20,
        "category": "road",
        "handling_type": "escalated",
        "handler_kind": "bureau",
        "handler_ref": "urban",
    },
    {"priority": 30, "category": "elevator", "handling_type": "committed", "committed_days": 5},
    {"priority": 30, "category": "drainage", "handling_type": "committed", "committed_days": 3},
    {"priority": 30, "category": "greening", "handling_type": "committed", "committed_days": 10},
    {"priority": 30, "category": "parking", "handling_type": "committed", "committed_days": 7},
    {"priority": 40, "category": "water_supply", "handling_type": "immediate"},
    {"priority": 40, "category": "sanitation", "handling_type": "immediate"},
    {"priority": 40, "category": "noise", "handling_type": "immediate"},
    {"priority": 40, "category": "pets", "handling_type": "immediate"},
    {"priority": 40, "category": "policy", "handling_type": "immediate"},
    {"priority": 50, "category": "elderly_care", "handling_type": "supplement"},
    {"priority": 50, "category": "childcare", "handling_type": "suggestion"},
]
SURNAMES, GIVEN = "陈林黄郑王吴刘张李杨", "建国秀英志强丽华海燕晓东春梅明辉玉兰"


def _staff_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))


def load_roster(session: Session) -> None:
    rng = random.Random(20201)
    for code, name in BUREAUS:
        if session.get(Bureau, code) is None:
            session.add(Bureau(code=code, name=name, days=10))
    for community in demo_content.communities():
        code = community["code"]
        for grid in demo_content.grids(code):
            leader_id = f"{grid['code']}-leader"
            if session.get(RosterMember, leader_id) is None:
                session.add(
                    RosterMember(
                        id=leader_id,
                        community=code,
                        grid=grid["code"],
                        name=grid["leader_name"],
                        role="grid_leader",
                        origin="community_staff",
                        active=True,
                    )
                )
                for role, label in OFFICERS:
                    session.add(
                        RosterMember(
                            id=f"{grid['code']}-{role}",
                            community=code,
                            grid=grid["code"],
                            name=_staff_name(rng),
                            role=role,
                            origin=rng.choice(["community_staff", "unit", "retired", "property_company"]),
                            shift=rng.choice(["周一至周三", "周四至周六", "周末及节假日"]),
                            sub_area=f"{grid['name']}{label}责任片区",
                            active=True,
                        )
                    )
        for unit in demo_content.resident_units(code):
            if session.get(Unit, unit["code"]) is None:
                session.add(
                    Unit(
                        id=unit["code"],
                        community=code,
                        name=unit["name"],
                        party_org=unit["party_org"],
                        contact_name=unit["contact_name"],
                        contact_phone=unit["contact_phone"],
                    )
                )
        session.flush()
        if session.scalar(select(Rule.id).where(Rule.community == code)) is None:
            roster.replace_rules(
                session,
                code,
                [
                    {
                        "handler_kind": "grid_leader",
                        "handler_ref": None,
                        "keywords": [],
                        "category": None,
                        "committed_days": None,
                    }
                    | r
                    for r in RULES
                ],
            )
    session.flush()


def _work(session: Session, case: RoutedCase, rng: random.Random, now: datetime) -> None:
    """Carry a routed case through the steps a real handler would take, at plausible times."""
    staff = {"sub": "maxian-admin", "role": "community_admin", "communities": [case.community]}
    t = min(case.registered_at + timedelta(minutes=rng.randint(10, 90)), now)  # nothing after `now`
    if case.status == "registered":  # no rule matched: staff classify by hand
        workflow.classify(session, case, "committed", workflow.actor_of(staff), "人工分类", t, committed_days=5)
    if case.status == "classified":  # the rule found no handler (no building given): staff assign
        kind, ref = ("grid_leader", None) if case.grid else ("member", f"{case.community}-g01-leader")
        handler = workflow.resolve_handler(session, case, kind, ref)
        workflow.assign(session, case, handler, workflow.actor_of(staff), "网格长负责", t)
    if case.status == "escalated":
        bureau = {"sub": f"{case.bureau}-clerk", "role": "bureau_handler", "communities": ["*"], "bureau": case.bureau}
        t += timedelta(hours=rng.randint(2, 20))
        if t > now:
            return
        workflow.bureau_step(session, case, "bureau_accept", bureau, None, t)
        done = t + (case.deadline - t) * rng.uniform(0.3, 0.95)
        if done <= now:
            workflow.bureau_step(
                session, case, "bureau_resolve", bureau, "已办结", done, summary="区直部门已现场处置并答复"
            )
        return
    if case.status != "assigned":
        return
    handler = {"sub": case.handler_id, "role": "grid_member", "communities": [case.community]}
    if t > now:
        return
    workflow.handler_step(session, case, "accept", handler, None, t)
    if t + timedelta(minutes=20) > now:
        return
    workflow.handler_step(session, case, "start", handler, None, t + timedelta(minutes=20))
    if case.handling_type == "supplement":
        t += timedelta(hours=1)
        if t > now:
            return
        workflow.handler_step(session, case, "request_supplement", handler, "请提供相关证明材料", t)
        t += timedelta(days=rng.randint(1, 3))
        if t > now:
            return
        workflow.handler_step(session, case, "supplement_received", handler, "材料已补齐", t)
    late = rng.random() < 0.04
    span = case.deadline - t if case.deadline and case.deadline > t else timedelta(hours=4)
    done = t + span * (rng.uniform(1.1, 1.6) if late else rng.uniform(0.2, 0.9))
    if done > now:
        return  # still being worked: some of these will be overdue when the scanner runs
    outcome = rng.choice(["adopted", "adopted", "not_adopted"]) if case.handling_type == "suggestion" else None
    workflow.handler_step(session, case, "resolve", handler, None, done, summary="已处理并向居民反馈", outcome=outcome)


def load_cases(session: Session, cases: list[dict], now: datetime) -> int:
    known = set(session.scalars(select(RoutedCase.id)))
    fresh = [c for c in cases if c["id"] not in known]
    for item in fresh:
        rng = random.Random(item["reference"])
        t = item["registered_at"] + timedelta(minutes=rng.randint(1, 5))
        envelope = {"subject": item["id"], "community": item["community"], "version": 1, "data": item}
        case = workflow.on_registered(session, envelope, min(t, now))
        if case.category == "childcare" and case.registered_at < now - timedelta(days=40):
            continue  # answered by the joint meeting's project below
        _work(session, case, rng, now)
    return len(fresh)


def load_meeting(session: Session, now: datetime) -> None:
    if session.scalar(select(Meeting.id).where(Meeting.community == "maxian")):
        return
    childcare = list(
        session.scalars(
            select(RoutedCase)
            .where(
                RoutedCase.community == "maxian",
                RoutedCase.category == "childcare",
                RoutedCase.registered_at < now - timedelta(days=40),
            )
            .order_by(RoutedCase.registered_at)
        )
    )
    if not childcare:
        return
    held = childcare[-1].registered_at + timedelta(days=3)
    issue = HotIssue(
        id="demo-hot-childcare",
        community="maxian",
        category="childcare",
        title="四点半课堂：放学后孩子无人看管",
        case_ids=[c.id for c in childcare],
        status="open",
        detected_at=held - timedelta(days=2),
    )
    session.add(issue)
    session.flush()
    actor = {"id": "maxian-admin", "role": "community_admin"}
    meeting = meetings.convene(
        session,
        "maxian",
        {
            "title": "马限社区党建议事会（联席会议）",
            "held_at": held,
            "attending_units": ["maxian-u02", "maxian-u04", "maxian-u06"],
            "agenda": [{"hot_issue": issue.id, "title": "“四点半课堂”：双职工家庭孩子放学后托管"}],
            "minutes": "居民多次反映小学生放学后无人看管。"
            "共青团马尾区委、区教育局表示愿意认领，马尾区第一中心小学提供师资支持。",
            "decisions": ["共青团马尾区委、区教育局认领“四点半课堂”项目", "社区提供活动中心场地"],
        },
        actor,
    )
    item = meetings.meeting_view(session, meeting)["agenda"][0]
    project = meetings.claim(
        session,
        item.id,
        {
            "units": ["maxian-u02", "maxian-u04"],
            "owner": "共青团马尾区委 青少年工作部",
            "title": "四点半课堂",
            "milestones": [
                {"title": "活动中心场地改造", "due": (held + timedelta(days=14)).date()},
                {"title": "首期开班", "due": (held + timedelta(days=30)).date()},
            ],
            "deadline": (held + timedelta(days=35)).date(),
        },
        actor,
        held,
    )
    meetings.complete(
        session, project.id, "“四点半课堂”已在社区活动中心开班，首期招收学生42名", actor, held + timedelta(days=30)
    )


def load(session: Session, intake_cases: list[dict], now: datetime) -> dict:
    load_roster(session)
    count = load_cases(session, intake_cases, now)
    load_meeting(session, now)
    # the year's warnings are part of loading it; afterwards time supervision is the running scanner's job,
    # so a second load adds nothing even when some deadline has passed in between
    overdue = scanner.scan(session, now, batch=10000)["overdue"] if count else 0
    return {"routed": count, "overdue": overdue}


def roster_people(session: Session) -> list[dict]:
    """Who is on the demo roster, for the points demo's member files of grid leaders and instructors."""
    rows = session.scalars(select(RosterMember).order_by(RosterMember.id))
    return [{"id": r.id, "community": r.community, "name": r.name, "role": r.role, "grid": r.grid} for r in rows]

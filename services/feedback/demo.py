"""The demo year as feedback saw it: every resolved demo case answered by one of the six methods and
rated — about 98% satisfied as in the pilot — and a few dissatisfied residents whose cases went back to
their handler, were resolved again and then satisfied. It runs the same functions as the live services
(feedback's answers, routing's reopen and resolve), in-process, at historical times; being history,
the resulting events go straight to the ledger rather than to the broker. Idempotent."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing.events import load_envelope, make_envelope
from minqing.outbox import take_unsent
from minqing.vocabulary import FEEDBACK_METHODS
from services.feedback import answers, votes
from services.feedback.models import FeedbackCase, Poll, Supervision, Visit, Vote
from services.routing import workflow

REPLIES = {
    "in_person": "网格员上门向您反馈：问题已处理完毕，感谢您的反映。",
    "on_site": "社区工作人员在现场向居民说明了处理结果。",
    "online": "您在网络平台反映的问题已办结，处理情况如下，请查收。",
    "hotline_callback": "热线回访：您反映的问题已处理，请问您是否满意？",
    "letter": "书面函复：经核实，您反映的问题已按程序办理完毕。",
    "meeting": "已召集相关居民和单位开会，当面通报办理结果。",
}
STAFF = {"id": "maxian-admin", "role": "community_admin"}


def _follow(session: Session, bodies: list[dict]) -> None:
    for body in bodies:
        envelope = load_envelope(body)
        case = session.get(FeedbackCase, envelope["subject"])
        if case is not None:
            answers.on_routing_event(session, case, envelope)


def _answer_and_rate(
    fb: Session, rt: Session, case: FeedbackCase, rng: random.Random, now: datetime, collected: list[dict]
) -> None:
    t = case.resolved_at + timedelta(hours=rng.randint(2, 30))
    if t > now:
        return
    method = rng.choice(FEEDBACK_METHODS)
    answers.reply(fb, case, {"method": method, "content": REPLIES[method]}, STAFF, t)
    verdict = rng.random()
    rated_at = t + timedelta(hours=rng.randint(1, 48))
    if rated_at > now or verdict > 0.985:
        return  # not rated (yet): closes as "not rated" after the configured days, never as satisfied
    resident = {"id": "demo-resident", "role": "resident"} if rng.random() < 0.6 else STAFF
    if verdict < 0.97 or case.reopen_count:
        answers.rate(fb, case, {"satisfied": True, "score": rng.choice([4, 5, 5, 5])}, resident, rated_at)
        return
    answers.rate(fb, case, {"satisfied": False, "score": 2, "comment": "问题没有彻底解决"}, resident, rated_at)
    # back to routing, as the live consumer of case.reopened does, then worked again
    reopened = {"version": case.version, "data": {"reopen_count": case.reopen_count, "reason": "问题没有彻底解决"}}
    routed = workflow.get_case(rt, case.id)
    reopened_at = min(rated_at + timedelta(minutes=5), now)
    workflow.reopen(rt, routed, reopened, reopened_at)
    done = rated_at + timedelta(days=rng.randint(1, 3))
    _rework(rt, routed, reopened_at, done, now)
    # whatever routing did (reclassified, reassigned, perhaps resolved) goes to the ledger and to feedback
    rt.flush()
    again = take_unsent(rt, "routing")
    collected.extend(again)
    _follow(fb, again)
    if done > now:
        return
    _answer_and_rate(fb, rt, case, rng, now, collected)


def _rework(rt: Session, routed, reopened_at: datetime, done: datetime, now: datetime) -> None:
    """Work a reopened case again, as far as `now`, as whoever has it: the bureau it went back to, or its
    handler (staff assign the grid leader to a case nobody had, one a project answered)."""
    if routed.status == "escalated":
        clerk = {"sub": f"{routed.bureau}-clerk", "role": "bureau_handler", "communities": ["*"]}
        clerk["bureau"] = routed.bureau
        accepted = reopened_at + (done - reopened_at) / 4
        if accepted <= now:
            workflow.bureau_step(rt, routed, "bureau_accept", clerk, None, accepted)
        if done <= now:
            workflow.bureau_step(
                rt, routed, "bureau_resolve", clerk, "重新办理", done, summary="区直部门重新处置并答复"
            )
        return
    assigned = reopened_at + timedelta(hours=1)
    if routed.status == "classified" and assigned <= now:
        kind, ref = ("grid_leader", None) if routed.grid else ("member", f"{routed.community}-g01-leader")
        handler = workflow.resolve_handler(rt, routed, kind, ref)
        workflow.assign(rt, routed, handler, STAFF, "无原承办人，网格长重新办理", assigned)
    if done <= now:
        handler = {"sub": routed.handler_id, "role": "grid_member", "communities": [routed.community]}
        outcome = "adopted" if routed.handling_type == "suggestion" else None
        workflow.handler_step(
            rt, routed, "resolve", handler, "重新办理", done, summary="重新处理后已彻底解决", outcome=outcome
        )


def load(
    fb: Session, rt: Session, intake_cases: list[dict], routing_events: list[dict], now: datetime, collected: list
) -> dict:
    """`collected` receives the routing events of reworked cases, for the ledger."""
    known = set(fb.scalars(select(FeedbackCase.id)))
    fresh = [c for c in intake_cases if c["id"] not in known]
    for item in fresh:
        answers.on_registered(fb, {"subject": item["id"], "community": item["community"], "version": 1, "data": item})
    fb.flush()
    _follow(fb, routing_events)
    fb.flush()
    for case in fb.scalars(select(FeedbackCase).where(FeedbackCase.id.in_([c["id"] for c in fresh]))):
        if case.status == "resolved":
            _answer_and_rate(fb, rt, case, random.Random(case.reference), now, collected)
    return {"answered": len(fresh)}


def load_visits(fb: Session, grid_households: dict[str, list[str]], cases: list[dict], now: datetime) -> int:
    """The visit campaign: 1,600+ home visits across the grids, the reception desk, return visits, and the
    visits that found the demo's home-visit cases."""
    if fb.scalar(select(Visit.id).limit(1)):
        return 0
    rng = random.Random(1600)
    count = 0
    for grid, households in sorted(grid_households.items()):
        share = 1650 * len(households) // max(1, sum(len(h) for h in grid_households.values()))
        for household in rng.sample(households, min(share + 1, len(households))):
            when = now - timedelta(days=rng.randint(1, 330), hours=rng.randint(0, 8))
            fb.add(
                Visit(
                    id=uuid.uuid4().hex,
                    community="maxian",
                    kind="home",
                    grid=grid,
                    household=household,
                    visitor=f"{grid}-{rng.choice(['leader', 'info_officer', 'party_instructor'])}",
                    status="done",
                    planned_for=when,
                    visited_at=when,
                    notes=rng.choice(VISIT_NOTES),
                )
            )
            count += 1
    for item in cases:
        if item["community"] == "maxian" and item["channel"] == "home_visit":
            when = item["registered_at"] - timedelta(minutes=30)
            fb.add(
                Visit(
                    id=uuid.uuid4().hex,
                    community="maxian",
                    kind="home",
                    grid=item["grid"],
                    status="done",
                    visitor=f"{item['grid'] or 'maxian-g01'}-info_officer",
                    planned_for=when,
                    visited_at=when,
                    notes="走访中居民反映问题，已登记",
                    found_case=item["id"],
                )
            )
    for _ in range(180):
        when = now - timedelta(days=rng.randint(1, 360), hours=rng.randint(0, 8))
        fb.add(
            Visit(
                id=uuid.uuid4().hex,
                community="maxian",
                kind="reception",
                status="done",
                visitor="maxian-admin",
                planned_for=when,
                visited_at=when,
                notes=rng.choice(RECEPTION_NOTES),
            )
        )
    for case in fb.scalars(
        select(FeedbackCase).where(FeedbackCase.community == "maxian", FeedbackCase.resolved_at.is_not(None))
    ):
        if rng.random() < 0.3:  # targeted return visits to a sample of the resolved cases
            when = case.resolved_at + timedelta(days=rng.randint(3, 10))
            fb.add(
                Visit(
                    id=uuid.uuid4().hex,
                    community="maxian",
                    kind="return",
                    grid=case.grid,
                    for_case=case.id,
                    status="done" if when < now else "planned",
                    planned_for=when,
                    visited_at=when if when < now else None,
                    visitor=case.handler_id,
                    notes="回访：问题未复发",
                )
            )
    return count


def load_supervision(fb: Session, now: datetime) -> int:
    if fb.scalar(select(Supervision.id).limit(1)):
        return 0
    records = [
        ("individual", {"type": "resident", "name": "居民 林阿姨"}, "grid", "maxian-g03", "反映网格员上门不及时"),
        ("social", {"type": "panel", "name": "业主代表"}, "community", "maxian", "小区停车管理制度公示不到位"),
        ("media", {"type": "media", "name": "马尾融媒体中心"}, "grid", "maxian-g05", "报道：老旧小区电梯维修进度慢"),
        (
            "evaluation",
            {"type": "panel", "name": "年度民主评议小组"},
            "community",
            "maxian",
            "年度评议：满意率98%，建议加强夜间巡查",
        ),
        ("deputies", {"type": "deputy", "name": "区人大代表 陈代表"}, "grid", "maxian-g07", "督促落实加装电梯意愿征集"),
        ("deputies", {"type": "deputy", "name": "区政协委员 王委员"}, "community", "maxian", "建议完善四点半课堂师资"),
    ]
    for index, (kind, who, target_type, target, finding) in enumerate(records):
        recorded = now - timedelta(days=20 * (index + 1))
        closed = index % 2 == 0
        fb.add(
            Supervision(
                id=uuid.uuid4().hex,
                community="maxian",
                kind=kind,
                supervisor=who,
                target_type=target_type,
                target_id=target,
                finding=finding,
                required_action="限期整改并书面回复",
                due=recorded + timedelta(days=15),
                raises_urgency=False,
                status="closed" if closed else "open",
                recorded_by="maxian-admin",
                recorded_at=recorded,
                closed_at=recorded + timedelta(days=10) if closed else None,
                closure="已整改并向监督人书面回复" if closed else None,
            )
        )
    return len(records)


def load_polls(fb: Session, estate_households: list[str], now: datetime) -> int:
    """The pilot's estate without management: a survey (68% wanted professional management), then the
    vote to bring in the new company (over 80%)."""
    if fb.scalar(select(Poll.id).limit(1)) or not estate_households:
        return 0
    rng = random.Random(68)
    for title, question, threshold, yes_share, days_ago in (
        ("引进专业物业管理意愿调查", "船政新村是否需要引进专业物业管理？", "more than 50%", 0.68, 120),
        ("引进新物业公司表决", "是否同意由社区推荐的物业公司入驻船政新村？", "more than 2/3", 0.82, 60),
    ):
        opens = now - timedelta(days=days_ago)
        poll = Poll(
            id=uuid.uuid4().hex,
            community="maxian",
            title=title,
            question=question,
            scope_buildings=sorted({h.rsplit("-", 2)[0] for h in estate_households}),
            eligible=sorted(estate_households),
            threshold=threshold,
            basis="votes_cast",
            quorum="50%",
            opens_at=opens,
            closes_at=opens + timedelta(days=14),
            status="open",
            created_by="maxian-admin",
        )
        fb.add(poll)
        fb.flush()
        voters = rng.sample(estate_households, int(len(estate_households) * 0.9))
        yes = round(len(voters) * yes_share)
        for n, household in enumerate(voters):
            fb.add(
                Vote(
                    poll_id=poll.id,
                    household=household,
                    option="yes" if n < yes else "no",
                    cast_at=opens + timedelta(days=rng.randint(0, 13)),
                    cast_by="maxian-admin",
                )
            )
        fb.flush()
        votes.close(fb, poll, poll.closes_at)
    return 2


VISIT_NOTES = (
    "家中一切正常",
    "独居老人，身体状况良好",
    "反映楼道灯不亮，已现场报修",
    "宣传垃圾分类政策",
    "了解家庭就业情况",
    "登记残疾人服务需求",
    "宣传防台防汛知识",
)
RECEPTION_NOTES = (
    "咨询医保缴费",
    "咨询居住证办理",
    "反映邻里噪音",
    "咨询养老补贴",
    "办理就业登记",
    "咨询四点半课堂报名",
)


def visit_events(fb: Session) -> list[dict]:
    """The demo year's visits as the `visit.recorded` events the live service emits for each visit done
    (the demo writes visits directly), so other services' demo loaders can follow them."""
    done = fb.scalars(select(Visit).where(Visit.status == "done").order_by(Visit.visited_at, Visit.id))
    return [
        make_envelope(
            "visit.recorded",
            source="feedback",
            community=v.community,
            subject=v.id,
            version=1,
            time=v.visited_at,
            data={
                "kind": v.kind,
                "grid": v.grid,
                "household": v.household,
                "visitor": v.visitor or "unknown",
                "found_case": v.found_case,
                "for_case": v.for_case,
            },
        )
        for v in done
    ]

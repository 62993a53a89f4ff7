"""The demo year as feedback saw it: every resolved demo case answered by one of the six methods and
rated — about 98% satisfied as in the pilot — and a few dissatisfied residents whose cases went back to
their handler, were resolved again and then satisfied. It runs the same functions as the live services
(feedback's answers, routing's reopen and resolve), in-process, at historical times; being history,
the resulting events go straight to the ledger rather than to the broker. Idempotent."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing.events import load_envelope
from minqing.outbox import take_unsent
from minqing.vocabulary import FEEDBACK_METHODS
from services.feedback import answers
from services.feedback.models import FeedbackCase
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
    workflow.reopen(rt, routed, reopened, rated_at + timedelta(minutes=5))
    handler = {"sub": routed.handler_id, "role": "grid_member", "communities": [routed.community]}
    done = rated_at + timedelta(days=rng.randint(1, 3))
    if done > now:
        return
    outcome = "adopted" if routed.handling_type == "suggestion" else None
    workflow.handler_step(
        rt, routed, "resolve", handler, "重新办理", done, summary="重新处理后已彻底解决", outcome=outcome
    )
    rt.flush()
    again = take_unsent(rt, "routing")
    collected.extend(again)
    _follow(fb, again)
    _answer_and_rate(fb, rt, case, rng, now, collected)


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

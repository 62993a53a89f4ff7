"""Points end to end on real RabbitMQ and PostgreSQL: member files and search, versioned rules, an
activity from sign-up to approved award, awards from routing's and feedback's events (once, even when an
event is redelivered), redemption that cannot overspend under 50 concurrent requests, corrections, the
annual file as xlsx and as a page, rankings and expiry."""

import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from helpers import Api, case_body, wait_for
from nameko.standalone.events import event_dispatcher
from openpyxl import load_workbook

from minqing import clock
from minqing.db import UnitOfWork, make_engine
from minqing.dlq import list_dead_letters
from minqing.events import make_envelope
from minqing.topology import all_event_handlers
from services.points import ledger
from services.points.rules import TZ as SHANGHAI

LEADER = "maxian-g01-leader"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def member_body(**overrides):
    body = {
        "community": "maxian",
        "name": "林志华",
        "branch": "马限社区第一党支部",
        "status": "retired",
        "professions": ["律师"],
        "specialties": ["法律咨询", "调解"],
        "availability": ["weekends"],
        "phone": "13900002222",
    }
    return body | overrides


@pytest.fixture
def people(directory, token):
    api = directory
    leader = {"id": LEADER, "grid": "maxian-g01", "name": "吴宇涛", "role": "grid_leader"}
    assert api.post("/api/v1/communities/maxian/roster/members", leader).status_code == 201
    return api, Api(api.base, token("community_admin", ["maxian"], sub="maxian-admin"))


def register(admin, **overrides):
    r = admin.post("/api/v1/members", member_body(**overrides))
    assert r.status_code == 201, r.text
    return r.json()


def balance(api, member_id):
    return api.get(f"/api/v1/members/{member_id}/points").json()["balance"]


def test_member_files_are_searchable_by_specialty_and_members_see_only_their_own(people, token):
    api, admin = people
    lawyer = register(admin)
    register(admin, name="陈美玲", professions=["医生"], specialties=["急救"], status="serving", unit="maxian-unit-1")
    self_made = Api(api.base, token("resident", ["maxian"], sub="resident-zhang"))
    claims = self_made.post("/api/v1/members", member_body(name="张建国", roster_id="maxian-g01-leader"))
    assert claims.status_code == 403  # a roster id would route a handler's awards to this file
    mine = self_made.post("/api/v1/members", member_body(name="张建国", user_id="someone-else", specialties=["书法"]))
    assert mine.status_code == 201 and mine.json()["user_id"] == "resident-zhang"  # never someone else's file

    found = admin.get("/api/v1/members", params={"community": "maxian", "specialty": "法律咨询"}).json()
    assert [m["name"] for m in found["items"]] == ["林志华"]
    assert found["items"][0]["phone"] == "13900002222"  # staff see the number
    assert admin.get("/api/v1/members", params={"community": "maxian", "specialty": "法律"}).json()["items"] == []
    assert admin.get("/api/v1/members", params={"community": "maxian", "q": "%"}).json()["items"] == []  # literal
    assert [
        m["name"] for m in admin.get("/api/v1/members", params={"community": "maxian", "q": "急救"}).json()["items"]
    ] == ["陈美玲"]
    first = admin.get("/api/v1/members", params={"community": "maxian", "limit": 2}).json()
    rest = admin.get("/api/v1/members", params={"community": "maxian", "limit": 2, "cursor": first["next_cursor"]})
    assert len(first["items"]) == 2 and first["next_cursor"] and rest.json()["next_cursor"] is None
    names = [m["name"] for m in first["items"] + rest.json()["items"]]
    assert sorted(names) == names and len(set(names)) == 3  # by name, each once
    assert self_made.get(f"/api/v1/members/{mine.json()['id']}").status_code == 200
    assert self_made.get(f"/api/v1/members/{lawyer['id']}").status_code == 404
    assert self_made.get("/api/v1/members", params={"community": "maxian"}).status_code == 403
    # a member edits their own specialties, not their branch
    assert self_made.call("PATCH", f"/api/v1/members/{mine.json()['id']}", json={"specialties": ["水电维修"]}).ok
    denied = self_made.call("PATCH", f"/api/v1/members/{mine.json()['id']}", json={"branch": "别的支部"})
    assert denied.status_code == 403
    outsider = Api(api.base, token("community_admin", ["luoxing"], sub="luoxing-admin"))
    assert outsider.get(f"/api/v1/members/{lawyer['id']}").status_code == 404
    bad = admin.post("/api/v1/members", member_body(status="sometimes", birth_year="1960"))
    assert bad.status_code == 422 and {"status", "birth_year"} <= set(bad.json()["errors"])


def test_rules_are_seeded_and_a_change_is_a_new_version(people):
    _, admin = people
    rules = {r["code"]: r for r in admin.get("/api/v1/point-rules", params={"community": "maxian"}).json()}
    assert set(rules) == {
        "volunteer_service_day",
        "night_patrol",
        "flood_typhoon_duty",
        "suggestion_adopted",
        "case_satisfied",
        "home_visit",
    }
    assert rules["night_patrol"]["unit"] == "per_hour" and rules["night_patrol"]["needs_approval"] is True
    changed = admin.call(
        "PATCH", "/api/v1/point-rules/maxian/suggestion_adopted", json={"points": 8, "expected_version": 1}
    )
    assert changed.status_code == 200 and changed.json()["version"] == 2
    assert [v["points"] for v in changed.json()["history"]] == [5, 8]
    stale = admin.call(
        "PATCH", "/api/v1/point-rules/maxian/suggestion_adopted", json={"points": 9, "expected_version": 1}
    )
    assert stale.status_code == 409
    assert admin.call("PATCH", "/api/v1/point-rules/maxian/suggestion_adopted", json={}).status_code == 422
    created = admin.post(
        "/api/v1/point-rules",
        {"community": "maxian", "code": "think_tank", "name": "智囊团议事", "points": 4, "unit": "per_activity"},
    )
    assert created.status_code == 201 and created.json()["version"] == 1


def test_an_activity_from_sign_up_to_an_approved_award_and_its_no_shows(people, token):
    api, admin = people
    a, b, c = (register(admin, name=n, user_id=f"u-{i}") for i, n in enumerate(("甲", "乙", "丙")))
    start = clock.now() - timedelta(hours=3)
    body = {
        "community": "maxian",
        "title": "马限山小区夜间平安巡逻",
        "rule_code": "night_patrol",
        "place": "社区服务站",
        "starts_at": iso(start),
        "ends_at": iso(start + timedelta(hours=4)),
        "slots": 2,
    }
    activity = admin.post("/api/v1/activities", body).json()
    path = f"/api/v1/activities/{activity['id']}"
    member_a = Api(api.base, token("resident", ["maxian"], sub="u-0"))
    assert member_a.post(f"{path}/signups", {"member": a["id"]}).status_code == 200
    assert member_a.post(f"{path}/signups", {"member": b["id"]}).status_code == 404  # not their file
    assert admin.post(f"{path}/signups", {"member": b["id"]}).status_code == 200
    full = admin.post(f"{path}/signups", {"member": c["id"]})
    assert full.status_code == 409 and "full" in full.json()["detail"]

    assert admin.post(f"{path}/check-ins", {"member": a["id"], "at": iso(start)}).status_code == 200
    out = admin.post(f"{path}/check-outs", {"member": a["id"], "at": iso(start + timedelta(hours=2, minutes=20))})
    row = next(s for s in out.json()["signups"] if s["member"] == a["id"])
    late = admin.post(f"{path}/check-outs", {"member": b["id"], "at": iso(clock.now() + timedelta(hours=1))})
    assert late.status_code == 409  # b has not checked in; a future check-out is refused below
    assert admin.post(f"{path}/check-ins", {"member": b["id"], "at": iso(start)}).status_code == 200
    future = admin.post(f"{path}/check-outs", {"member": b["id"], "at": iso(clock.now() + timedelta(hours=1))})
    assert future.status_code == 422 and "at" in future.json()["errors"]
    # a member sees only their own sign-up, not the others' names and points
    assert [s["member"] for s in member_a.get(path).json()["signups"]] == [a["id"]]
    assert row["hours"] == 2.0 and row["award"]["status"] == "pending"  # the patrol rule needs approval
    assert balance(admin, a["id"]) == 0
    decided = admin.post(f"/api/v1/awards/{row['award']['id']}/decision", {"approve": True})
    assert decided.status_code == 200 and decided.json()["points"] == 4 and decided.json()["rule_version"] == 1
    assert admin.post(f"/api/v1/awards/{row['award']['id']}/decision", {"approve": True}).status_code == 409
    assert balance(admin, a["id"]) == 4

    too_early = admin.post(f"{path}/close", {})
    assert too_early.status_code == 409
    short = admin.post("/api/v1/activities", body | {"ends_at": iso(clock.now() + timedelta(seconds=2))}).json()
    assert admin.post(f"/api/v1/activities/{short['id']}/signups", {"member": c["id"]}).ok
    wait_for(lambda: clock.now() > datetime.fromisoformat(short["ends_at"]), timeout=5)
    closed = admin.post(f"/api/v1/activities/{short['id']}/close", {}).json()
    assert closed["status"] == "closed" and closed["no_shows"] == 1
    assert closed["signups"][0]["status"] == "no_show" and closed["signups"][0]["award"] is None


def _dispatch(amqp_uri, source, envelope):
    event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})(source, envelope["type"], envelope)


def test_points_arrive_from_an_adopted_suggestion_a_satisfied_rating_and_a_visit_once_each(people, token, amqp_uri):
    api, admin = people
    proposer = register(admin, name="郑玉兰", user_id="resident-zheng")
    leader = register(admin, name="吴宇涛", roster_id=LEADER, status="serving")
    resident = Api(api.base, token("resident", ["maxian"], sub="resident-zheng"))
    handler = Api(api.base, token("grid_member", ["maxian"], sub=LEADER))

    # a suggestion the member raised herself, and one staff registered for her at a forum
    mine = resident.post("/api/v1/cases", case_body(channel="online", title="建议增设电动车充电桩")).json()
    forum = api.post(
        "/api/v1/cases",
        case_body(channel="forum", title="建议开设四点半课堂", reporter={"name": "郑玉兰", "member": proposer["id"]}),
    ).json()
    for case in (mine, forum):
        wait_for(lambda case=case: api.get(f"/api/v1/cases/{case['id']}/routing").status_code == 200)
        assert api.post(f"/api/v1/cases/{case['id']}/classify", {"handling_type": "suggestion"}).ok
        assert api.post(f"/api/v1/cases/{case['id']}/assign", {"handler": LEADER}).ok
        done = handler.post(f"/api/v1/cases/{case['id']}/resolve", {"summary": "已采纳", "outcome": "adopted"})
        assert done.status_code == 200, done.text
    wait_for(lambda: balance(admin, proposer["id"]) == 10)
    entries = admin.get(f"/api/v1/members/{proposer['id']}/points").json()["items"]
    assert {e["rule_code"] for e in entries} == {"suggestion_adopted"} and all(e["actor"] == "system" for e in entries)

    # the handler's satisfied rating
    wait_for(lambda: api.get(f"/api/v1/cases/{mine['id']}").json()["status"] == "resolved")
    assert handler.post(f"/api/v1/cases/{mine['id']}/replies", {"method": "online", "content": "已纳入计划"}).ok
    wait_for(lambda: api.get(f"/api/v1/cases/{mine['id']}").json()["status"] == "replied")
    assert resident.post(f"/api/v1/cases/{mine['id']}/rating", {"satisfied": True, "score": 5}).status_code == 201
    wait_for(lambda: balance(admin, leader["id"]) == 3)

    # a home visit by the leader, then the same event delivered twice more and a new id for the same visit
    visit = handler.post("/api/v1/visits", {"community": "maxian", "kind": "reception", "notes": "来访"})
    assert visit.status_code == 201, visit.text
    envelope = make_envelope(
        "visit.recorded",
        source="feedback",
        community="maxian",
        subject=uuid.uuid4().hex,
        version=1,
        data={"kind": "home", "grid": "maxian-g01", "household": "maxian-b01-0502", "visitor": LEADER},
    )
    for body in (envelope, envelope, envelope | {"id": uuid.uuid4().hex}):
        _dispatch(amqp_uri, "feedback", body)
    wait_for(lambda: balance(admin, leader["id"]) == 4)
    awards = admin.get("/api/v1/awards", params={"community": "maxian", "member": leader["id"]}).json()["items"]
    assert sorted(a["rule_code"] for a in awards) == ["case_satisfied", "home_visit"]  # the reception earns nothing
    # every other consumer took the visit events in its stride (the ledger ignores what is not a case)
    time.sleep(1.5)  # a failing handler would have used its retries (0.2 s, 0.4 s) by now
    dead = list_dead_letters(amqp_uri, [name for name, _, _ in all_event_handlers()])
    assert {queue: items for queue, items in dead.items() if items} == {}


def test_caps_cut_awards_and_a_correction_reverses_an_entry(people, amqp_uri):
    _, admin = people
    visitor = register(admin, name="黄海", roster_id="visitor-1")
    assert admin.call("PATCH", "/api/v1/point-rules/maxian/home_visit", json={"points": 4, "cap_day": 10}).ok
    for _ in range(4):
        envelope = make_envelope(
            "visit.recorded",
            source="feedback",
            community="maxian",
            subject=uuid.uuid4().hex,
            version=1,
            data={"kind": "home", "visitor": "visitor-1"},
        )
        _dispatch(amqp_uri, "feedback", envelope)
    wait_for(lambda: len(admin.get("/api/v1/awards", params={"community": "maxian"}).json()["items"]) == 4)
    awards = admin.get("/api/v1/awards", params={"community": "maxian"}).json()["items"]
    assert sorted(a["points"] for a in awards) == [0, 2, 4, 4]  # 10 a day: the third is cut, the fourth capped
    assert sorted(a["status"] for a in awards) == ["awarded", "awarded", "awarded", "capped"]
    assert balance(admin, visitor["id"]) == 10

    entry = admin.get(f"/api/v1/members/{visitor['id']}/points").json()["items"][0]
    fix = admin.post(
        f"/api/v1/members/{visitor['id']}/points/corrections", {"reverses": entry["id"], "reason": "重复登记"}
    )
    assert fix.status_code == 201 and fix.json()["points"] == -entry["points"] and fix.json()["actor"] == "maxian-admin"
    again = admin.post(f"/api/v1/members/{visitor['id']}/points/corrections", {"reverses": entry["id"], "reason": "x"})
    assert again.status_code == 409
    no_reason = admin.post(f"/api/v1/members/{visitor['id']}/points/corrections", {"points": 5})
    assert no_reason.status_code == 422
    assert balance(admin, visitor["id"]) == 10 - entry["points"]
    statuses = [a["status"] for a in admin.get("/api/v1/awards", params={"community": "maxian"}).json()["items"]]
    assert sorted(statuses) == ["awarded", "awarded", "capped", "reversed"]  # the reversed one no longer counts
    too_much = admin.post(f"/api/v1/members/{visitor['id']}/points/corrections", {"points": -100, "reason": "试"})
    assert too_much.status_code == 409  # a balance never goes below zero


def test_redemption_refund_pickup_and_idempotent_replay(people, token):
    api, admin = people
    member = register(admin, user_id="u-li")
    assert admin.post(f"/api/v1/members/{member['id']}/points/corrections", {"points": 30, "reason": "期初"}).ok
    reward = admin.post("/api/v1/rewards", {"community": "maxian", "name": "洗衣液", "price": 12, "stock": 3}).json()
    own = Api(api.base, token("resident", ["maxian"], sub="u-li"))
    key = {"Idempotency-Key": "redeem-1"}
    first = own.post("/api/v1/redemptions", {"member": member["id"], "reward": reward["id"]}, headers=dict(key))
    replay = own.post("/api/v1/redemptions", {"member": member["id"], "reward": reward["id"]}, headers=dict(key))
    assert first.status_code == 201 and replay.json() == first.json() and first.json()["balance"] == 18
    assert balance(admin, member["id"]) == 18
    second = own.post("/api/v1/redemptions", {"member": member["id"], "reward": reward["id"]}).json()
    broke = own.post("/api/v1/redemptions", {"member": member["id"], "reward": reward["id"]})
    assert broke.status_code == 409 and balance(admin, member["id"]) == 6

    cancelled = own.post(f"/api/v1/redemptions/{second['id']}/cancel", {"reason": "不需要了"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert balance(admin, member["id"]) == 18
    assert own.post(f"/api/v1/redemptions/{first.json()['id']}/pickup", {}).status_code == 403
    picked = admin.post(f"/api/v1/redemptions/{first.json()['id']}/pickup", {})
    assert picked.status_code == 200 and picked.json()["picked_up_by"] == "maxian-admin"
    assert own.post(f"/api/v1/redemptions/{first.json()['id']}/cancel", {}).status_code == 409
    stock = {r["id"]: r["stock"] for r in admin.get("/api/v1/rewards", params={"community": "maxian"}).json()}
    assert stock[reward["id"]] == 2
    kinds = [e["kind"] for e in admin.get(f"/api/v1/members/{member['id']}/points").json()["items"]]
    assert kinds == ["refund", "redemption", "redemption", "correction"]


def test_fifty_concurrent_redemptions_take_exactly_what_the_balance_covers(people, points_db):
    _, admin = people
    member = register(admin)
    assert admin.post(f"/api/v1/members/{member['id']}/points/corrections", {"points": 100, "reason": "期初"}).ok
    reward = admin.post("/api/v1/rewards", {"community": "maxian", "name": "雨伞", "price": 10, "stock": 20}).json()

    def redeem(n):
        return admin.post(
            "/api/v1/redemptions",
            {"member": member["id"], "reward": reward["id"]},
            headers={"Idempotency-Key": f"concurrent-{n}"},
        ).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(redeem, range(50)))
    assert statuses.count(201) == 10 and statuses.count(409) == 40, statuses
    assert balance(admin, member["id"]) == 0
    stock = {r["id"]: r["stock"] for r in admin.get("/api/v1/rewards", params={"community": "maxian"}).json()}
    assert stock[reward["id"]] == 10
    uow = UnitOfWork(make_engine(points_db))
    with uow.transaction() as session:
        assert ledger.mismatches(session) == []
        assert ledger.entries_sum(session, member["id"]) == 0
    uow.engine.dispose()


def test_the_ledger_cannot_be_edited_even_in_sql(people, points_db):
    _, admin = people
    member = register(admin)
    assert admin.post(f"/api/v1/members/{member['id']}/points/corrections", {"points": 7, "reason": "期初"}).ok
    conn = psycopg2.connect(points_db)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.Error, match="append-only"):
            cur.execute("UPDATE point_entries SET points = 700")
        conn.rollback()
        with conn.cursor() as cur, pytest.raises(psycopg2.Error, match="append-only"):
            cur.execute("DELETE FROM point_entries")
        conn.rollback()
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.CheckViolation):
            cur.execute("UPDATE members SET balance = -1")
    finally:
        conn.close()


def test_annual_file_as_xlsx_and_page_and_rankings_with_ties(people):
    api, admin = people
    a, b, c = (register(admin, name=n) for n in ("甲", "乙", "丙"))
    for who, pts in ((a, 9), (b, 9), (c, 4)):
        assert admin.post(f"/api/v1/members/{who['id']}/points/corrections", {"points": pts, "reason": "补录"}).ok
    reward = admin.post("/api/v1/rewards", {"community": "maxian", "name": "毛巾", "price": 3, "stock": 5}).json()
    assert admin.post("/api/v1/redemptions", {"member": a["id"], "reward": reward["id"]}).status_code == 201

    year = clock.now().astimezone(SHANGHAI).year  # the year the service counts the points in: Shanghai's, not UTC's
    ranks = admin.get("/api/v1/rankings", params={"community": "maxian", "period": str(year)}).json()["items"]
    # equal points share a rank, listed by name
    assert [(r["rank"], r["name"], r["points"]) for r in ranks] == [(1, "乙", 9), (1, "甲", 9), (3, "丙", 4)]
    bad = admin.get("/api/v1/rankings", params={"community": "maxian", "period": "someday"})
    assert bad.status_code == 422

    file = admin.get(f"/api/v1/members/{a['id']}/file", params={"year": year}).json()
    assert file["earned"] == 9 and file["closing_balance"] == 6 and file["redemptions"][0]["reward"] == "毛巾"
    page = admin.get(f"/api/v1/members/{a['id']}/file", params={"year": year, "format": "html"})
    assert page.headers["Content-Type"].startswith("text/html")
    assert (
        "党员积分档案" in page.text and "马限社区" in page.text and "毛巾" in page.text and "<script" not in page.text
    )
    book = admin.get(f"/api/v1/members/{a['id']}/file", params={"year": year, "format": "xlsx"})
    wb = load_workbook(io.BytesIO(book.content))
    assert wb.sheetnames == ["档案", "积分项目", "活动", "兑换", "积分明细"]
    facts = {row[0]: row[1] for row in wb["档案"].iter_rows(min_row=2, values_only=True)}
    assert facts["姓名"] == "甲" and facts["社区"] == "马限社区" and facts["年末积分"] == 6 and facts["本年兑换"] == 3
    assert [r[1] for r in wb["积分明细"].iter_rows(min_row=2, values_only=True)] == ["更正", "兑换"]


def test_expiry_lapses_old_unspent_points_and_keeps_the_history(people, points_db):
    _, admin = people
    member = register(admin)
    assert admin.post(f"/api/v1/members/{member['id']}/points/corrections", {"points": 20, "reason": "期初"}).ok
    policy = admin.call("PUT", "/api/v1/point-expiry", json={"community": "maxian", "years": 2})
    assert policy.status_code == 200 and policy.json()["years"] == 2
    uow = UnitOfWork(make_engine(points_db))
    today = clock.now().astimezone(SHANGHAI).date()  # the service's day (Shanghai), whatever the machine's time zone
    later = today + timedelta(days=2 * 366 + 1)  # two years on, today's points have lapsed
    with uow.transaction() as session:
        assert ledger.expire(session, "maxian", today, clock.now())["points"] == 0
        assert ledger.expire(session, "maxian", later, clock.now())["points"] == 20
    with uow.transaction() as session:
        assert ledger.expire(session, "maxian", later, clock.now())["points"] == 0  # once
    uow.engine.dispose()
    assert balance(admin, member["id"]) == 0
    kinds = [e["kind"] for e in admin.get(f"/api/v1/members/{member['id']}/points").json()["items"]]
    assert kinds == ["expiry", "correction"]

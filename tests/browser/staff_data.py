"""What the community staff's pages show in the browser tests and screenshots: member files and points, a
supervision record, a hot issue, visits, a poll, an account and a year's holidays, all made through the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from browser_helpers import Api, wait_for

from minqing import clock

# a test schedule (not the State Council's), as tests/integration/test_calendar_loading.py loads it
SCHEDULE_2027 = {
    "notice": "测试用安排",
    "holidays": [
        {"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"},
        {"name": "春节", "from": "2027-02-05", "to": "2027-02-12"},
        {"name": "清明节", "from": "2027-04-03", "to": "2027-04-05"},
        {"name": "劳动节", "from": "2027-05-01", "to": "2027-05-05"},
        {"name": "端午节", "from": "2027-06-09"},
        {"name": "中秋节", "from": "2027-09-15"},
        {"name": "国庆节", "from": "2027-10-01", "to": "2027-10-07"},
    ],
    "workdays": [{"name": "春节", "from": "2027-02-20"}, {"name": "国庆节", "from": "2027-10-09"}],
}


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def points_data(staff: Api) -> dict:
    """Two member files, one approved and one pending patrol award, a reward and a reserved redemption."""
    body = {"community": "maxian", "branch": "马限社区第一党支部", "status": "retired", "phone": "13900002222"}
    lin = staff.post("/api/v1/members", {**body, "name": "林志华", "specialties": ["法律咨询", "调解"]})
    chen = staff.post("/api/v1/members", {**body, "name": "陈美玲", "status": "serving", "specialties": ["急救"]})
    start = clock.now() - timedelta(hours=3)  # the business clock: the suite runs at a fixed instant
    activity = staff.post(
        "/api/v1/activities",
        {
            "community": "maxian",
            "title": "马限山小区夜间平安巡逻",
            "rule_code": "night_patrol",
            "place": "社区服务站",
            "starts_at": iso(start),
            "ends_at": iso(start + timedelta(hours=4)),
            "slots": 5,
        },
    )
    path = f"/api/v1/activities/{activity['id']}"
    awards = []
    for member in (lin, chen):
        staff.post(f"{path}/signups", {"member": member["id"]})
        staff.post(f"{path}/check-ins", {"member": member["id"], "at": iso(start)})
        out = staff.post(f"{path}/check-outs", {"member": member["id"], "at": iso(start + timedelta(hours=2))})
        awards.append(next(s for s in out["signups"] if s["member"] == member["id"])["award"])
    approved = staff.post(f"/api/v1/awards/{awards[0]['id']}/decision", {"approve": True})
    reward = staff.post("/api/v1/rewards", {"community": "maxian", "name": "洗衣液", "price": 2, "stock": 3})
    staff.post("/api/v1/redemptions", {"member": lin["id"], "reward": reward["id"]})
    return {"lin": lin, "earned_at": approved["earned_at"]}


def hot_issue(staff: Api) -> None:
    """Five after-school care requests: intake sees a hot issue in them."""
    for title in (
        "孩子放学后无人看管",
        "希望开办四点半课堂",
        "双职工家庭接孩子难",
        "放学后孩子在小区游荡",
        "建议社区办托管班",
    ):
        staff.post(
            "/api/v1/cases",
            {
                "community": "maxian",
                "channel": "hotline",
                "category": "childcare",
                "title": title,
                "description": title + "，家长下班晚。",
                "reporter": {"name": "王秀英", "phone": "13800001234"},
                "location": {"building": "maxian-b01"},
            },
        )
    wait_for(lambda: staff.get("/api/v1/communities/maxian/hot-issues")["items"])


def visited(staff: Api) -> None:
    """Four households in the first grid, one of them visited."""
    for n in range(1, 5):
        staff.post(
            "/api/v1/communities/maxian/households",
            {"code": f"maxian-b01-1-{n:04d}", "building": "maxian-b01", "unit": "1", "room": f"{n:04d}"},
        )
    staff.post(
        "/api/v1/visits",
        {"community": "maxian", "grid": "maxian-g01", "household": "maxian-b01-1-0001", "notes": "老人身体尚好"},
    )


def poll(staff: Api) -> str:
    """A poll of the first building's four households, two of them voted yes, one no."""
    created = staff.post(
        "/api/v1/polls",
        {
            "community": "maxian",
            "title": "江滨花园1号楼加装电梯",
            "question": "是否同意在1号楼加装电梯？",
            "buildings": ["maxian-b01"],
            "threshold": "at least 2/3",
            "opens_at": "2026-01-01T00:00:00+08:00",
            "closes_at": "2099-01-01T00:00:00+08:00",
        },
    )
    for n, option in ((1, "yes"), (2, "yes"), (3, "no")):
        staff.post(f"/api/v1/polls/{created['id']}/votes", {"household": f"maxian-b01-1-{n:04d}", "option": option})
    return created["id"]


def seed(staff: Api, district_admin: Api) -> dict:
    """Everything above in Maxian (the `maxian` fixture's directory); the ids the pages are opened with."""
    points = points_data(staff)
    staff.post(
        "/api/v1/supervisions",
        {
            "community": "maxian",
            "kind": "deputies",
            "supervisor": {"type": "deputy", "name": "张代表"},
            "target_type": "grid",
            "target_id": "maxian-g01",
            "finding": "第一网格楼道堆物清理不及时",
        },
    )

    hot_issue(staff)
    visited(staff)
    poll_id = poll(staff)
    staff.post(
        "/api/v1/accounts",
        {"username": "zhao.grid", "display_name": "赵网格", "role": "grid_member", "communities": ["maxian"]},
    )
    assert district_admin.call("PUT", "/api/v1/calendar/2027", SCHEDULE_2027).ok

    return {"earned_at": points["earned_at"], "poll": poll_id}

"""`make screenshots`: PNGs of the console's main pages, PC and phone, under docs/screenshots/, taken in
Chromium against a real platform loaded with the demo district. Skipped in `make test` (it only draws)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from browser_helpers import PC, PHONE, ROOT, Api, wait_for
from playwright.sync_api import expect
from staff_data import seed

OUT = ROOT / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    os.environ.get("MINQING_SCREENSHOTS") != "1", reason="draws docs/screenshots/: run `make screenshots`"
)


CALLS = [
    ("hotline", "3号楼电梯故障，老人无法下楼", "江滨花园3号楼电梯停运两天，家里有八十多岁的老人。", "maxian-b03"),
    ("online", "小区路灯不亮", "船政新村北区三盏路灯坏了一周，晚上出行不安全。", "maxian-b01"),
    ("mailbox", "建议增设电动车充电桩", "楼下电动车乱拉电线充电，存在火灾隐患，建议统一建设充电桩。", "maxian-b02"),
    ("home_visit", "独居老人需要助餐服务", "4号楼独居老人行动不便，希望社区提供助餐上门服务。", "maxian-b04"),
    ("deputies_studio", "学校周边交通拥堵", "放学时段校门口车辆乱停，孩子过马路危险。", None),
    ("forum", "希望开设四点半课堂", "双职工家庭孩子放学后无人照看，希望社区开设四点半课堂。", None),
    ("hotline", "楼上漏水影响楼下住户", "2号楼502卫生间漏水，楼下402天花板发霉。", "maxian-b02"),
    ("online", "垃圾分类点异味严重", "1号楼旁垃圾分类点清运不及时，夏天异味严重。", "maxian-b01"),
]


def populate(api, staff) -> list[dict]:
    """A small ledger in every state: registered, routed, resolved and answered, escalated."""
    cases = []
    for channel, title, description, building in CALLS:
        body = {"community": "maxian", "channel": channel, "title": title, "description": description,
                "reporter": {"name": "王秀英", "phone": "13800001234"}}
        if building:
            body["location"] = {"building": building}
        cases.append(api.post("/api/v1/cases", body, token=staff))

    def step(case, action, **body):
        version = wait_for(lambda: api.call("GET", f"/api/v1/cases/{case['id']}/routing")).json()["version"]
        api.post(f"/api/v1/cases/{case['id']}/{action}", {**body, "version": version})

    kinds = ("immediate", "committed", "suggestion", "immediate", "escalated", "committed")
    for case, kind in zip(cases[:6], kinds, strict=True):
        if kind == "escalated":
            step(case, "escalate", bureau="housing", reason="属区住建局职责")
            continue
        step(case, "classify", handling_type=kind)
        step(case, "assign", handler="wang-xm", handler_kind="member", reason="网格长负责")
    for case in cases[:2]:
        step(case, "accept")
        step(case, "start")
        step(case, "resolve", summary="已联系物业维修完毕")
        wait_for(lambda c=case: api.get(f"/api/v1/cases/{c['id']}")["status"] == "resolved")
        api.post(f"/api/v1/cases/{case['id']}/replies", {"method": "in_person", "content": "已上门告知处理结果。"})
    wait_for(lambda: api.get(f"/api/v1/cases/{cases[1]['id']}")["status"] == "replied")
    api.post(f"/api/v1/cases/{cases[0]['id']}/rating", {"satisfied": True, "score": 5}, token=staff)
    return cases


def shoot(page, name: str, wait_for_text: str | None = None) -> Path:
    if wait_for_text:
        expect(page.get_by_text(wait_for_text).first).to_be_visible()
    # animations (charts grow in, dialogs fade) settle before the picture; a plain sleep, since Playwright's
    # own timed waits (networkidle, wait_for_timeout) never return inside the eventlet-patched process
    time.sleep(1)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def test_screenshots_of_the_main_pages(open_page, browser, gateway, maxian, token):
    base = gateway
    admin = maxian
    staff = token("community_admin", ["maxian"], sub="maxian-admin")
    cases = populate(admin, staff)

    login = browser.new_page(viewport=PC, locale="zh-CN")
    login.goto(base + "/login")
    shoot(login, "pc-login", "工作人员登录")
    login.close()
    phone_login = browser.new_page(viewport=PHONE, locale="zh-CN")
    phone_login.goto(base + "/login")
    shoot(phone_login, "phone-login", "居民验证码登录")
    phone_login.close()

    page = open_page(staff, "/workbench")
    shoot(page, "pc-workbench", "今日新增")
    page.goto(base + "/ledger")
    shoot(page, "pc-ledger", "已全部加载")
    page.goto(base + "/register")
    page.locator("input[name=title]").fill("3号楼电梯故障，老人无法下楼")
    page.locator("textarea[name=description]").fill("江滨花园3号楼电梯停运两天，老人无法下楼")
    page.locator("input[name=reporter_name]").fill("王秀英")
    page.locator("input[name=reporter_phone]").fill("13800001234")
    page.get_by_role("button", name="查重").click()
    shoot(page, "pc-register", "可能重复")
    rich = admin.get(f"/api/v1/cases/{cases[1]['id']}")
    page.goto(base + f"/cases/{rich['id']}")
    shoot(page, "pc-case", "办理过程")
    page.goto(base + f"/cases/{cases[3]['id']}")
    page.locator("[data-action=resolve]").click()
    shoot(page, "pc-case-action", "办理结果")
    page.goto(base + f"/cases/{cases[0]['id']}")
    month = rich["registered_at"][:7]
    page.goto(base + f"/stats?period={month}")
    page.locator(".chart canvas").first.wait_for()
    shoot(page, "pc-stats", "响应率")

    district = open_page(token("district_admin", ["*"], sub="admin"), "/district")
    district.locator("canvas").first.wait_for()
    shoot(district, "pc-district", "红黑榜（按满意率）")
    bureau = open_page(token("bureau_handler", ["*"], sub="housing-handler", bureau="housing"), "/bureau")
    shoot(bureau, "pc-bureau", "待签收")

    # a resident on a phone, with a case of their own answered by the community
    resident = token("resident", ["maxian"], sub="resident-13800001234")
    body = {
        "community": "maxian",
        "channel": "online",
        "title": "小区北门井盖松动",
        "description": "北门进来右手边的井盖踩上去会晃，怕孩子踩空。",
        "location": {"address": "船政新村北门"},
    }
    mine = admin.post("/api/v1/cases", body, token=resident)
    version = lambda: wait_for(lambda: admin.call("GET", f"/api/v1/cases/{mine['id']}/routing")).json()["version"]  # noqa: E731
    state = wait_for(lambda: admin.call("GET", f"/api/v1/cases/{mine['id']}/routing")).json()
    if "classify" in state["allowed_actions"]:
        admin.post(f"/api/v1/cases/{mine['id']}/classify", {"handling_type": "immediate", "version": version()})
        assign = {"handler": "wang-xm", "handler_kind": "member", "version": version()}
        admin.post(f"/api/v1/cases/{mine['id']}/assign", assign)
    wait_for(lambda: "resolve" in admin.get(f"/api/v1/cases/{mine['id']}/routing")["allowed_actions"])
    admin.post(f"/api/v1/cases/{mine['id']}/resolve", {"summary": "井盖已加固", "version": version()})
    wait_for(lambda: admin.get(f"/api/v1/cases/{mine['id']}")["status"] == "resolved")
    reply = {"method": "online", "content": "井盖已经加固好了，感谢您的反映。"}
    admin.post(f"/api/v1/cases/{mine['id']}/replies", reply)
    wait_for(lambda: admin.get(f"/api/v1/cases/{mine['id']}")["status"] == "replied")

    phone = open_page(resident, "/me/raise", viewport=PHONE)
    shoot(phone, "phone-raise", "我要反映")
    phone.goto(base + "/me/cases")
    shoot(phone, "phone-my-cases", "小区北门井盖松动")
    phone.goto(base + f"/me/cases?open={mine['id']}")
    shoot(phone, "phone-rate", "对处理结果满意吗？")
    grid = open_page(token("grid_member", ["maxian"], sub="wang-xm"), "/ledger", viewport=PHONE)
    shoot(grid, "phone-grid-ledger", "民情台账")
    assert len(list(OUT.glob("*.png"))) >= 10


def test_screenshots_of_the_staff_pages(open_page, gateway, maxian, token):
    """The community staff's points, supervision, meetings, visits, polls and settings pages (run alone with
    `-k staff_pages` to redraw only these)."""
    staff = Api(gateway, token("community_admin", ["maxian"], sub="maxian-admin"))
    seeded = seed(staff, maxian)
    staff.post("/api/v1/communities/maxian/roster/units", {"id": "maxian-league", "name": "共青团马尾区委"})
    issue = staff.get("/api/v1/communities/maxian/hot-issues")["items"][0]
    meeting = staff.post(
        "/api/v1/communities/maxian/meetings",
        {
            "title": "社区党建联席会议",
            "held_at": "2026-11-20T15:00:00+08:00",
            "attending_units": ["maxian-league"],
            "agenda": [{"hot_issue": issue["id"], "title": "“四点半课堂”：双职工家庭孩子放学后托管"}],
            "decisions": ["由共青团马尾区委认领四点半课堂项目"],
        },
    )

    page = open_page(staff.token, "/points")
    shoot(page, "pc-points", "林志华")
    page.goto(gateway + "/supervision")
    shoot(page, "pc-supervision", "张代表（代表委员）")
    page.evaluate("id => localStorage.setItem('minqing.meetings.maxian', JSON.stringify([id]))", meeting["id"])
    page.goto(gateway + "/meetings")
    shoot(page, "pc-meetings", "社区党建联席会议")
    page.goto(gateway + "/visits")
    shoot(page, "pc-visits", "老人身体尚好")
    page.goto(gateway + f"/polls?poll={seeded['poll']}")
    shoot(page, "pc-polls", "目前通过")
    page.goto(gateway + "/settings")
    shoot(page, "pc-settings", "赵网格")

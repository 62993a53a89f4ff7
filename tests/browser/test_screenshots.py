"""`make screenshots`: PNGs of the console's main pages, PC and phone, under docs/screenshots/, taken in
Chromium against a real platform loaded with the demo district. Skipped in `make test` (it only draws)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
from conftest import PC, PHONE, ROOT, Api, wait_for
from playwright.sync_api import expect

OUT = ROOT / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    os.environ.get("MINQING_SCREENSHOTS") != "1", reason="draws docs/screenshots/: run `make screenshots`"
)


@pytest.fixture
def seeded(databases, monkeypatch):
    """The demo district (692 Maxian cases …) loaded into fresh databases before any service starts, as
    `minqing run` does (a live routing would otherwise route the demo cases while they are being loaded)."""
    from minqing import cli

    urls = {name: databases.create(name) for name in ("intake", "routing", "feedback", "points")}
    for name, url in urls.items():
        monkeypatch.setenv(f"MINQING_{name.upper()}_DB_URL", url)
    cli.cmd_seed_demo(argparse.Namespace(quiet=True))
    return urls


@pytest.fixture
def intake_db(seeded):
    return seeded["intake"]


@pytest.fixture
def routing_db(seeded):
    return seeded["routing"]


@pytest.fixture
def points_db(seeded):
    return seeded["points"]


@pytest.fixture
def feedback(run_container, amqp_uri, seeded, make_config):
    from services.feedback.service import FeedbackService

    return run_container(FeedbackService, make_config("feedback", amqp_uri, DB_URL=seeded["feedback"]))


@pytest.fixture
def demo(gateway):
    return gateway


def shoot(page, name: str, wait_for_text: str | None = None) -> Path:
    if wait_for_text:
        expect(page.get_by_text(wait_for_text).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # animations (charts grow in, dialogs fade) settle before the picture
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def test_screenshots_of_the_main_pages(open_page, browser, demo, token):
    base = demo
    admin = Api(base, token("district_admin", ["*"], sub="admin"))
    staff = token("community_admin", ["maxian"], sub="maxian-admin")

    login = browser.new_page(viewport=PC, locale="zh-CN")
    login.goto(base + "/login")
    shoot(login, "pc-login", "工作人员登录")
    login.close()

    page = open_page(staff, "/workbench")
    shoot(page, "pc-workbench", "今日新增")
    page.goto(base + "/ledger")
    shoot(page, "pc-ledger", "加载更多")
    page.goto(base + "/register")
    page.locator("input[name=title]").fill("3号楼电梯故障，老人无法下楼")
    page.locator("textarea[name=description]").fill("江滨花园3号楼电梯停运两天，老人无法下楼")
    page.locator("input[name=reporter_name]").fill("王秀英")
    page.locator("input[name=reporter_phone]").fill("13800001234")
    page.get_by_role("button", name="查重").click()
    shoot(page, "pc-register", "可能重复")
    reopened = admin.get("/api/v1/cases", params={"community": "maxian", "status": "closed", "limit": 200})["items"]
    rich = max(reopened, key=lambda c: (c["reopen_count"], c["supervision_level"]))
    page.goto(base + f"/cases/{rich['id']}")
    shoot(page, "pc-case", "办理过程")
    open_case = admin.get("/api/v1/cases", params={"community": "maxian", "overdue": "true", "limit": 50})["items"]
    if open_case:
        page.goto(base + f"/cases/{open_case[0]['id']}")
        shoot(page, "pc-case-overdue", "办理过程")
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
        assign = {"handler": "maxian-g01-leader", "handler_kind": "grid_leader", "version": version()}
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
    grid = open_page(token("grid_member", ["maxian"], sub="maxian-g01-leader"), "/ledger", viewport=PHONE)
    shoot(grid, "phone-grid-ledger", "加载更多")
    assert len(list(OUT.glob("*.png"))) >= 10

"""What the console's users do, in Chinese, in Chromium against the real platform (issue 14)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

from browser_helpers import PHONE, pick, sign_in_with_code, sign_in_with_password, wait_for
from playwright.sync_api import expect


def routing_version(api, case_id):
    # routing learns of a new case from intake's event: wait until it has it
    found = wait_for(lambda: api.call("GET", f"/api/v1/cases/{case_id}/routing"))
    return found.json()["version"]


def act(api, case_id, action, **body):
    api.post(f"/api/v1/cases/{case_id}/{action}", {**body, "version": routing_version(api, case_id)})


def shanghai_month(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m")


def ledger_status(api, case_id, status):
    return wait_for(lambda: api.get(f"/api/v1/cases/{case_id}")["status"] == status)


def test_staff_registers_a_call_finds_it_in_the_ledger_works_it_to_resolved_and_replies(open_page, maxian):
    account = {"username": "li.admin", "display_name": "李主任", "role": "community_admin", "communities": ["maxian"]}
    maxian.post("/api/v1/accounts", {**account, "password": "correct horse battery"})
    page = open_page(None, "/login", expected_errors=("status of 401",))
    sign_in_with_password(page, "li.admin", "wrong password")
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码错误")
    sign_in_with_password(page, "li.admin", "correct horse battery")
    expect(page).to_have_url(re.compile("/workbench$"))
    expect(page.locator(".top")).to_contain_text("李主任")
    expect(page.locator(".side")).to_contain_text("民情台账")
    page.locator(".side").get_by_text("登记诉求").click()

    # 登记诉求: a hotline call, the building picked from the directory by name
    page.get_by_role("radio", name="服务热线").check(force=True)
    page.locator("input[name=title]").fill("江滨花园2号楼楼道灯不亮")
    page.locator("textarea[name=description]").fill("2号楼3单元楼道灯坏了一个星期，晚上老人上下楼看不见。")
    page.get_by_role("combobox", name="楼栋", exact=True).fill("2号楼")
    page.locator(".el-select-dropdown__item:visible", has_text="江滨花园2号楼").click()
    page.locator("input[name=reporter_name]").fill("陈阿姨")
    page.locator("input[name=reporter_phone]").fill("13800001234")
    page.get_by_role("button", name=re.compile("^(登记|仍然登记)$")).click()
    expect(page.get_by_text("登记成功")).to_be_visible()
    reference = page.locator(".el-card .ref").first.inner_text()
    assert re.fullmatch(r"MX-\d{4}-\d{6}", reference)

    # 民情台账: found by its reference, first column
    page.goto(page.url.split("/register")[0] + "/ledger")
    page.get_by_label("关键词", exact=True).fill(reference)
    page.get_by_role("button", name="查询").click()
    row = page.locator(".ledger .el-table__body tr", has_text=reference)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("服务热线")
    expect(row).to_contain_text("已登记")
    row.get_by_role("link", name=reference).click()

    # 诉求详情: the buttons are routing's allowed actions; each opens its small form
    expect(page.locator(".head .ref")).to_have_text(reference)
    expect(page.locator("[data-action]")).to_have_count(2)  # classify, escalate
    page.locator("[data-action=classify]").click()
    pick(page, "办理类型", "承诺件")
    page.get_by_role("button", name="确定").click()
    expect(page.locator(".head")).to_contain_text("承诺件")
    expect(page.locator(".head")).to_contain_text("个工作日")

    page.locator("[data-action=assign]").click()
    pick(page, "承办人", "王晓明")
    page.locator(".el-dialog textarea[name=reason]").fill("第一网格网格长负责")
    page.get_by_role("button", name="确定").click()
    expect(page.locator(".head")).to_contain_text("王晓明")

    for action in ("accept", "start"):
        page.locator(f"[data-action={action}]").click()
        page.get_by_role("button", name="确定").click()
    expect(page.locator(".head")).to_contain_text("办理中")

    page.locator("[data-action=resolve]").click()
    page.get_by_role("button", name="确定").click()  # without the required summary: the form says so
    expect(page.locator(".el-dialog")).to_contain_text("必填")
    page.locator(".el-dialog textarea[name=summary]").fill("已更换楼道灯，物业每周巡查")
    page.get_by_role("button", name="确定").click()
    expect(page.locator(".head")).to_contain_text("已办结")
    expect(page.locator("[data-action]")).to_have_count(0)

    # reply by one of the six methods
    page.get_by_role("radio", name="上门答复").check(force=True)
    page.locator("textarea[name=reply]").fill("陈阿姨您好，楼道灯已经换好了。")
    page.get_by_role("button", name="发送答复").click()
    expect(page.locator(".head")).to_contain_text("已答复")
    expect(page.get_by_text("陈阿姨您好，楼道灯已经换好了。").first).to_be_visible()
    timeline = page.locator(".el-timeline")
    for step in ("登记", "分类", "派单", "接单", "开始办理", "办结", "答复"):
        expect(timeline).to_contain_text(step)

    # a reload on a deep link is served the console (history mode), still signed in
    page.reload()
    expect(page.locator(".head .ref")).to_have_text(reference)


def test_a_resident_on_a_phone_raises_a_request_sees_the_reply_and_rates_it(open_page, maxian, accounts):
    page = open_page(None, "/login?community=maxian", viewport=PHONE)
    sign_in_with_code(page, Path(accounts.config["SMS_LOG"]), "13800001234")
    expect(page).to_have_url(re.compile("/me/raise$"))
    expect(page.locator(".tabbar")).to_be_visible()
    expect(page.locator(".side")).to_have_count(0)
    expect(page.locator(".tabbar")).to_contain_text("我的诉求")

    page.locator("input[name=title]").fill("小区门口井盖松动")
    page.locator("textarea[name=description]").fill("北门进来右手边的井盖踩上去会晃，怕孩子踩空。")
    page.get_by_role("button", name="提交").click()
    expect(page).to_have_url(re.compile("/me/cases"))
    expect(page.get_by_text("小区门口井盖松动")).to_be_visible()
    case_id = page.url.split("open=")[1]

    # the community works it and replies (over the API: this test is about the resident's side)
    api = maxian
    act(api, case_id, "classify", handling_type="immediate")
    act(api, case_id, "assign", handler="wang-xm", handler_kind="member")
    act(api, case_id, "resolve", summary="井盖已加固")
    wait_for(lambda: api.get(f"/api/v1/cases/{case_id}")["status"] == "resolved")
    api.post(f"/api/v1/cases/{case_id}/replies", {"method": "online", "content": "井盖已经加固好了，感谢您的反映。"})
    ledger_status(api, case_id, "replied")

    page.reload()
    expect(page.get_by_text("井盖已经加固好了，感谢您的反映。", exact=True)).to_be_visible()
    expect(page.locator(".reply").first).to_contain_text("网络平台")
    page.get_by_role("radio", name=re.compile("满意$")).first.check(force=True)
    page.locator("textarea[name=comment]").fill("很及时")
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_text("感谢您的评价")).to_be_visible()
    rated = wait_for(lambda: api.get(f"/api/v1/cases/{case_id}")["satisfied"] is True)
    assert rated
    expect(page.locator(".rate")).to_have_count(0)
    assert page.viewport_size["width"] == 375
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # nothing wider than the phone


def test_the_stats_page_draws_the_rates_with_the_api_numbers_on_hover(open_page, maxian, token):
    api = maxian
    staff = token("community_admin", ["maxian"], sub="li-admin")
    ids = []
    for n, channel in enumerate(("hotline", "hotline", "online")):
        body = {
            "community": "maxian",
            "channel": channel,
            "title": f"统计测试诉求{n}",
            "description": "用于统计页面的测试诉求",
            "location": {"building": "maxian-b01"},
        }
        ids.append(api.post("/api/v1/cases", body, token=staff)["id"])
    act(api, ids[0], "classify", handling_type="immediate")
    act(api, ids[0], "assign", handler="wang-xm", handler_kind="member")
    act(api, ids[0], "resolve", summary="已处理")
    ledger_status(api, ids[0], "resolved")
    registered = api.get(f"/api/v1/cases/{ids[0]}")["registered_at"]
    month = shanghai_month(registered)  # the month the cases were registered in, not today's
    query = {"community": "maxian", "period": month, "group_by": "channel"}

    def counted():
        s = api.get("/api/v1/stats", params=query)
        done = s["overall"]["cases"] == 3 and s["overall"]["resolution_rate"]["numerator"] == 1
        return done and s

    stats = wait_for(counted)

    page = open_page(staff, f"/stats?period={month}")
    page.get_by_role("radio", name="按渠道").check(force=True)
    table = page.locator(".rates")
    for group in stats["groups"]:
        label = {"hotline": "服务热线", "online": "网络平台"}[group["group"]]
        row = table.locator("tr", has_text=label)
        expect(row).to_contain_text(str(group["cases"]))
        r = group["resolution_rate"]
        expect(row).to_contain_text(f"{r['numerator']}/{r['denominator']}")
    canvas = page.locator(".chart canvas").first
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    # hover the first bar group: the tooltip shows each rate with its numerator and denominator
    page.mouse.move(box["x"] + 48 + (box["width"] - 64) / (2 * len(stats["groups"])), box["y"] + box["height"] / 2)
    first = stats["groups"][0]
    tip = page.locator("div", has_text=re.compile("办结率：")).last
    expect(tip).to_contain_text(f"（{first['resolution_rate']['numerator']}/{first['resolution_rate']['denominator']}）")


def test_a_bureau_handler_accepts_a_case_escalated_to_their_bureau(open_page, maxian, token):
    api = maxian
    staff = token("community_admin", ["maxian"], sub="li-admin")
    body = {
        "community": "maxian",
        "channel": "mailbox",
        "title": "小区外墙脱落需要住建部门处理",
        "description": "5号楼外墙瓷砖脱落，砸坏了楼下的车棚。",
    }
    case = api.post("/api/v1/cases", body, token=staff)
    act(api, case["id"], "escalate", bureau="housing", reason="外墙安全属住建部门职责")
    ledger_status(api, case["id"], "escalated")

    bureau = token("bureau_handler", ["maxian"], sub="zhang-housing", bureau="housing")
    page = open_page(bureau, "/")
    expect(page).to_have_url(re.compile("/bureau$"))
    expect(page.get_by_role("tab", name=re.compile("待签收（1）"))).to_be_visible()
    page.get_by_role("link", name=case["reference"]).click()
    expect(page.locator("[data-action]")).to_have_count(3)
    page.locator("[data-action=bureau_return]").click()
    page.get_by_role("button", name="确定").click()
    expect(page.locator(".el-dialog")).to_contain_text("必填")  # a return needs its reason
    page.get_by_role("button", name="取消").click()
    page.locator("[data-action=bureau_accept]").click()
    page.get_by_role("button", name="确定").click()
    expect(page.locator(".head")).to_contain_text("部门已签收")
    assert api.get(f"/api/v1/cases/{case['id']}/routing")["status"] == "bureau_accepted"

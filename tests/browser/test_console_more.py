"""The community staff's other pages (issue 14): each opened by a community admin, showing the platform's data."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from browser_helpers import Api
from playwright.sync_api import expect
from staff_data import seed


def test_community_admin_opens_every_staff_page_and_each_shows_the_platforms_data(open_page, maxian, token):
    staff = Api(maxian.base, token("community_admin", ["maxian"], sub="maxian-admin"))
    seeded = seed(staff, maxian)

    page = open_page(staff.token, "/points")
    # 党员积分: member files, searched by specialty; a member's ledger; the pending award; rewards; rankings
    members = page.locator(".members .el-table__body tr")
    expect(members).to_have_count(2)
    page.get_by_label("特长", exact=True).fill("调解")
    page.get_by_role("button", name="查询").first.click()
    expect(members).to_have_count(1)
    expect(members.first).to_contain_text("林志华")
    expect(members.first).to_contain_text("退休党员")
    members.first.get_by_role("button", name="积分明细").click()
    expect(page.locator(".points-ledger .el-table__body tr", has_text="积分奖励")).to_have_count(1)
    expect(page.locator(".points-ledger .el-table__body tr", has_text="兑换扣减")).to_have_count(1)
    page.keyboard.press("Escape")
    page.get_by_role("tab", name="待审核（1）").click()
    expect(page.locator(".pending .el-table__body tr")).to_have_count(1)
    page.get_by_role("tab", name="奖品与兑换").click()
    expect(page.locator(".rewards .el-table__body tr", has_text="洗衣液")).to_have_count(1)
    expect(page.locator(".redemptions .el-table__body tr", has_text="待领取")).to_have_count(1)
    page.get_by_role("tab", name="积分排行").click()
    shanghai = datetime.fromisoformat(seeded["earned_at"]).astimezone(timezone(timedelta(hours=8)))
    page.get_by_label("统计周期").fill(str(shanghai.year))
    page.locator("#pane-ranking").get_by_role("button", name="查询").click()
    expect(page.locator(".ranking .el-table__body tr").first).to_contain_text("林志华")

    # 督办: the record made through the API, in Chinese
    page.locator(".side").get_by_text("督办").click()
    row = page.locator(".supervisions .el-table__body tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("代表监督")
    expect(row.first).to_contain_text("张代表（代表委员）")

    # 热点与联席会议: the hot issue with its five cases, ready to go on an agenda
    page.locator(".side").get_by_text("热点与联席会议").click()
    issue = page.locator(".hot-issues .el-table__body tr")
    expect(issue).to_have_count(1)
    expect(issue.first).to_contain_text("待上会")
    expect(issue.first.locator("td").nth(3)).to_have_text("5")

    # 走访: the first grid's four households, one visited
    page.locator(".side").get_by_text("走访").click()
    grid = page.locator(".coverage .el-table__body tr", has_text="第一网格")
    expect(grid.locator("td").nth(1)).to_have_text("4")
    expect(grid.locator("td").nth(2)).to_have_text("1")
    expect(page.locator(".visits .el-table__body tr", has_text="老人身体尚好")).to_contain_text("入户走访")

    # 议事表决: the poll named in the link, its live result
    page.goto(page.url.split("/visits")[0] + f"/polls?poll={seeded['poll']}")
    result = page.locator(".poll .poll-result")
    expect(result).to_contain_text("同意2 户")
    expect(result).to_contain_text("反对1 户")
    expect(result).to_contain_text("3 / 4 户")
    expect(result).to_contain_text("目前通过")
    expect(page.locator(".side .is-active")).to_contain_text("议事表决")

    # 设置: the accounts the community admin manages, and a year's holidays as the district loaded them
    page.locator(".side").get_by_text("设置").click()
    expect(page.locator(".accounts .el-table__body tr", has_text="赵网格")).to_contain_text("网格员")
    page.get_by_role("tab", name="节假日").click()
    page.get_by_label("年份").fill("2027")
    page.get_by_role("button", name="查看").click()
    expect(page.locator(".calendar-source")).to_contain_text("国务院通知（测试用安排）")
    expect(page.locator(".calendar .el-table__body tr", has_text="春节")).to_have_count(9)  # 8 days off, 1 worked
    expect(page.locator(".calendar .el-table__body tr", has_text="2027-02-20")).to_contain_text("调休上班")

"""Rankings per community, branch and period, and each member's annual file (一人一档) for evaluations:
points by item, activities, redemptions and every entry, as data, as an xlsx workbook and as a page to print.

Rankings count points *earned* in the period (awards and corrections), not the balance: redeeming does
not lower anyone's standing in an evaluation."""

from __future__ import annotations

import html
import io
from datetime import date, datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from minqing import cells
from services.feedback.rates import period as period_bounds
from services.points import rules
from services.points.models import Activity, Award, Member, PointEntry, PointRule, PointRuleVersion, Redemption, Signup

ENTRY_LABELS = {"award": "获得", "redemption": "兑换", "refund": "退还", "correction": "更正", "expiry": "过期"}
REDEMPTION_LABELS = {"reserved": "待领取", "picked_up": "已领取", "cancelled": "已取消"}
SIGNUP_LABELS = {
    "checked_out": "已签退",
    "checked_in": "已签到",
    "no_show": "缺席",
    "signed_up": "已报名",
    "cancelled": "已取消",
}


def ranking(session: Session, query: dict, today: date) -> dict:
    start, end = period_bounds(query["period"], today)
    earned = (
        select(PointEntry.member_id, func.sum(PointEntry.points).label("points"))
        .where(
            PointEntry.community == query["community"],
            PointEntry.kind.in_(rules.EARNING_KINDS),
            PointEntry.created_at >= start,
            PointEntry.created_at < end,
        )
        .group_by(PointEntry.member_id)
        .subquery()
    )
    q = (
        select(Member.id, Member.name, Member.branch, Member.status, func.coalesce(earned.c.points, 0))
        .outerjoin(earned, earned.c.member_id == Member.id)
        .where(Member.community == query["community"], Member.active.is_(True))
    )
    if query.get("branch"):
        q = q.where(Member.branch == query["branch"])
    rows = {m: (name, branch, status, int(points)) for m, name, branch, status, points in session.execute(q)}
    by_name = sorted(rows.items(), key=lambda item: (item[1][0], item[0]))
    ranked = rules.competition_ranks([(m, v[3]) for m, v in by_name])[: query["limit"]]
    return {
        "community": query["community"],
        "branch": query.get("branch"),
        "period": query["period"],
        "from": start,
        "to": end,
        "items": [
            {"rank": rank, "member": m, "name": rows[m][0], "branch": rows[m][1], "status": rows[m][2], "points": pts}
            for rank, m, pts in ranked
        ],
    }


def annual_file(session: Session, member: Member, year: int) -> dict:
    start, end = period_bounds(str(year), date(year, 1, 1))
    in_year = (PointEntry.member_id == member.id, PointEntry.created_at >= start, PointEntry.created_at < end)
    entries = list(session.scalars(select(PointEntry).where(*in_year).order_by(PointEntry.id)))
    names = _rule_names(session, member.community)
    by_item: dict[str, dict] = {}
    for award in session.scalars(
        select(Award).where(
            Award.member_id == member.id, Award.status == "awarded", Award.earned_at >= start, Award.earned_at < end
        )
    ):
        item = by_item.setdefault(award.rule_code, {"code": award.rule_code, "count": 0, "quantity": 0.0, "points": 0})
        item["count"] += 1
        item["quantity"] += award.quantity
        item["points"] += award.points
    for item in by_item.values():
        item["name"] = names.get(item["code"], item["code"])
    activities = session.execute(
        select(Activity, Signup)
        .join(Signup, Signup.activity_id == Activity.id)
        .where(Signup.member_id == member.id, Activity.starts_at >= start, Activity.starts_at < end)
        .order_by(Activity.starts_at)
    ).all()
    redemptions = list(
        session.scalars(
            select(Redemption)
            .where(Redemption.member_id == member.id, Redemption.created_at >= start, Redemption.created_at < end)
            .order_by(Redemption.created_at)
        )
    )
    before = session.scalar(
        select(func.coalesce(func.sum(PointEntry.points), 0)).where(
            PointEntry.member_id == member.id, PointEntry.created_at < start
        )
    )
    totals = {kind: sum(e.points for e in entries if e.kind == kind) for kind in rules.ENTRY_KINDS}
    return {
        "year": year,
        "member": {
            c: getattr(member, c)
            for c in ("id", "name", "community", "branch", "unit", "status", "professions", "specialties", "phone")
        },
        "opening_balance": int(before),
        "closing_balance": int(before) + sum(e.points for e in entries),
        "current_balance": member.balance,
        "earned": totals["award"] + totals["correction"],
        "totals": totals,
        "by_item": sorted(by_item.values(), key=lambda i: -i["points"]),
        "activities": [
            {
                "title": a.title,
                "starts_at": a.starts_at,
                "place": a.place,
                "status": s.status,
                "hours": s.hours,
            }
            for a, s in activities
        ],
        "redemptions": [
            {
                "reward": r.reward_name,
                "quantity": r.quantity,
                "points": r.points,
                "status": r.status,
                "at": r.created_at,
            }
            for r in redemptions
        ],
        "entries": [
            {
                "id": e.id,
                "at": e.created_at,
                "kind": e.kind,
                "points": e.points,
                "balance_after": e.balance_after,
                "reason": e.reason,
                "rule": e.rule_code and f"{names.get(e.rule_code, e.rule_code)} v{e.rule_version}",
                "actor": e.actor,
            }
            for e in entries
        ],
    }


def _rule_names(session: Session, community: str) -> dict[str, str]:
    rows = session.execute(
        select(PointRule.code, PointRuleVersion.name)
        .join(PointRuleVersion, PointRuleVersion.rule_id == PointRule.id)
        .where(PointRule.community == community, PointRuleVersion.version == PointRule.current_version)
    )
    return dict(rows.all())


def _local(value: datetime | None) -> str:
    return value.astimezone(rules.TZ).strftime("%Y-%m-%d %H:%M") if value else ""


# --- the xlsx workbook --------------------------------------------------------------------------------
HEADER = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="B22222")


def _sheet(wb: Workbook, title: str, header: list[str], rows: list[list], widths: list[int]):
    ws = wb.create_sheet(title)
    cells.append(ws, header)
    for cell in ws[1]:
        cell.font, cell.fill, cell.alignment = HEADER, HEADER_FILL, Alignment(horizontal="center")
    for row in rows:
        cells.append(ws, row)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "A2"
    return ws


def xlsx(file: dict, community_name: str | None = None) -> bytes:
    m, wb = file["member"], Workbook()
    ws = wb.active
    ws.title = "档案"
    cells.append(ws, [f"党员积分档案（{file['year']}年度）"])
    ws["A1"].font = Font(bold=True, size=14)
    for label, value in (
        ("姓名", m["name"]),
        ("社区", community_name or m["community"]),
        ("党支部", m["branch"]),
        ("单位", m["unit"] or "无"),
        ("状态", "在职" if m["status"] == "serving" else "退休"),
        ("职业", "、".join(m["professions"] or [])),
        ("特长", "、".join(m["specialties"] or [])),
        ("年初积分", file["opening_balance"]),
        ("本年获得", file["earned"]),
        ("本年兑换", -file["totals"]["redemption"] - file["totals"]["refund"]),
        ("本年过期", -file["totals"]["expiry"]),
        ("年末积分", file["closing_balance"]),
    ):
        cells.append(ws, [label, value])
        ws.cell(ws.max_row, 1).font = Font(bold=True)
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 14, 40
    _sheet(
        wb,
        "积分项目",
        ["项目", "次数", "数量", "积分"],
        [[i["name"], i["count"], i["quantity"], i["points"]] for i in file["by_item"]],
        [28, 8, 8, 8],
    )
    _sheet(
        wb,
        "活动",
        ["活动", "时间", "地点", "状态", "小时"],
        [
            [a["title"], _local(a["starts_at"]), a["place"], SIGNUP_LABELS.get(a["status"], a["status"]), a["hours"]]
            for a in file["activities"]
        ],
        [30, 18, 24, 8, 8],
    )
    _sheet(
        wb,
        "兑换",
        ["物品", "数量", "积分", "状态", "时间"],
        [
            [r["reward"], r["quantity"], r["points"], REDEMPTION_LABELS[r["status"]], _local(r["at"])]
            for r in file["redemptions"]
        ],
        [24, 8, 8, 10, 18],
    )
    _sheet(
        wb,
        "积分明细",
        ["时间", "类型", "积分", "余额", "事由", "规则", "经办"],
        [
            [
                _local(e["at"]),
                ENTRY_LABELS[e["kind"]],
                e["points"],
                e["balance_after"],
                e["reason"],
                e["rule"],
                e["actor"],
            ]
            for e in file["entries"]
        ],
        [18, 8, 8, 8, 44, 26, 16],
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- the printable page ------------------------------------------------------------------------------
CSS = """
body { font-family: "Noto Serif CJK SC", "SimSun", serif; margin: 2em auto; max-width: 46em; color: #222; }
h1 { text-align: center; color: #b22222; font-size: 1.6em; margin-bottom: .2em; }
p.sub { text-align: center; margin-top: 0; color: #555; }
table { border-collapse: collapse; width: 100%; margin: .6em 0 1.4em; font-size: .92em; }
th, td { border: 1px solid #999; padding: .3em .5em; text-align: left; }
th { background: #f3e0e0; }
td.n { text-align: right; }
dl { display: grid; grid-template-columns: 7em 1fr 7em 1fr; gap: .3em .8em; }
dt { font-weight: bold; }
.sign { margin-top: 3em; display: flex; justify-content: space-between; }
@media print { body { margin: 0; } h2 { page-break-after: avoid; } tr { page-break-inside: avoid; } }
"""


def _table(header: list[str], rows: list[list], numeric: set[int]) -> str:
    if not rows:
        return "<p>（无）</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{html.escape(str(v))}</td>' if i in numeric else f"<td>{html.escape(str(v or ''))}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def page(file: dict, community_name: str | None = None) -> str:
    m, e = file["member"], html.escape
    facts = [
        ("姓名", m["name"]),
        ("党支部", m["branch"]),
        ("社区", community_name or m["community"]),
        ("单位", m["unit"] or "无"),
        ("状态", "在职" if m["status"] == "serving" else "退休"),
        ("职业", "、".join(m["professions"] or []) or "—"),
        ("特长", "、".join(m["specialties"] or []) or "—"),
        ("年末积分", file["closing_balance"]),
    ]
    summary = [
        ["年初积分", file["opening_balance"]],
        ["本年获得（含更正）", file["earned"]],
        ["本年兑换（扣除退还）", -file["totals"]["redemption"] - file["totals"]["refund"]],
        ["本年过期", -file["totals"]["expiry"]],
        ["年末积分", file["closing_balance"]],
    ]
    by_item = [[i["name"], i["count"], f"{i['quantity']:g}", i["points"]] for i in file["by_item"]]
    attended = [
        [a["title"], _local(a["starts_at"]), a["place"], SIGNUP_LABELS.get(a["status"], a["status"]), a["hours"] or ""]
        for a in file["activities"]
    ]
    redeemed = [
        [r["reward"], r["quantity"], r["points"], REDEMPTION_LABELS[r["status"]], _local(r["at"])]
        for r in file["redemptions"]
    ]
    entries = [
        [_local(x["at"]), ENTRY_LABELS[x["kind"]], x["points"], x["balance_after"], x["reason"], x["rule"]]
        for x in file["entries"]
    ]
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>党员积分档案 {e(m["name"])} {file["year"]}</title>
<style>{CSS}</style></head><body>
<h1>党员积分档案</h1><p class="sub">{file["year"]}年度 · 一人一档</p>
<dl>{"".join(f"<dt>{e(k)}</dt><dd>{e(str(v))}</dd>" for k, v in facts)}</dl>
<h2>积分汇总</h2>{_table(["项目", "积分"], summary, {1})}
<h2>积分项目</h2>{_table(["项目", "次数", "数量", "积分"], by_item, {1, 2, 3})}
<h2>参加活动</h2>{_table(["活动", "时间", "地点", "状态", "小时"], attended, {4})}
<h2>积分兑换</h2>{_table(["物品", "数量", "积分", "状态", "时间"], redeemed, {1, 2})}
<h2>积分明细</h2>{_table(["时间", "类型", "积分", "余额", "事由", "规则"], entries, {2, 3})}
<div class="sign"><span>党支部意见：</span><span>社区党委（盖章）：</span><span>日期：</span></div>
</body></html>
"""

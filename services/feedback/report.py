"""The monthly report of one community as an xlsx workbook: the rates, per grid, per channel and per
handling type, in Chinese with the codes beside, readable when printed on A4."""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from minqing import cells
from minqing.vocabulary import CHANNEL_LABELS

RATES = (
    ("response_rate", "响应率", "首次处置在下一工作日18:00前"),
    ("on_time_rate", "按时办结率", "在办理时限内办结"),
    ("resolution_rate", "办结率", "已办结 / 受理"),
    ("satisfaction_rate", "满意率", "一次满意 / 已评价"),
    ("reopen_rate", "重办率", "不满意重办 / 已办结"),
)
TYPE_LABELS = {
    "immediate": "即办件",
    "supplement": "补办件",
    "committed": "承诺件",
    "suggestion": "建议件",
    "escalated": "上报件",
    "unclassified": "未分类",
}
HEADER = PatternFill("solid", fgColor="DDE5F0")
BOLD = Font(bold=True)
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def _pct(rate: dict) -> str:
    return "—" if rate["value"] is None else f"{rate['value'] * 100:.1f}%"


def _table(sheet, top: int, headers: list[str], rows: list[list]) -> int:
    for col, text in enumerate(headers, start=1):
        cell = cells.write(sheet, top, col, text)
        cell.font, cell.fill, cell.border = BOLD, HEADER, BOX
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for r, values in enumerate(rows, start=top + 1):
        for col, value in enumerate(values, start=1):
            cell = cells.write(sheet, r, col, value)
            cell.border = BOX
            cell.alignment = Alignment(horizontal="left" if col == 1 else "center")
    return top + len(rows) + 2


def build(community_name: str, stats: dict) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "月报"
    period = stats["period"]
    cells.write(sheet, 1, 1, f"{community_name} 民情工作月报（{period['name']}）").font = Font(bold=True, size=14)
    cells.write(sheet, 2, 1, f"统计区间：{period['from'][:10]} 至 {period['to'][:10]}（不含）")
    overall = stats["overall"]
    row = 4
    if overall is None:
        cells.write(sheet, row, 1, "本期无受理记录。")
    else:
        cells.write(sheet, row, 1, f"受理民情 {overall['cases']} 件").font = BOLD
        row = _table(
            sheet,
            row + 1,
            ["指标", "比率", "分子", "分母", "口径"],
            [
                [label, _pct(overall[key]), overall[key]["numerator"], overall[key]["denominator"], note]
                for key, label, note in RATES
            ],
        )
        row = _table(
            sheet,
            row,
            ["受理渠道", "件数"],
            [[f"{CHANNEL_LABELS.get(code, code)}（{code}）", n] for code, n in overall["by_channel"].items()],
        )
        row = _table(
            sheet,
            row,
            ["办理类型", "件数"],
            [[f"{TYPE_LABELS.get(code, code)}（{code}）", n] for code, n in overall["by_handling_type"].items()],
        )
        _table(
            sheet,
            row,
            ["网格", "件数"] + [label for _, label, _ in RATES],
            [
                [group["group"] or "（无网格）", group["cases"]] + [_pct(group[key]) for key, _, _ in RATES]
                for group in stats["groups"]
            ],
        )
    for col, width in enumerate((26, 12, 12, 12, 12, 12, 12), start=1):
        sheet.column_dimensions[get_column_letter(col)].width = width
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()

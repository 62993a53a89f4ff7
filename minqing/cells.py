"""Cells of every exported file (xlsx, CSV): a text is written as text, never as a formula.

A name, reason or title typed by anyone (`=HYPERLINK(…)`, `=1+1`, `@SUM(…)`) would otherwise run when
an official opens the monthly report or an annual file (OWASP "CSV injection"). In xlsx a text cell is
typed as a string and, when it starts like a formula, carries Excel's quote prefix (shown as typed, kept
as text when edited); in CSV such a text gets a leading apostrophe. Every export writes through here.
"""

from __future__ import annotations

import csv
import io

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

# what a spreadsheet takes as the start of a formula (tab and CR: what some split a cell on)
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def clean(value: str) -> str:
    """Control characters that no worksheet can hold (openpyxl refuses them) left out."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def looks_like_formula(value: str) -> bool:
    return value.startswith(FORMULA_LEADS)


def csv_text(value):
    """A value as a CSV field: a text that starts like a formula is escaped with a leading apostrophe."""
    if not isinstance(value, str):
        return "" if value is None else value
    value = clean(value)
    return "'" + value if looks_like_formula(value) else value


def csv_bytes(header: list[str], rows) -> bytes:
    """A UTF-8 CSV (with the BOM Excel needs to read Chinese) of formula-safe fields."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_text(h) for h in header])
    for row in rows:
        writer.writerow([csv_text(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _as_text(cell, value) -> None:
    if isinstance(value, str):
        cell.value = clean(value)
        cell.data_type = "s"  # openpyxl would type a leading '=' as a formula
        if looks_like_formula(cell.value):
            cell.quotePrefix = True


def write(sheet, row: int, column: int, value):
    """`sheet.cell(row, column, value)` for exports: the cell, its text as text."""
    cell = sheet.cell(row=row, column=column)
    cell.value = None if isinstance(value, str) else value
    _as_text(cell, value)
    return cell


def append(sheet, values: list) -> None:
    """`sheet.append(values)` for exports: every text as text."""
    sheet.append([None if isinstance(v, str) else v for v in values])
    row = sheet.max_row
    for column, value in enumerate(values, start=1):
        if isinstance(value, str):
            _as_text(sheet.cell(row=row, column=column), value)

"""Reading a household register sheet (xlsx) as it comes from a community office.

The first row names the columns, in English or Chinese; `code` may be left out and is then made from
building, unit and room.
"""

from __future__ import annotations

from openpyxl import load_workbook

COLUMNS = {
    "code": "code",
    "编号": "code",
    "building": "building",
    "楼栋": "building",
    "楼栋编号": "building",
    "unit": "unit",
    "单元": "unit",
    "room": "room",
    "房号": "room",
    "门牌": "room",
    "head_name": "head_name",
    "户主": "head_name",
    "户主姓名": "head_name",
    "phone": "phone",
    "电话": "phone",
    "联系电话": "phone",
    "size": "size",
    "人口": "size",
    "人数": "size",
    "tags": "tags",
    "标签": "tags",
}


def _cell(value):
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def read_households(path: str) -> list[dict]:
    sheet = load_workbook(path, read_only=True, data_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = [COLUMNS.get(str(h).strip().lower() if h is not None else "", None) for h in next(rows, ())]
    if "building" not in header or "room" not in header:
        raise ValueError(f"{path}: the first row must name at least the building and room columns")
    households = []
    for values in rows:
        row = {key: _cell(v) for key, v in zip(header, values, strict=False) if key}
        if not any(row.values()):
            continue
        if row.get("size") is not None:
            row["size"] = int(row["size"])
        row["tags"] = [t.strip() for t in (row.get("tags") or "").replace("，", ",").split(",") if t.strip()]
        if not row.get("code"):
            row["code"] = "-".join(p for p in (row["building"], row.get("unit"), row["room"]) if p).lower()
        households.append({k: v for k, v in row.items() if v is not None})
    return households

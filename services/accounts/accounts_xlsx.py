"""Reading a staff sheet (xlsx) for `minqing accounts import`: the first row names the columns, in English or
Chinese, as the household register does; roles by code or by their Chinese name."""

from __future__ import annotations

from openpyxl import load_workbook

COLUMNS = {
    "username": "username",
    "用户名": "username",
    "账号": "username",
    "display_name": "display_name",
    "name": "display_name",
    "姓名": "display_name",
    "role": "role",
    "角色": "role",
    "communities": "communities",
    "community": "communities",
    "社区": "communities",
    "bureau": "bureau",
    "部门": "bureau",
    "委办局": "bureau",
    "phone": "phone",
    "手机": "phone",
    "联系电话": "phone",
    "roster_id": "roster_id",
    "花名册编号": "roster_id",
    "member_id": "member_id",
    "党员编号": "member_id",
}
ROLE_NAMES = {
    "区级管理员": "district_admin",
    "社区管理员": "community_admin",
    "网格员": "grid_member",
    "驻区单位": "unit_handler",
    "单位办理人": "unit_handler",
    "部门办理人": "bureau_handler",
    "委办局": "bureau_handler",
    "代表委员": "deputy",
    "两代表一委员": "deputy",
}


def _cell(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def read_accounts(path: str) -> list[dict]:
    sheet = load_workbook(path, read_only=True, data_only=True).active
    rows = sheet.iter_rows(values_only=True)
    header = [COLUMNS.get(str(h).strip().lower() if h is not None else "", None) for h in next(rows, ())]
    missing = [c for c in ("username", "display_name", "role") if c not in header]
    if missing:
        raise ValueError(f"{path}: the first row must name the columns {', '.join(missing)} (e.g. 用户名, 姓名, 角色)")
    accounts = []
    for values in rows:
        row = {key: _cell(v) for key, v in zip(header, values, strict=False) if key}
        if not any(row.values()):
            continue
        row["role"] = ROLE_NAMES.get(row.get("role") or "", row.get("role"))
        row["username"] = (row.get("username") or "").lower() or None
        communities = (row.get("communities") or "").replace("，", ",").replace("、", ",")
        row["communities"] = [c.strip() for c in communities.split(",") if c.strip()]
        accounts.append({k: v for k, v in row.items() if v is not None})
    return accounts

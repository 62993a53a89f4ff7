"""Demo logins, one per role of the demo district, with passwords generated once into var/demo-accounts.json
(0600) so that `make run` can print them and nothing is hard-coded. The roster ids and bureau are the demo
roster's own (routing's demo: grid leader `maxian-g01-leader`, resident unit `maxian-u01`, bureau `housing`),
so each login sees and works exactly what its role would."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts import passwords
from services.accounts.accounts import generated_password
from services.accounts.models import Account

DEMO = [
    {"username": "district.admin", "display_name": "马尾区管理员", "role": "district_admin", "communities": ["*"]},
    {
        "username": "maxian.admin",
        "display_name": "马限社区管理员",
        "role": "community_admin",
        "communities": ["maxian"],
    },
    {
        "username": "luoxing.admin",
        "display_name": "罗星社区管理员",
        "role": "community_admin",
        "communities": ["luoxing"],
    },
    {
        "username": "maxian.grid01",
        "display_name": "马限第一网格长",
        "role": "grid_member",
        "communities": ["maxian"],
        "roster_id": "maxian-g01-leader",
    },
    {
        "username": "maxian.unit01",
        "display_name": "驻区单位联络人",
        "role": "unit_handler",
        "communities": ["maxian"],
        "roster_id": "maxian-u01",
    },
    {
        "username": "housing.clerk",
        "display_name": "区住建局办理人",
        "role": "bureau_handler",
        "communities": ["maxian", "luoxing"],
        "bureau": "housing",
    },
    {"username": "deputy.chen", "display_name": "陈代表", "role": "deputy", "communities": ["maxian"]},
]


def logins(path: Path) -> list[dict]:
    """The demo logins, each with its password: read from `path`, or generated and written there once."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    made = [
        {
            "username": d["username"],
            "password": generated_password(),
            "role": d["role"],
            "communities": d["communities"],
            "bureau": d.get("bureau"),
            "display_name": d["display_name"],
        }
        for d in DEMO
    ]
    path.touch(mode=0o600)
    path.write_text(json.dumps(made, ensure_ascii=False, indent=1), encoding="utf-8")
    return made


def load(session: Session, path: Path, now: datetime) -> int:
    """Every demo account, with the password in `path`; returns how many were added or had their password
    set again (the file was removed and generated anew)."""
    by_name = {d["username"]: d for d in DEMO}
    changed = 0
    for login in logins(path):
        spec = by_name[login["username"]]
        account = session.scalars(select(Account).where(Account.username == login["username"])).first()
        if account is None:
            account_id = uuid.uuid4().hex
            session.add(
                Account(
                    id=account_id,
                    subject=spec.get("roster_id") or account_id,
                    username=spec["username"],
                    display_name=spec["display_name"],
                    role=spec["role"],
                    communities=spec["communities"],
                    bureau=spec.get("bureau"),
                    roster_id=spec.get("roster_id"),
                    password_hash=passwords.hash_password(login["password"]),
                    must_change_password=False,
                    disabled=False,
                    sms_opt_out=False,
                    created_by="demo",
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
            )
            changed += 1
        elif not passwords.verify(account.password_hash, login["password"]):
            account.password_hash = passwords.hash_password(login["password"])
            account.updated_at, account.version = now, account.version + 1
            changed += 1
    return changed

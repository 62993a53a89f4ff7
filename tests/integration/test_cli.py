"""The operators' command line, against the real broker and databases."""

import json
from collections import Counter
from datetime import UTC, datetime

import jwt
from openpyxl import Workbook
from sqlalchemy import func, select

from minqing import config as settings
from minqing.cli import main
from minqing.db import UnitOfWork, make_engine
from minqing.vocabulary import ROLES
from services.intake.models import Building, Case, Community, Grid, Household, ResidentUnit
from services.points import ledger
from services.points.models import Award, Member, Redemption, Signup


def test_token_mints_a_verifiable_jwt(capsys):
    assert main(["token", "--role", "grid_member", "--community", "maxian", "--sub", "w1"]) == 0
    claims = jwt.decode(capsys.readouterr().out.strip(), settings.jwt_secret(), algorithms=["HS256"])
    assert (claims["sub"], claims["role"], claims["communities"]) == ("w1", "grid_member", ["maxian"])
    assert main(["token", "--role", "emperor"]) == 2


def test_seed_demo_loads_the_pilot_on_the_embedded_default_idempotently(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINQING_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("MINQING_INTAKE_DB_URL", raising=False)
    # at fixed instants (the day `make run` first crashed, then the next morning), never at today's date
    assert main(["seed-demo", "--quiet", "--now", "2026-12-01T20:00:00+00:00"]) == 0
    assert main(["seed-demo", "--quiet", "--now", "2026-12-02T09:00:00+08:00"]) == 0
    second = capsys.readouterr().out.strip().splitlines()[-1]
    assert second.endswith(
        "communities 0, grids 0, buildings 0, households 0, resident_units 0, cases 0, "
        "routed 0, overdue 0, answered 0, visits 0, supervision 0, polls 0, ledger_events 0, "
        "members 0, awards 0, activities 0, redemptions 0, demo_logins 0"
    )
    # a login per role, the passwords generated once (the second run found them and changed nothing)
    logins = json.loads((tmp_path / "demo-accounts.json").read_text(encoding="utf-8"))
    assert oct((tmp_path / "demo-accounts.json").stat().st_mode & 0o777) == "0o600"
    assert {login["role"] for login in logins} == set(ROLES) - {"resident"}
    from services.accounts import signin, tokens

    policy = signin.Policy(tokens.Signer("x" * 32), code_key="x")
    with UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'accounts.db'}")).transaction() as s:
        grid = next(login for login in logins if login["role"] == "grid_member")
        signed_in = signin.login(s, grid["username"], grid["password"], policy, datetime.now(UTC))
        assert signed_in["account"]["roster_id"] == "maxian-g01-leader"

    with UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'intake.db'}")).transaction() as s:

        def count(model, community="maxian"):
            return s.scalar(select(func.count()).select_from(model).where(model.community == community))

        assert (count(Grid), count(Building), count(Household), count(ResidentUnit)) == (9, 60, 4257, 12)
        assert count(Case) == 692 and count(Case, "luoxing") > 0
        assert {c.code for c in s.scalars(select(Community))} == {"maxian", "luoxing"}
        channels = Counter(s.scalars(select(Case.channel).where(Case.community == "maxian")))
        assert set(channels) == {"online", "hotline", "mailbox", "deputies_studio", "home_visit", "forum"}
        refs = list(s.scalars(select(Case.reference).where(Case.community == "maxian")))
        assert len(set(refs)) == 692 and all(r.startswith("MX-") for r in refs)
        # routed through the year: every handling type, mostly resolved, a few still open or overdue
        types = Counter(s.scalars(select(Case.handling_type).where(Case.community == "maxian")))
        assert set(types) == {"immediate", "supplement", "committed", "suggestion", "escalated"}
        statuses = Counter(s.scalars(select(Case.status).where(Case.community == "maxian")))
        assert statuses["closed"] > 0.9 * 692 and statuses["registered"] == 0
        # answered and rated: nearly all satisfied, a few reopened and worked again
        satisfied = Counter(s.scalars(select(Case.satisfied).where(Case.community == "maxian")))
        assert satisfied[True] > 0.9 * 692
        reopened = s.scalar(select(func.count()).select_from(Case).where(Case.reopen_count > 0))
        assert 0 < reopened < 0.05 * 692
        assert 0 < s.scalar(select(func.count()).select_from(Case).where(Case.overdue.is_(True))) < 20
        outcomes = Counter(s.scalars(select(Case.outcome).where(Case.handling_type == "suggestion")))
        assert outcomes["adopted"] > 0 and outcomes["not_adopted"] > 0

    with UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'points.db'}")).transaction() as s:
        # points followed the year's events and activities; the books balance
        rules_earned = Counter(dict(s.execute(select(Award.rule_code, func.count()).group_by(Award.rule_code)).all()))
        assert set(rules_earned) == {
            "suggestion_adopted",
            "case_satisfied",
            "home_visit",
            "volunteer_service_day",
            "night_patrol",
            "flood_typhoon_duty",
        }
        assert s.scalar(select(func.count()).select_from(Member).where(Member.community == "maxian")) > 350
        assert s.scalar(select(func.min(Member.balance))) >= 0 and ledger.mismatches(s) == []
        statuses = Counter(s.scalars(select(Signup.status)))
        assert statuses["checked_out"] > 500 and statuses["no_show"] > 0 and statuses["signed_up"] > 0
        assert s.scalar(select(func.count()).select_from(Redemption)) > 20
    capsys.readouterr()
    assert main(["points", "verify"]) == 0
    assert "0 balance(s) not equal to their entries" in capsys.readouterr().out


def test_import_households_from_xlsx_through_the_running_service(intake, directory, tmp_path, capsys):
    book = Workbook()
    book.active.append(["building", "unit", "room", "head_name", "phone"])
    for n in range(1, 1201):
        book.active.append(["maxian-b01", "1", f"{n:04d}", f"住户{n}", f"138{n:08d}"])
    path = tmp_path / "households.xlsx"
    book.save(path)
    assert main(["import-households", str(path), "--community", "maxian"]) == 0
    assert "1200 new, 0 updated" in capsys.readouterr().out
    assert main(["import-households", str(path), "--community", "maxian"]) == 0
    assert "0 new, 1200 updated" in capsys.readouterr().out

    book.active.append(["maxian-b99", "1", "0101", "查无此楼", None])
    book.save(path)
    assert main(["import-households", str(path), "--community", "maxian"]) == 1
    rejected = capsys.readouterr().out
    assert "rows 1002..1202 rejected" in rejected and "items.200.building" in rejected
    engine = make_engine(intake.config["DB_URL"])
    with UnitOfWork(engine).transaction() as s:
        assert s.scalar(select(func.count()).select_from(Household)) == 1200


def test_dlq_and_outbox_commands(intake, routing, feedback, points, accounts, directory, monkeypatch, capsys, tmp_path):
    directory.post(
        "/api/v1/cases", {"community": "maxian", "channel": "online", "title": "噪音扰民", "description": "夜里施工"}
    )
    assert main(["dlq", "list"]) == 0
    out = capsys.readouterr().out
    assert "evt-routing-case.#--intake.on_routing_event.dlq: 0 message(s)" in out and "0 dead letter(s)" in out
    assert main(["dlq", "replay", "--queue", "no-such-queue"]) == 2
    monkeypatch.setenv("MINQING_INTAKE_DB_URL", intake.config["DB_URL"])
    monkeypatch.setenv("MINQING_ROUTING_DB_URL", "sqlite:///" + str(tmp_path / "nothing-here.db"))
    assert main(["outbox", "status"]) == 1
    out = capsys.readouterr().out
    assert 'intake: {"pending"' in out and "routing: unavailable" in out
    monkeypatch.setenv("MINQING_ROUTING_DB_URL", routing.config["DB_URL"])
    monkeypatch.setenv("MINQING_FEEDBACK_DB_URL", feedback.config["DB_URL"])
    monkeypatch.setenv("MINQING_POINTS_DB_URL", points.config["DB_URL"])
    monkeypatch.setenv("MINQING_ACCOUNTS_DB_URL", accounts.config["DB_URL"])
    assert main(["outbox", "status"]) == 0


def test_accounts_import_from_xlsx_with_chinese_headers(accounts, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MINQING_VAR_DIR", str(tmp_path))
    book = Workbook()
    book.active.append(["用户名", "姓名", "角色", "社区", "委办局", "手机", "花名册编号"])
    book.active.append(["wang.grid", "王网格", "网格员", "maxian", None, "138 0000 1234", "m-0001"])
    book.active.append(["li.unit", "李单位", "unit_handler", "maxian，luoxing", None, None, "u-0001"])
    book.active.append(["zhou.bureau", "周部门", "部门办理人", "maxian", "housing", None, None])
    path = tmp_path / "staff.xlsx"
    book.save(path)
    assert main(["accounts", "import", str(path)]) == 0
    out = capsys.readouterr().out
    assert "3 new, 0 updated" in out
    (written,) = tmp_path.glob("initial-passwords-*.json")
    assert oct(written.stat().st_mode & 0o777) == "0o600"
    assert [a["username"] for a in json.loads(written.read_text())] == ["wang.grid", "li.unit", "zhou.bureau"]
    assert settings.var_dir() == tmp_path

    book.active.append(["x.wide", "X", "网格员", "*", None, None, None])
    book.save(path)
    assert main(["accounts", "import", str(path)]) == 1
    rejected = capsys.readouterr().out
    assert "row 5" in rejected and "communities" in rejected  # only a district admin may be '*'

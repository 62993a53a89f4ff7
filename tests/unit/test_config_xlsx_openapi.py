from openpyxl import Workbook

from minqing import config as settings
from services.intake.households_xlsx import read_households


def test_env_beats_yaml_beats_default(tmp_path, monkeypatch):
    path = tmp_path / "minqing.yaml"
    path.write_text("http_port: 9000\nintake_db_url: postgresql://db/intake\nevent_retry_delays: [1, 2]\n")
    monkeypatch.setenv("MINQING_CONFIG", str(path))
    monkeypatch.delenv("MINQING_HTTP_PORT", raising=False)
    monkeypatch.delenv("MINQING_INTAKE_DB_URL", raising=False)
    assert settings.get("http_port") == 9000
    assert settings.db_url("intake") == "postgresql://db/intake"
    assert settings.retry_delays() == [1.0, 2.0]
    monkeypatch.setenv("MINQING_HTTP_PORT", "8123")
    assert settings.gateway_address().endswith(":8123")
    assert settings.get("outbox_poll_interval") == 0.5


def test_embedded_default_is_sqlite_under_var(tmp_path, monkeypatch):
    monkeypatch.delenv("MINQING_CONFIG", raising=False)
    monkeypatch.delenv("MINQING_INTAKE_DB_URL", raising=False)
    monkeypatch.setenv("MINQING_VAR_DIR", str(tmp_path / "var"))
    assert settings.db_url("intake") == f"sqlite:///{tmp_path / 'var' / 'intake.db'}"


def test_household_sheet_with_chinese_headers(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["楼栋", "单元", "房号", "户主", "联系电话", "人口", "标签"])
    sheet.append(["maxian-b01", 1, "0502", "王秀英", 13800001234, 3, "elderly_alone，party_member"])
    sheet.append([None, None, None, None, None, None, None])
    sheet.append(["maxian-b02", 2, 101, "李明", None, None, None])
    path = tmp_path / "households.xlsx"
    book.save(path)
    rows = read_households(str(path))
    assert rows[0] == {
        "code": "maxian-b01-1-0502",
        "building": "maxian-b01",
        "unit": "1",
        "room": "0502",
        "head_name": "王秀英",
        "phone": "13800001234",
        "size": 3,
        "tags": ["elderly_alone", "party_member"],
    }
    assert rows[1]["code"] == "maxian-b02-2-101" and rows[1]["tags"] == [] and len(rows) == 2


def test_openapi_describes_every_fixed_endpoint():
    from gateway.openapi import build
    from gateway.service import GatewayService  # noqa: F401  registers the routes

    spec = build()
    paths = spec["paths"]
    assert {"post", "get"} <= set(paths["/api/v1/cases"]) and "get" in paths["/api/v1/cases/{case_id}"]
    for kind in ("grids", "buildings", "households"):
        assert {"post", "get"} <= set(paths[f"/api/v1/communities/{{code}}/{kind}"])
    register = paths["/api/v1/cases"]["post"]
    assert register["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CaseIn"}
    assert "422" in register["responses"] and "201" in register["responses"]
    channel = spec["components"]["schemas"]["CaseIn"]["properties"]["channel"]
    assert channel["enum"] == ["online", "hotline", "mailbox", "deputies_studio", "home_visit", "forum"]

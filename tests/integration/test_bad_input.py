"""Bad input gets a clear 4xx problem naming what is wrong, and stores nothing."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from helpers import case_body

from minqing import clock, paging
from minqing import config as settings


def expired_token():
    past = datetime.now(UTC) - timedelta(hours=1)
    claims = {"sub": "x", "role": "community_admin", "communities": ["maxian"], "exp": past}
    return jwt.encode(claims, settings.jwt_secret(), algorithm="HS256")


def forged_token():
    claims = {"sub": "x", "role": "district_admin", "communities": ["*"], "exp": datetime.now(UTC) + timedelta(hours=1)}
    return jwt.encode(claims, "not-the-secret-but-just-as-long-as-one", algorithm="HS256")


BAD_BODIES = [
    ("missing title", {k: v for k, v in case_body().items() if k != "title"}, 422, "title"),
    ("wrong type", case_body(channel=5), 422, "channel"),
    ("unknown channel", case_body(channel="fax"), 422, "channel"),
    ("title not text", case_body(title=["a"]), 422, "title"),
    ("empty description", case_body(description="   "), 422, "description"),
    ("too long description", case_body(description="长" * 5001), 422, "description"),
    ("bad phone", case_body(reporter={"name": "王", "phone": "call me"}), 422, "reporter"),
    ("unknown field", case_body(priority="high"), 422, "priority"),
    ("latitude out of range", case_body(location={"lat": 123.0}), 422, "location"),
    ("unknown building", case_body(location={"building": "maxian-b99"}), 422, "location.building"),
    ("other community's building", case_body(location={"building": "luoxing-b01"}), 422, "location.building"),
]


@pytest.fixture
def count_cases(directory):
    return lambda: len(directory.get("/api/v1/cases", params={"limit": 500}).json()["items"])


@pytest.mark.parametrize("label,body,status,field", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_invalid_case_bodies(directory, count_cases, label, body, status, field):
    r = directory.post("/api/v1/cases", body)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    problem = r.json()
    assert {"type", "title", "status", "detail"} <= set(problem) and problem["status"] == status
    assert field in problem["errors"], problem
    assert count_cases() == 0


def test_unknown_channel_message_names_allowed_values(directory):
    problem = directory.post("/api/v1/cases", case_body(channel="fax")).json()
    assert problem["errors"]["channel"] == [
        "must be one of online, hotline, mailbox, deputies_studio, home_visit, forum; got 'fax'"
    ]


def test_malformed_requests(directory, count_cases):
    raw = {"headers": {"Content-Type": "application/json"}}
    cases = [
        (directory.call("POST", "/api/v1/cases", data=b'{"community": "maxian", ', **raw), 400),
        (directory.call("POST", "/api/v1/cases", data=b"[1, 2]", **raw), 400),
        (directory.call("POST", "/api/v1/cases", data=b"", **raw), 400),
        (directory.call("POST", "/api/v1/cases", data=b"\xff\xfe", **raw), 400),
        (directory.call("POST", "/api/v1/cases", data=b"title=x", headers={"Content-Type": "text/plain"}), 415),
        (directory.post("/api/v1/cases", case_body(description="长" * 400_000)), 413),  # ~1.2 MB
        (directory.post("/api/v1/cases", case_body(community="nowhere")), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.json()["status"] == status
    assert count_cases() == 0


def test_tokens(directory, token, count_cases):
    attempts = [
        (None, 401),
        ("not-a-jwt", 401),
        (expired_token(), 401),
        (forged_token(), 401),
        (token("community_admin", ["luoxing"]), 404),  # another community's token: maxian does not exist for it
        (token("unit_handler", ["maxian"]), 403),  # a role that may not register cases
    ]
    for tok, status in attempts:
        r = directory.post("/api/v1/cases", case_body(), token=tok)
        assert r.status_code == status, (tok, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")
    assert directory.post("/api/v1/cases", case_body(), token=None).headers["WWW-Authenticate"].startswith("Bearer")
    assert count_cases() == 0


def test_bad_queries_and_roles(directory, token):
    assert directory.get("/api/v1/cases", params={"status": "lost"}).status_code == 400
    assert directory.get("/api/v1/cases", params={"limit": 501}).status_code == 400
    assert directory.get("/api/v1/cases", params={"overdue": "perhaps"}).status_code == 400
    assert directory.get("/api/v1/cases", params={"cursor": "garbage!"}).status_code == 422
    assert directory.get("/api/v1/cases/does-not-exist").status_code == 404
    community_admin = directory.__class__(directory.base, token("community_admin", ["maxian"]))
    body = {"code": "newone", "name": "新社区", "district": "mawei"}
    assert community_admin.post("/api/v1/communities", body).status_code == 403
    assert directory.post("/api/v1/communities", body | {"code": "maxian"}).status_code == 409
    assert directory.post("/api/v1/communities", body | {"code": "Bad Code"}).status_code == 422
    assert len(directory.get("/api/v1/communities").json()["items"]) == 2


def test_what_no_column_can_hold_is_refused_and_what_was_stored_can_be_exported(directory, count_cases):
    """Each of these was a 500 (most found by test_fuzz.py)."""
    api = directory
    nul = api.post("/api/v1/cases", case_body(description="电梯\u0000故障"))
    assert nul.status_code == 422 and "description" in nul.json()["errors"]  # PostgreSQL refuses NUL in text
    long_phone = api.post("/api/v1/cases", case_body(reporter={"phone": "+86 591 8888 6666 123"}))  # 21 characters
    assert long_phone.status_code == 422 and "reporter" in long_phone.json()["errors"]
    assert api.get("/api/v1/cases", params={"q": "电梯\u0000"}).status_code == 400
    assert api.get("/api/v1/cases/a%00b").status_code == 404
    for path, params, cursor in (  # cursors this API never issued: what they hold is not a date, a number, text
        ("/api/v1/cases", {}, paging.encode("yesterday", "x")),
        ("/api/v1/cases", {}, paging.encode("2026-11-27T10:00:00+00:00", "a\u0000b")),
        ("/api/v1/awards", {"community": "maxian"}, paging.encode("x")),
        ("/api/v1/communities/maxian/grids", {}, paging.encode("a\u0000")),
    ):
        assert api.get(path, params=params | {"cursor": cursor}).status_code == 422
    assert count_cases() == 0
    code = "c" * 41  # community codes are at most 40 characters, as their columns
    assert "code" in api.post("/api/v1/communities", {"code": code, "name": "长", "district": "mawei"}).json()["errors"]
    assert api.call("PUT", f"/api/v1/communities/{code}/limits", json={"limits": {}}).status_code == 404
    webhook = api.post(
        "/api/v1/bureaus", {"code": "housing", "name": "住建局", "webhook_url": "http://b.cn/" + "x" * 300}
    )
    assert webhook.status_code == 422 and "webhook_url" in webhook.json()["errors"]

    # control characters are stored as sent; the workbooks leave them out instead of failing
    assert api.post("/api/v1/communities", {"code": "bell", "name": "响\u0007铃", "district": "mawei"}).ok
    month = clock.now().strftime("%Y-%m")
    assert api.get("/api/v1/stats/report.xlsx", params={"community": "bell", "period": month}).status_code == 200
    member = {"community": "maxian", "name": "林\u001b志华", "branch": "第一党支部", "status": "retired"}
    member_id = api.post("/api/v1/members", member).json()["id"]
    year = clock.now().year
    assert api.get(f"/api/v1/members/{member_id}/file", params={"year": year, "format": "xlsx"}).status_code == 200

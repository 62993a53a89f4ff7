"""Signing in through the gateway and using the tokens: password, phone code, refresh, lockout, disabling."""

import json

import pytest
import requests
from helpers import Api, case_body, wait_for


def sms_lines(accounts, phone="+8613800001234", template=None):
    try:
        with open(accounts.config["SMS_LOG"], encoding="utf-8") as fh:
            lines = [json.loads(line) for line in fh]
    except FileNotFoundError:
        return []
    return [m for m in lines if m["to"] == phone and (template is None or m["template"] == template)]


def post(base, path, body, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(base + path, json=body, headers=headers, timeout=15)


@pytest.fixture
def grid_member(directory):
    r = directory.post(
        "/api/v1/accounts",
        {
            "username": "wang.grid",
            "display_name": "王网格",
            "role": "grid_member",
            "communities": ["maxian"],
            "password": "correct horse battery",
        },
    )
    assert r.status_code == 201, r.text
    assert "password" not in r.json() and "initial_password" not in r.json()
    return r.json()


def test_staff_sign_in_with_a_password_and_use_the_token(gateway, grid_member):
    r = post(gateway, "/api/v1/auth/login", {"username": "wang.grid", "password": "correct horse battery"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["account"] | {"id": None} == grid_member | {"id": None}
    staff = Api(gateway, body["access_token"])
    assert staff.post("/api/v1/cases", json=case_body()).status_code == 201
    assert staff.get("/api/v1/cases?community=maxian").json()["items"]
    assert staff.get("/api/v1/me").json()["username"] == "wang.grid"
    assert staff.get("/api/v1/cases?community=luoxing").json()["items"] == []  # scoped like any token


def test_wrong_password_and_unknown_user_look_the_same_then_lock(gateway, grid_member):
    wrong = post(gateway, "/api/v1/auth/login", {"username": "wang.grid", "password": "guess"})
    unknown = post(gateway, "/api/v1/auth/login", {"username": "nobody.here", "password": "guess"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["Content-Type"].startswith("application/problem+json")
    assert {k: v for k, v in wrong.json().items()} == {k: v for k, v in unknown.json().items()}
    assert wrong.json()["type"] == "urn:minqing:problem:invalid-credentials"
    for _ in range(4):
        post(gateway, "/api/v1/auth/login", {"username": "wang.grid", "password": "guess"})
    locked = post(gateway, "/api/v1/auth/login", {"username": "wang.grid", "password": "correct horse battery"})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert locked.json()["type"] == "urn:minqing:problem:sign-in-locked"


def test_a_resident_signs_in_with_a_code_and_sees_their_own_cases(gateway, directory, accounts):
    r = post(gateway, "/api/v1/auth/code", {"phone": "138 0000 1234"})
    assert r.status_code == 202, r.text
    assert r.json() == {"expires_in": 300, "resend_after": 60}
    assert post(gateway, "/api/v1/auth/code", {"phone": "13800001234"}).status_code == 429  # resend too soon
    assert post(gateway, "/api/v1/auth/code", {"phone": "12"}).status_code == 422
    (sent,) = sms_lines(accounts, template="sign_in_code")
    code = sent["params"]["code"]
    assert len(code) == 6 and code in sent["text"]
    wrong = "000000" if code != "000000" else "111111"
    assert post(gateway, "/api/v1/auth/verify", {"phone": "13800001234", "code": wrong}).status_code == 401
    r = post(gateway, "/api/v1/auth/verify", {"phone": "+86 138 0000 1234", "code": code, "community": "maxian"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["account"]["role"] == "resident" and body["account"]["phone"] == "138****1234"
    reused = post(gateway, "/api/v1/auth/verify", {"phone": "13800001234", "code": code})
    assert reused.status_code == 401 and reused.json()["type"] == "urn:minqing:problem:invalid-code"
    resident = Api(gateway, body["access_token"])
    case = resident.post("/api/v1/cases", json=case_body(channel="online")).json()
    assert [c["id"] for c in resident.get("/api/v1/cases").json()["items"]] == [case["id"]]
    # the case is theirs by the token's sub, which is their account's for good
    refreshed = post(gateway, "/api/v1/auth/refresh", {"refresh_token": body["refresh_token"]}).json()
    again = Api(gateway, refreshed["access_token"])
    assert [c["id"] for c in again.get("/api/v1/cases").json()["items"]] == [case["id"]]
    assert again.call("PATCH", "/api/v1/me", json={"sms_opt_out": True}).json()["sms_opt_out"] is True
    assert again.call("PATCH", "/api/v1/me", json={"sms_opt_out": 1}).status_code == 422  # JSON true is not 1


def test_refresh_rotates_and_a_replayed_token_ends_the_sign_in(gateway, grid_member):
    first = post(gateway, "/api/v1/auth/login", {"username": "wang.grid", "password": "correct horse battery"}).json()
    second = post(gateway, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json()["refresh_token"] != first["refresh_token"]
    replay = post(gateway, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["type"] == "urn:minqing:problem:refresh-token-reused"
    stolen_too = post(gateway, "/api/v1/auth/refresh", {"refresh_token": second.json()["refresh_token"]})
    assert stolen_too.status_code == 401
    other = post(gateway, "/api/v1/auth/login", {"username": "wang.grid", "password": "correct horse battery"}).json()
    assert (
        requests.post(gateway + "/api/v1/auth/logout", json={"refresh_token": other["refresh_token"]}).status_code
        == 204
    )
    assert post(gateway, "/api/v1/auth/refresh", {"refresh_token": other["refresh_token"]}).status_code == 401


def test_a_disabled_account_cannot_refresh_or_sign_in(gateway, directory, grid_member):
    session = post(gateway, "/api/v1/auth/login", {"username": "wang.grid", "password": "correct horse battery"}).json()
    assert directory.post(f"/api/v1/accounts/{grid_member['id']}/disable", {}).json()["disabled"] is True
    assert post(gateway, "/api/v1/auth/refresh", {"refresh_token": session["refresh_token"]}).status_code == 401
    r = post(gateway, "/api/v1/auth/login", {"username": "wang.grid", "password": "correct horse battery"})
    assert r.status_code == 403 and r.json()["type"] == "urn:minqing:problem:account-disabled"
    listed = directory.get("/api/v1/accounts?community=maxian").json()["items"]
    assert [a["disabled"] for a in listed if a["id"] == grid_member["id"]] == [True]  # disabled, never deleted


def test_admins_manage_accounts_within_their_reach(gateway, directory, token):
    r = directory.post(
        "/api/v1/accounts",
        {"username": "mx.admin", "display_name": "马限管理员", "role": "community_admin", "communities": ["maxian"]},
    )
    assert r.status_code == 201
    initial = r.json()["initial_password"]
    signed_in = post(gateway, "/api/v1/auth/login", {"username": "mx.admin", "password": initial}).json()
    assert signed_in["account"]["must_change_password"] is True
    admin = Api(gateway, signed_in["access_token"])
    assert (
        admin.post(
            "/api/v1/me/password", {"current_password": initial, "new_password": "a new long passphrase"}
        ).status_code
        == 204
    )
    wide = {"username": "x.wide", "display_name": "X", "role": "grid_member", "communities": ["*"]}
    r = admin.post("/api/v1/accounts", wide)
    assert r.status_code == 422 and "communities" in r.json()["errors"]
    r = admin.post("/api/v1/accounts", wide | {"communities": ["luoxing"]})
    assert r.status_code == 403
    r = admin.post("/api/v1/accounts", wide | {"communities": ["maxian"], "roster_id": "m-0001"})
    assert r.status_code == 201
    member = r.json()
    assert admin.post(f"/api/v1/accounts/{member['id']}/reset-password", {}).json()["initial_password"]
    patched = admin.call("PATCH", f"/api/v1/accounts/{member['id']}", json={"role": "community_admin"})
    assert patched.status_code == 403
    resident = Api(gateway, token("resident", ["maxian"], sub="r-1"))
    assert resident.get("/api/v1/accounts").status_code == 403


def resident_session(gateway, accounts, phone):
    assert post(gateway, "/api/v1/auth/code", {"phone": phone}).status_code == 202
    code = sms_lines(accounts, phone="+86" + phone, template="sign_in_code")[-1]["params"]["code"]
    r = post(gateway, "/api/v1/auth/verify", {"phone": phone, "code": code, "community": "maxian"})
    assert r.status_code == 200, r.text
    return r.json()


def test_a_resident_linked_to_their_household_votes_for_it_and_only_it(gateway, directory, accounts):
    api = directory
    rooms = {"0101": "13700000001", "0102": "13700000002", "0103": "13700000002"}  # 0102 and 0103: one phone
    for room, phone in rooms.items():
        household = {
            "code": f"maxian-b01-1-{room}",
            "building": "maxian-b01",
            "unit": "1",
            "room": room,
            "phone": phone,
        }
        assert api.post("/api/v1/communities/maxian/households", household).status_code == 201
    poll = api.post(
        "/api/v1/polls",
        {
            "community": "maxian",
            "title": "加装电梯",
            "question": "是否同意加装电梯？",
            "buildings": ["maxian-b01"],
            "threshold": "more than 2/3",
            "opens_at": "2026-01-01T00:00:00+08:00",
            "closes_at": "2099-01-01T00:00:00+08:00",
        },
    ).json()

    one = Api(gateway, resident_session(gateway, accounts, "13700000001")["access_token"])
    vote = {"household": "maxian-b01-1-0101", "option": "yes"}
    votes_path = f"/api/v1/polls/{poll['id']}/votes"
    assert one.post(votes_path, vote).status_code == 403  # not linked yet
    linked = one.post("/api/v1/me/household", {"community": "maxian"}).json()
    assert (linked["household"], linked["household_status"]) == ("maxian-b01-1-0101", "confirmed")
    # the link reaches feedback as an event: a moment later the vote counts
    cast = wait_for(lambda: (r := one.post(votes_path, vote)).status_code == 200 and r)
    assert cast.json()["household"] == "maxian-b01-1-0101"
    other = {"household": "maxian-b01-1-0102", "option": "yes"}
    assert one.post(votes_path, other).status_code == 403  # not theirs
    # and they see their own household's visits, not the neighbours'
    for h in ("maxian-b01-1-0101", "maxian-b01-1-0102"):
        visit = {"community": "maxian", "kind": "home", "household": h, "notes": "入户走访"}
        assert api.post("/api/v1/visits", visit).status_code == 201
    seen = one.get("/api/v1/visits?community=maxian").json()["items"]
    assert [v["household"] for v in seen] == ["maxian-b01-1-0101"]

    two_session = resident_session(gateway, accounts, "13700000002")
    two = Api(gateway, two_session["access_token"])
    pending = two.post("/api/v1/me/household", {"community": "maxian"}).json()
    assert pending["household_status"] == "pending"
    assert pending["household_candidates"] == ["maxian-b01-1-0102", "maxian-b01-1-0103"]
    waiting = api.get("/api/v1/accounts?household_pending=true").json()["items"]
    assert [a["id"] for a in waiting] == [two_session["account"]["id"]]
    bad = api.post(f"/api/v1/accounts/{pending['id']}/household", {"household": "maxian-b01-1-0101"})
    assert bad.status_code == 422 and "household" in bad.json()["errors"]
    confirmed = api.post(f"/api/v1/accounts/{pending['id']}/household", {"household": "maxian-b01-1-0103"})
    assert confirmed.json()["household_status"] == "confirmed"
    mine = {"household": "maxian-b01-1-0103", "option": "no"}
    wait_for(lambda: two.post(votes_path, mine).status_code == 200)
    result = api.get(f"/api/v1/polls/{poll['id']}").json()["result"]
    assert result["cast"] == 2 and (result["counts"]["yes"], result["counts"]["no"]) == (1, 1)
    nobody = Api(gateway, resident_session(gateway, accounts, "13700000009")["access_token"])
    assert nobody.post("/api/v1/me/household", {"community": "maxian"}).status_code == 422

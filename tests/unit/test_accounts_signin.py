"""Sign-in rules at fixed instants, on SQLite: lockout and back-off, codes, refresh rotation and replay."""

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from minqing.errors import InvalidInput, Refused
from minqing.vocabulary import ROLES
from services.accounts import accounts, passwords, phones, signin, tokens
from services.accounts.models import Account, metadata

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SECRET = "s" * 40
ADMIN = {"sub": "district-admin", "role": "district_admin", "communities": ["*"], "bureau": None}
POLICY = signin.Policy(tokens.Signer(SECRET, access_seconds=900), 30, code_key=SECRET, resident_communities=("maxian",))


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as s:
        yield s


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    from argon2 import PasswordHasher

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def staff(session, username="wang.grid", password="correct horse battery", **kw):
    data = {
        "username": username,
        "display_name": "王网格",
        "role": "grid_member",
        "communities": ["maxian"],
        "bureau": None,
        "phone": None,
        "roster_id": None,
        "member_id": None,
        "password": password,
    } | kw
    account, _ = accounts.create(session, data, ADMIN, T0)
    return account


def claims_of(session_body):
    return jwt.decode(session_body["access_token"], SECRET, algorithms=["HS256"], options={"verify_exp": False})


def test_phones_are_normalised_to_e164_and_masked():
    assert phones.normalise("138 0000 1234") == phones.normalise("+86 138-0000-1234") == "+8613800001234"
    assert phones.normalise("12345") is None
    assert phones.masked("+8613800001234") == "138****1234"


def test_password_sign_in_gives_the_claims_the_gateway_verifies(session):
    staff(session, roster_id="m-0001")
    body = signin.login(session, "Wang.Grid", "correct horse battery", POLICY, T0)
    claims = claims_of(body)
    assert claims["sub"] == "m-0001"  # routing knows a handler by their roster id
    assert (claims["role"], claims["communities"]) == ("grid_member", ["maxian"])
    assert claims["exp"] - claims["iat"] == 900 == body["expires_in"]
    assert body["account"]["username"] == "wang.grid" and "password_hash" not in body["account"]


def test_unknown_user_and_wrong_password_get_the_same_answer(session):
    staff(session)
    wrong = signin.login(session, "wang.grid", "not the password", POLICY, T0)
    unknown = signin.login(session, "nobody", "not the password", POLICY, T0)
    assert isinstance(wrong, Refused) and isinstance(unknown, Refused)
    assert wrong.args == unknown.args
    assert (wrong.status, wrong.problem_type) == (401, "urn:minqing:problem:invalid-credentials")


@pytest.mark.parametrize("username", ["wang.grid", "nobody"])
def test_failures_lock_the_name_with_back_off_whether_or_not_it_exists(session, username):
    staff(session)
    for _ in range(passwords.FREE_FAILURES):
        assert signin.login(session, username, "bad", POLICY, T0).status == 401
    locked = signin.login(session, username, "correct horse battery", POLICY, T0 + timedelta(seconds=59))
    assert (locked.status, locked.headers) == (429, {"Retry-After": "1"})
    assert signin.login(session, username, "bad", POLICY, T0 + timedelta(seconds=60)).status == 401  # 6th failure
    locked = signin.login(session, username, "bad", POLICY, T0 + timedelta(seconds=61))
    assert locked.headers == {"Retry-After": "119"}  # two minutes from the 6th failure
    later = T0 + timedelta(seconds=180)
    if username == "wang.grid":
        assert "access_token" in signin.login(session, username, "correct horse battery", POLICY, later)


def test_back_off_doubles_up_to_an_hour():
    locks = [passwords.lock_after(n, T0) for n in range(4, 14)]
    assert locks[0] is None
    assert [(lock - T0).total_seconds() for lock in locks[1:]] == [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]


def test_only_a_district_admin_may_be_district_wide():
    from marshmallow import ValidationError

    from services.accounts.schemas import AccountIn

    base = {"username": "li.si", "display_name": "李四", "communities": ["*"]}
    with pytest.raises(ValidationError) as caught:
        AccountIn().load(base | {"role": "grid_member"})
    assert "communities" in caught.value.messages
    assert AccountIn().load(base | {"role": "district_admin"})["communities"] == ["*"]
    with pytest.raises(ValidationError) as caught:
        AccountIn().load(base | {"role": "bureau_handler", "communities": ["maxian"]})
    assert "bureau" in caught.value.messages


def test_a_community_admin_manages_only_the_staff_below_them_in_their_communities(session):
    admin = {"sub": "mx-admin", "role": "community_admin", "communities": ["maxian"], "bureau": None}
    assert accounts.may_manage(admin, "grid_member", ["maxian"])
    assert not accounts.may_manage(admin, "grid_member", ["maxian", "luoxing"])
    assert not accounts.may_manage(admin, "community_admin", ["maxian"])
    assert not accounts.may_manage(admin, "district_admin", ["*"])
    other = staff(session, communities=["luoxing"])
    from minqing.errors import NotFound

    with pytest.raises(NotFound):
        accounts.get(session, other.id, admin)


def test_weak_passwords_are_refused_naming_the_field(session):
    with pytest.raises(InvalidInput) as caught:
        staff(session, password="short")
    assert "password" in caught.value.errors


def test_a_resident_signs_in_by_code_and_keeps_their_sub(session, monkeypatch):
    monkeypatch.setattr(tokens, "new_code", lambda: "123456")
    phone, code = signin.request_code(session, "138 0000 1234", "10.0.0.1", POLICY, T0)
    assert (phone, code) == ("+8613800001234", "123456")
    first = signin.verify_code(session, "13800001234", "123456", None, POLICY, T0 + timedelta(minutes=4))
    assert first["account"]["role"] == "resident" and first["account"]["communities"] == ["maxian"]
    assert first["account"]["phone"] == "138****1234"
    again = signin.request_code(session, "+8613800001234", "10.0.0.1", POLICY, T0 + timedelta(minutes=10))
    second = signin.verify_code(session, again[0], again[1], "luoxing", POLICY, T0 + timedelta(minutes=11))
    assert claims_of(second)["sub"] == claims_of(first)["sub"] == first["account"]["id"]
    assert claims_of(second)["communities"] == ["luoxing", "maxian"]
    assert session.scalar(select(Account.id).where(Account.role == "resident").limit(2)) == first["account"]["id"]


def test_a_code_expires_after_five_minutes_and_works_once(session, monkeypatch):
    monkeypatch.setattr(tokens, "new_code", lambda: "654321")
    signin.request_code(session, "13800001234", "10.0.0.1", POLICY, T0)
    expired = signin.verify_code(session, "13800001234", "654321", None, POLICY, T0 + timedelta(minutes=5))
    assert expired.problem_type == "urn:minqing:problem:invalid-code"
    signin.request_code(session, "13800001234", "10.0.0.1", POLICY, T0 + timedelta(minutes=6))
    assert "access_token" in signin.verify_code(
        session, "13800001234", "654321", None, POLICY, T0 + timedelta(minutes=7)
    )
    reused = signin.verify_code(session, "13800001234", "654321", None, POLICY, T0 + timedelta(minutes=7))
    assert reused.status == 401


def test_five_wrong_codes_spend_the_code(session, monkeypatch):
    monkeypatch.setattr(tokens, "new_code", lambda: "111111")
    signin.request_code(session, "13800001234", "10.0.0.1", POLICY, T0)
    for _ in range(signin.CODE_ATTEMPTS):
        assert signin.verify_code(session, "13800001234", "999999", None, POLICY, T0).status == 401
    assert signin.verify_code(session, "13800001234", "111111", None, POLICY, T0).status == 401


def test_codes_are_limited_per_phone_and_per_address(session):
    assert isinstance(signin.request_code(session, "13800001234", "a", POLICY, T0), tuple)
    too_soon = signin.request_code(session, "13800001234", "a", POLICY, T0 + timedelta(seconds=30))
    assert (too_soon.status, too_soon.headers) == (429, {"Retry-After": "30"})
    for n in range(1, signin.CODES_PER_PHONE_PER_HOUR):
        assert isinstance(signin.request_code(session, "13800001234", "a", POLICY, T0 + timedelta(minutes=n)), tuple)
    flood = signin.request_code(session, "13800001234", "a", POLICY, T0 + timedelta(minutes=10))
    assert flood.problem_type == "urn:minqing:problem:code-flood"
    for n in range(signin.CODES_PER_CLIENT_PER_HOUR - signin.CODES_PER_PHONE_PER_HOUR):
        assert isinstance(
            signin.request_code(session, f"1390000{n:04d}", "a", POLICY, T0 + timedelta(minutes=11)), tuple
        )
    from_address = signin.request_code(session, "13700001234", "a", POLICY, T0 + timedelta(minutes=12))
    assert from_address.problem_type == "urn:minqing:problem:code-flood"
    assert isinstance(signin.request_code(session, "13700001234", "b", POLICY, T0 + timedelta(minutes=12)), tuple)


def test_refresh_rotates_and_a_replay_revokes_the_family(session):
    staff(session)
    first = signin.login(session, "wang.grid", "correct horse battery", POLICY, T0)
    second = signin.refresh(session, first["refresh_token"], POLICY, T0 + timedelta(minutes=10))
    assert second["refresh_token"] != first["refresh_token"]
    replay = signin.refresh(session, first["refresh_token"], POLICY, T0 + timedelta(minutes=11))
    assert replay.problem_type == "urn:minqing:problem:refresh-token-reused"
    assert signin.refresh(session, second["refresh_token"], POLICY, T0 + timedelta(minutes=12)).status == 401
    expired = signin.login(session, "wang.grid", "correct horse battery", POLICY, T0)
    assert signin.refresh(session, expired["refresh_token"], POLICY, T0 + timedelta(days=30)).status == 401


def test_a_disabled_account_cannot_refresh_or_sign_in(session):
    account = staff(session)
    body = signin.login(session, "wang.grid", "correct horse battery", POLICY, T0)
    accounts.disable(session, account, T0 + timedelta(minutes=1))
    refused = signin.refresh(session, body["refresh_token"], POLICY, T0 + timedelta(minutes=2))
    assert refused.status == 401  # revoked with the account
    disabled = signin.login(session, "wang.grid", "correct horse battery", POLICY, T0 + timedelta(minutes=2))
    assert disabled.problem_type == "urn:minqing:problem:account-disabled"
    assert signin.login(session, "wang.grid", "wrong!", POLICY, T0 + timedelta(minutes=2)).status == 401


def test_demo_logins_are_generated_once_and_sign_in(session, tmp_path):
    from services.accounts import demo

    path = tmp_path / "demo-accounts.json"
    assert demo.load(session, path, T0) == len(demo.DEMO)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    logins = json.loads(path.read_text(encoding="utf-8"))
    assert {login["role"] for login in logins} == set(ROLES) - {"resident"}
    assert demo.load(session, path, T0) == 0  # the same passwords: nothing to do
    unit = next(login for login in logins if login["role"] == "unit_handler")
    body = signin.login(session, unit["username"], unit["password"], POLICY, T0)
    assert claims_of(body)["sub"] == "maxian-u01"  # routing knows the unit by its code
    path.unlink()  # removed: new passwords, set again on the same accounts
    assert demo.load(session, path, T0) == len(demo.DEMO)
    assert signin.login(session, unit["username"], unit["password"], POLICY, T0 + timedelta(hours=1)).status == 401

"""Security rules that need no broker: token claims, formula-safe cells, JSON bombs, headers."""

import jwt
import pytest

from gateway.auth import AuthError, TokenVerifier, mint
from minqing.cli import main

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

import jwt
import pytest

from gateway.auth import AuthError, Principal, TokenVerifier, mask, mask_numbers, mask_phone, mint

SECRET = "unit-test-secret-0123456789abcdef"


def test_mint_and_verify():
    verifier = TokenVerifier(SECRET)
    token = mint(SECRET, "u1", "grid_member", ["maxian"])
    principal = verifier.verify(f"Bearer {token}")
    assert principal == Principal("u1", "grid_member", ("maxian",), None)
    assert principal.scope() == {"sub": "u1", "role": "grid_member", "communities": ["maxian"], "bureau": None}


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic abc",
        "Bearer ",
        "Bearer x.y.z",
        "Bearer " + mint("another-secret-of-at-least-32-bytes", "u", "resident", ["maxian"]),
    ],
)
def test_untrusted_tokens(header):
    with pytest.raises(AuthError):
        TokenVerifier(SECRET).verify(header)


def test_unknown_role_and_bad_claims():
    bad_role = jwt.encode({"sub": "u", "role": "king", "exp": 9999999999}, SECRET, algorithm="HS256")
    bad_list = jwt.encode({"sub": "u", "role": "resident", "communities": "maxian", "exp": 9999999999}, SECRET)
    no_exp = jwt.encode({"sub": "u", "role": "resident"}, SECRET)
    for token in (bad_role, bad_list, no_exp):
        with pytest.raises(AuthError):
            TokenVerifier(SECRET).verify("Bearer " + token)
    with pytest.raises(ValueError):
        mint(SECRET, "u", "king", ["*"])


def test_short_secrets_are_refused():
    with pytest.raises(ValueError, match="at least 32 bytes"):
        TokenVerifier("short")


def test_masking_by_role():
    item = {"reporter": {"name": "王", "phone": "13800001234"}, "location": {"address": "3号楼2单元502室"}}
    assert mask(Principal("u", "community_admin", ("maxian",)), item) == item
    masked = mask(Principal("u", "district_admin", ("*",)), item)
    assert masked["reporter"]["phone"] == "138****1234" and masked["location"]["address"] == "3号楼2单元***室"
    assert item["reporter"]["phone"] == "13800001234"  # the original is untouched
    assert mask_phone(None) is None and mask_phone("12345") == "****"
    assert mask_numbers("1203室") == "***室"

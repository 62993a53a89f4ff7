"""Bearer JWTs: who is calling, in which role, for which communities (API.md, Auth)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from minqing.vocabulary import ROLES

# roles that work cases hands-on see phone numbers and house numbers; the others get them masked
UNMASKED_ROLES = frozenset({"grid_member", "community_admin", "resident"})


MIN_SECRET_BYTES = 32
# the columns a token's claims are written to (who registered, replied, voted…) hold 120 characters; a
# community or bureau is a short code of at most 40; longer claims cannot be anyone and are refused
MAX_SUB = 120
MAX_CODE = 40
MAX_COMMUNITIES = 200
# only the district's administrators see every community; any other role names the communities it serves
WILDCARD_ROLES = frozenset({"district_admin"})


class AuthError(Exception):
    """401: no token, or one we cannot trust."""


@dataclass(frozen=True)
class Principal:
    sub: str
    role: str
    communities: tuple[str, ...]
    bureau: str | None = None

    @property
    def district_wide(self) -> bool:
        return "*" in self.communities

    def scope(self) -> dict:
        return {"sub": self.sub, "role": self.role, "communities": list(self.communities), "bureau": self.bureau}


class TokenVerifier:
    def __init__(self, secret: str | None, public_key: str | None = None):
        if public_key:
            self.key, self.algorithms = public_key, ["RS256"]
        elif not secret or len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"MINQING_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (RFC 7518, HS256)")
        else:
            self.key, self.algorithms = secret, ["HS256"]

    def verify(self, header: str | None) -> Principal:
        if not header or not header.startswith("Bearer "):
            raise AuthError("missing bearer token")
        try:
            claims = jwt.decode(
                header[7:].strip(), self.key, algorithms=self.algorithms, options={"require": ["sub", "exp", "role"]}
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        role, communities = claims.get("role"), claims.get("communities", [])
        if role not in ROLES:
            raise AuthError(f"unknown role {role!r}")
        if not isinstance(communities, list) or not all(isinstance(c, str) for c in communities):
            raise AuthError("claim 'communities' must be a list of community codes")
        check_claims(str(claims["sub"]), role, communities, claims.get("bureau"), AuthError)
        return Principal(str(claims["sub"]), role, tuple(communities), claims.get("bureau"))


def check_claims(sub: str, role: str, communities: list, bureau, error=ValueError) -> None:
    """What no token may carry, whether we are reading one or minting one."""
    if not sub or len(sub) > MAX_SUB:
        raise error(f"claim 'sub' must be 1 to {MAX_SUB} characters")
    if len(communities) > MAX_COMMUNITIES or any(len(c) > MAX_CODE for c in communities):
        raise error(f"claim 'communities' must be at most {MAX_COMMUNITIES} codes of at most {MAX_CODE} characters")
    if "*" in communities and role not in WILDCARD_ROLES:
        raise error(f"only a district_admin token may name every community ('*'); a {role} names its communities")
    if bureau is not None and (not isinstance(bureau, str) or not bureau or len(bureau) > MAX_CODE):
        raise error(f"claim 'bureau' must be a code of at most {MAX_CODE} characters")


def mint(secret: str, sub: str, role: str, communities: list[str], hours: float = 12, bureau: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    check_claims(sub, role, communities, bureau or None)
    now = datetime.now(UTC)
    claims = {"sub": sub, "role": role, "communities": communities, "iat": now, "exp": now + timedelta(hours=hours)}
    if bureau:
        claims["bureau"] = bureau
    return jwt.encode(claims, secret, algorithm="HS256")


def mask_phone(phone: str | None) -> str | None:
    if not phone or len(phone) < 7:
        return phone and "****"
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_numbers(text: str | None) -> str | None:
    """House numbers: any run of 3+ digits (room 0502, 1203室) becomes ***."""
    return re.sub(r"\d{3,}", "***", text) if text else text


def mask(principal: Principal, item: dict) -> dict:
    if principal.role in UNMASKED_ROLES:
        return item
    item = dict(item)
    if isinstance(item.get("reporter"), dict):
        item["reporter"] = {**item["reporter"], "phone": mask_phone(item["reporter"].get("phone"))}
    if isinstance(item.get("location"), dict):
        item["location"] = {**item["location"], "address": mask_numbers(item["location"].get("address"))}
    for key in ("phone", "contact_phone"):
        if key in item:
            item[key] = mask_phone(item[key])
    if isinstance(item.get("member"), dict):  # the annual file names its member, phone and all
        item["member"] = mask(principal, item["member"])
    if "room" in item:
        # a household's code is its building, unit and room: masked with the room, or it gives the room away
        if isinstance(item.get("code"), str):
            item["code"] = mask_household(item["code"], item["room"])
        item["room"] = "***"
    if isinstance(item.get("household"), str):
        item["household"] = mask_household(item["household"])
    return item


def mask_household(code: str, room: str | None = None) -> str:
    """`maxian-b01-1-0101` → `maxian-b01-1-***`: the room (the code's last part) hidden, the building kept."""
    if room and code.endswith(room):
        return code[: -len(room)] + "***"
    head, sep, _ = code.rpartition("-")
    return head + sep + "***" if sep else mask_numbers(code)

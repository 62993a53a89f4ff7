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
        return Principal(str(claims["sub"]), role, tuple(communities), claims.get("bureau"))


def mint(secret: str, sub: str, role: str, communities: list[str], hours: float = 12, bureau: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    # the real clock, not minqing.clock: a token's lifetime is security time, checked by PyJWT and by other
    # parties against the real time, so a test or demo running the business at another date must not mint
    # tokens that are already expired or not yet valid
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
    if "room" in item:
        item["room"] = "***"
    return item

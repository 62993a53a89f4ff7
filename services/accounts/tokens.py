"""The tokens accounts issues: a short-lived access JWT, exactly what gateway/auth.py verifies, and an opaque
refresh token of which only the SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt


@dataclass(frozen=True)
class Signer:
    """HS256 with the shared secret, or RS256 with a private key when the gateway verifies a public key."""

    secret: str
    private_key: str | None = None
    access_seconds: int = 900

    def access_token(self, claims: dict, now: datetime) -> str:
        body = {**claims, "iat": now, "exp": now + timedelta(seconds=self.access_seconds)}
        if self.private_key:
            return jwt.encode(body, self.private_key, algorithm="RS256")
        return jwt.encode(body, self.secret, algorithm="HS256")


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def code_digest(key: str, phone: str, code: str) -> str:
    """A sign-in code keyed with the server's secret: the table alone does not give the million candidates away."""
    return hmac.new(key.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"

"""Passwords (argon2id) and the back-off after failed sign-ins. Pure rules, no database."""

from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's second recommendation (argon2id, 64 MiB, t=3, p=4)
_hasher = PasswordHasher()
# checked when no account has the name, so an unknown user costs the same time as a wrong password
_DUMMY = _hasher.hash("no such account; this hash only costs time")

MIN_LENGTH = 10
MAX_LENGTH = 128
FREE_FAILURES = 5  # failures before the first lockout
FIRST_LOCK = timedelta(minutes=1)
LONGEST_LOCK = timedelta(hours=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def weakness(password: str, username: str | None = None) -> str | None:
    """Why a new password is refused, or None. Length is what matters (NIST SP 800-63B); no composition rules."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if len(set(password)) < 4:
        return "must not repeat a few characters"
    if username and username.lower() in password.lower():
        return "must not contain the username"
    return None


def lock_after(failures: int, now: datetime) -> datetime | None:
    """When the name is locked until after `failures` consecutive failures: free for the first few, then one
    minute, doubling with every further failure, at most an hour."""
    if failures < FREE_FAILURES:
        return None
    lock = min(FIRST_LOCK * 2 ** (failures - FREE_FAILURES), LONGEST_LOCK)
    return now + lock

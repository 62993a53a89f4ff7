"""Signing in: by username and password, or by a code sent to a phone; refreshing and signing out.

Every refusal is a `Refused` that says what was wrong with the attempt and never whether an account exists:
an unknown user and a wrong password get the same answer, failures are counted per login name whatever it
names, and a code is 'sent' (the same 202) to any valid phone. A function that must record a failure returns
the refusal instead of raising it, so the caller commits the count first and raises after.
"""

from __future__ import annotations

import hmac
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from minqing.errors import Conflict, InvalidInput, Refused
from services.accounts import passwords, phones, tokens
from services.accounts.accounts import out, revoke_all
from services.accounts.models import Account, LoginThrottle, RefreshToken, SignInCode

CODE_TTL = timedelta(minutes=5)
CODE_ATTEMPTS = 5
RESEND_AFTER = timedelta(seconds=60)
CODES_PER_PHONE_PER_HOUR = 5
CODES_PER_CLIENT_PER_HOUR = 20

BAD_CREDENTIALS = "the username or password is wrong"


@dataclass(frozen=True)
class Policy:
    signer: tokens.Signer
    refresh_days: float = 30
    code_key: str = ""  # HMAC key for stored codes
    resident_communities: tuple[str, ...] = ()


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


def claims(account: Account) -> dict:
    body = {"sub": account.subject, "role": account.role, "communities": list(account.communities or [])}
    if account.bureau:
        body["bureau"] = account.bureau
    return body


def issue(session: Session, account: Account, policy: Policy, now: datetime, family: str | None = None) -> dict:
    """A new access token and refresh token (in `family`, or a new one for a new sign-in)."""
    refresh = tokens.new_refresh_token()
    lifetime = timedelta(days=policy.refresh_days)
    session.add(
        RefreshToken(
            id=uuid.uuid4().hex,
            token_hash=tokens.digest(refresh),
            family=family or uuid.uuid4().hex,
            account_id=account.id,
            issued_at=now,
            expires_at=now + lifetime,
        )
    )
    return {
        "access_token": policy.signer.access_token(claims(account), now),
        "token_type": "Bearer",
        "expires_in": policy.signer.access_seconds,
        "refresh_token": refresh,
        "refresh_expires_in": int(lifetime.total_seconds()),
        "account": out(account),
    }


def _disabled() -> Refused:
    return Refused("this account is disabled; ask your administrator", "account-disabled", 403)


# --- password ---------------------------------------------------------------------------------------------
def login(session: Session, username: str, password: str, policy: Policy, now: datetime) -> dict | Refused:
    name = username.strip().lower()[:60]
    throttle = session.scalars(select(LoginThrottle).where(LoginThrottle.name == name).with_for_update()).first()
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        wait = _seconds(throttle.locked_until - now)
        return Refused(f"too many failed sign-ins; try again in {wait} s", "sign-in-locked", 429, wait)
    account = session.scalars(select(Account).where(Account.username == name)).first()
    if not passwords.verify(account.password_hash if account else None, password):
        if throttle is None:
            throttle = LoginThrottle(name=name, failures=0)
            session.add(throttle)
        throttle.failures += 1
        throttle.last_failure_at = now
        throttle.locked_until = passwords.lock_after(throttle.failures, now)
        return Refused(BAD_CREDENTIALS, "invalid-credentials", 401)
    if throttle is not None:
        session.delete(throttle)
    if account.disabled:
        return _disabled()
    return issue(session, account, policy, now)


def change_password(session: Session, subject: str, current: str, new: str, now: datetime) -> None | Refused:
    account = session.scalars(select(Account).where(Account.subject == subject).with_for_update()).first()
    if account is None or account.disabled or account.password_hash is None:
        raise Conflict("this login has no password to change")
    if not passwords.verify(account.password_hash, current):
        return Refused("the current password is wrong", "invalid-credentials", 401)
    problem = passwords.weakness(new, account.username)
    if problem is None and passwords.verify(account.password_hash, new):
        problem = "must differ from the current password"
    if problem:
        raise InvalidInput("the request has invalid fields", {"new_password": [problem]})
    account.password_hash = passwords.hash_password(new)
    account.must_change_password = False
    account.updated_at, account.version = now, account.version + 1
    revoke_all(session, account.id, now, "password")  # other devices sign in again
    return None


# --- phone code -------------------------------------------------------------------------------------------
def _phone(raw: str) -> str:
    phone = phones.normalise(raw)
    if phone is None:
        raise InvalidInput("the request has invalid fields", {"phone": [f"not a valid phone number: {raw!r}"]})
    return phone


def request_code(
    session: Session, raw_phone: str, client: str, policy: Policy, now: datetime
) -> tuple[str, str] | Refused:
    """(phone, code) to send, or a refusal when this phone or this address asked too often."""
    phone = _phone(raw_phone)
    hour = now - timedelta(hours=1)
    recent = select(func.count(), func.max(SignInCode.created_at)).where(SignInCode.created_at > hour)
    count, last = session.execute(recent.where(SignInCode.phone == phone)).one()
    if last is not None and last + RESEND_AFTER > now:
        wait = _seconds(last + RESEND_AFTER - now)
        return Refused(f"a code was just sent; ask again in {wait} s", "code-too-soon", 429, wait)
    if count >= CODES_PER_PHONE_PER_HOUR:
        return Refused("too many codes for this phone; try again later", "code-flood", 429, 3600)
    (from_client, _) = session.execute(recent.where(SignInCode.client == client[:64])).one()
    if from_client >= CODES_PER_CLIENT_PER_HOUR:
        return Refused("too many codes from this address; try again later", "code-flood", 429, 3600)
    # an earlier code stops working when a new one is sent: only the newest is valid
    session.execute(
        update(SignInCode).where(SignInCode.phone == phone, SignInCode.used_at.is_(None)).values(used_at=now)
    )
    code = tokens.new_code()
    session.add(
        SignInCode(
            id=uuid.uuid4().hex,
            phone=phone,
            client=client[:64],
            code_hash=tokens.code_digest(policy.code_key, phone, code),
            created_at=now,
            expires_at=now + CODE_TTL,
            attempts=0,
        )
    )
    return phone, code


def verify_code(
    session: Session, raw_phone: str, code: str, community: str | None, policy: Policy, now: datetime
) -> dict | Refused:
    phone = _phone(raw_phone)
    pending = session.scalars(
        select(SignInCode)
        .where(SignInCode.phone == phone, SignInCode.used_at.is_(None), SignInCode.expires_at > now)
        .order_by(SignInCode.created_at.desc())
        .limit(1)
        .with_for_update()
    ).first()
    wrong = Refused("the code is wrong, expired or already used; ask for a new one", "invalid-code", 401)
    if pending is None:
        return wrong
    pending.attempts += 1
    if pending.attempts >= CODE_ATTEMPTS:
        pending.used_at = now  # the last attempt: right or wrong, this code is spent
    if not hmac.compare_digest(pending.code_hash, tokens.code_digest(policy.code_key, phone, code)):
        return wrong
    pending.used_at = now
    account = session.scalars(select(Account).where(Account.phone == phone).with_for_update()).first()
    if account is None:
        account = _new_resident(session, phone, policy, now)
    elif account.role != "resident":
        return Refused("staff sign in with their username and password", "use-password", 401)
    if account.disabled:
        return _disabled()
    if community and community not in account.communities:
        account.communities = sorted({*account.communities, community})
        account.updated_at, account.version = now, account.version + 1
    return issue(session, account, policy, now)


def _new_resident(session: Session, phone: str, policy: Policy, now: datetime) -> Account:
    """A resident's account, made at their first sign-in. Its id is the token's `sub` for good, so the cases
    they register (intake stores the `sub` as the reporter) stay theirs at every later sign-in."""
    account_id = uuid.uuid4().hex
    account = Account(
        id=account_id,
        subject=account_id,
        username=None,
        phone=phone,
        display_name="居民" + phones.masked(phone),
        role="resident",
        communities=sorted(policy.resident_communities),
        password_hash=None,
        must_change_password=False,
        disabled=False,
        sms_opt_out=False,
        created_by="sign-in",
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(account)
    session.flush()
    return account


# --- refresh and sign out ---------------------------------------------------------------------------------
def refresh(session: Session, refresh_token: str, policy: Policy, now: datetime) -> dict | Refused:
    row = session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(refresh_token)).with_for_update()
    ).first()
    if row is None or row.expires_at <= now:
        return Refused("the refresh token is unknown or expired; sign in again", "invalid-refresh-token", 401)
    if row.revoked_at is not None:
        if row.revoked_reason == "rotated":
            # a token already exchanged came back: whoever holds the family's newest token may be a thief
            _revoke_family(session, row.family, now)
            return Refused("the refresh token was already used; sign in again", "refresh-token-reused", 401)
        return Refused("the refresh token was revoked; sign in again", "invalid-refresh-token", 401)
    account = session.get(Account, row.account_id)
    if account is None or account.disabled:
        _revoke_family(session, row.family, now)
        return _disabled()
    row.revoked_at, row.revoked_reason = now, "rotated"
    return issue(session, account, policy, now, family=row.family)


def _revoke_family(session: Session, family: str, now: datetime) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="replayed")
    )


def logout(session: Session, refresh_token: str, now: datetime) -> None:
    """Ends the sign-in the token belongs to (its whole family). An unknown token is not an error: signing
    out twice is still signed out."""
    row = session.scalars(select(RefreshToken).where(RefreshToken.token_hash == tokens.digest(refresh_token))).first()
    if row is not None:
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family == row.family, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason="logout")
        )


def set_opt_out(session: Session, subject: str, opt_out: bool, now: datetime) -> dict:
    from minqing.errors import NotFound

    account = session.scalars(select(Account).where(Account.subject == subject).with_for_update()).first()
    if account is None:
        raise NotFound("no account signs in as this token's subject (a token minted by `minqing token`?)")
    account.sms_opt_out = opt_out
    account.updated_at, account.version = now, account.version + 1
    return out(account)


def me(session: Session, subject: str) -> dict:
    from minqing.errors import NotFound

    account = session.scalars(select(Account).where(Account.subject == subject)).first()
    if account is None:
        raise NotFound("no account signs in as this token's subject (a token minted by `minqing token`?)")
    return out(account)

"""Staff accounts: who may manage whom, creating, changing, resetting and disabling (never deleting).

A district admin manages every account. A community admin manages the grid members, unit handlers and deputies
of their own communities (never another admin, a bureau handler or a resident): the people they work with
every day, and no one who could see more than they do.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from marshmallow import ValidationError
from sqlalchemy import String, cast, or_, select, update
from sqlalchemy.orm import Session

from minqing import paging
from minqing.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.accounts import passwords, phones
from services.accounts.models import Account, RefreshToken
from services.accounts.schemas import check_claims

COMMUNITY_MANAGED = ("grid_member", "unit_handler", "deputy")


def out(account: Account) -> dict:
    return {
        "id": account.id,
        "username": account.username,
        "display_name": account.display_name,
        "role": account.role,
        "communities": list(account.communities or []),
        "bureau": account.bureau,
        "phone": phones.masked(account.phone),
        "roster_id": account.roster_id,
        "member_id": account.member_id,
        "disabled": account.disabled,
        "must_change_password": account.must_change_password,
        "sms_opt_out": account.sms_opt_out,
        "household": account.household,
        "household_community": account.household_community,
        "household_status": account.household_status,
        "household_candidates": list(account.household_candidates or []),
    }


def may_manage(scope: dict, role: str, communities: list[str]) -> bool:
    if scope["role"] == "district_admin" and "*" in scope["communities"]:
        return True
    if scope["role"] in ("community_admin", "district_admin"):
        mine = set(scope["communities"])
        return role in COMMUNITY_MANAGED and bool(communities) and set(communities) <= mine
    return False


def require_admin(scope: dict) -> None:
    if scope["role"] not in ("community_admin", "district_admin"):
        raise Forbidden("only district and community admins manage accounts")


def get(session: Session, account_id: str, scope: dict, lock: bool = False) -> Account:
    """An account the caller may manage; any other is 'not found', never 'forbidden'."""
    require_admin(scope)
    stmt = select(Account).where(Account.id == account_id)
    account = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if account is None or not may_manage(scope, account.role, list(account.communities or [])):
        raise NotFound(f"account {account_id!r} not found")
    return account


def _phone(raw: str | None) -> str | None:
    if raw is None:
        return None
    phone = phones.normalise(raw)
    if phone is None:
        raise InvalidInput("the request has invalid fields", {"phone": [f"not a valid phone number: {raw!r}"]})
    return phone


def _password(password: str, username: str | None) -> str:
    problem = passwords.weakness(password, username)
    if problem:
        raise InvalidInput("the request has invalid fields", {"password": [problem]})
    return passwords.hash_password(password)


def _unique(session: Session, account: Account) -> None:
    """The username, phone and token subject each belong to one account: say which is taken."""
    for field, column, value in (
        ("username", Account.username, account.username),
        ("phone", Account.phone, account.phone),
        ("roster_id", Account.subject, account.subject),
    ):
        if value is None:
            continue
        other = session.scalars(select(Account.id).where(column == value, Account.id != account.id)).first()
        if other is not None:
            raise Conflict(f"another account already has this {field}")


def generated_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits


def create(session: Session, data: dict, scope: dict, now: datetime) -> tuple[Account, str | None]:
    require_admin(scope)
    if not may_manage(scope, data["role"], data["communities"]):
        raise Forbidden(
            "a community admin creates only grid members, unit handlers and deputies of their own communities"
        )
    initial = None if data.get("password") else generated_password()
    account_id = uuid.uuid4().hex
    account = Account(
        id=account_id,
        subject=data.get("roster_id") or account_id,
        username=data["username"],
        phone=_phone(data.get("phone")),
        display_name=data["display_name"],
        role=data["role"],
        communities=sorted(set(data["communities"])),
        bureau=data.get("bureau"),
        roster_id=data.get("roster_id"),
        member_id=data.get("member_id"),
        password_hash=_password(data.get("password") or initial, data["username"]),
        must_change_password=initial is not None,
        disabled=False,
        sms_opt_out=False,
        created_by=scope["sub"],
        created_at=now,
        updated_at=now,
        version=1,
    )
    _unique(session, account)
    session.add(account)
    session.flush()
    return account, initial


def change(session: Session, account: Account, data: dict, scope: dict, now: datetime) -> Account:
    role = data.get("role", account.role)
    communities = sorted(set(data.get("communities", account.communities)))
    bureau = data["bureau"] if "bureau" in data else account.bureau
    try:
        check_claims(role, communities, bureau)
    except Exception as exc:  # marshmallow's ValidationError, on the merged account
        raise InvalidInput("the request has invalid fields", getattr(exc, "messages", {})) from None
    if not may_manage(scope, role, communities):
        raise Forbidden("a community admin cannot give an account a role or community beyond their own")
    for field in ("display_name", "roster_id", "member_id", "sms_opt_out"):
        if field in data:
            setattr(account, field, data[field])
    if "phone" in data:
        account.phone = _phone(data["phone"])
    account.role, account.communities, account.bureau = role, communities, bureau
    account.subject = account.roster_id or account.id
    account.updated_at, account.version = now, account.version + 1
    _unique(session, account)
    if {"role", "communities", "bureau", "roster_id"} & set(data):
        # what a token claims changed: sessions must sign in again to get it
        revoke_all(session, account.id, now, "changed")
    session.flush()
    return account


def reset_password(session: Session, account: Account, password: str | None, now: datetime) -> str | None:
    if account.role == "resident":
        raise Conflict("a resident signs in with a code sent to their phone and has no password")
    initial = None if password else generated_password()
    account.password_hash = _password(password or initial, account.username)
    account.must_change_password = True
    account.updated_at, account.version = now, account.version + 1
    revoke_all(session, account.id, now, "reset")
    return initial


def disable(session: Session, account: Account, now: datetime) -> Account:
    account.disabled = True
    account.updated_at, account.version = now, account.version + 1
    revoke_all(session, account.id, now, "disabled")
    return account


def revoke_all(session: Session, account_id: str, now: datetime, reason: str) -> None:
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )


def listing(session: Session, query: dict, scope: dict) -> dict:
    require_admin(scope)
    stmt = select(Account)
    district = scope["role"] == "district_admin" and "*" in scope["communities"]
    wanted = [query["community"]] if query.get("community") else ([] if district else list(scope["communities"]))
    if not district and query.get("community") and query["community"] not in scope["communities"]:
        return {"items": [], "next_cursor": None}
    if wanted:
        # JSON lists are compared as text, which PostgreSQL and SQLite both can: '"maxian"' is in the list
        text = cast(Account.communities, String)
        stmt = stmt.where(or_(*(text.like(f'%"{_literal(c)}"%', escape="\\") for c in wanted)))
    if query.get("household_pending"):
        # residents waiting for staff to say which household listing their phone is theirs
        stmt = select(Account).where(Account.household_status == "pending")
        if not district:
            stmt = stmt.where(Account.household_community.in_(scope["communities"]))
        if query.get("community"):
            stmt = stmt.where(Account.household_community == query["community"])
        district = True  # the residents shown are exactly those of the admin's communities
    elif not district:
        stmt = stmt.where(Account.role.in_(COMMUNITY_MANAGED))
    if query.get("role"):
        stmt = stmt.where(Account.role == query["role"])
    if query.get("disabled") is not None:
        stmt = stmt.where(Account.disabled.is_(query["disabled"]))
    if query.get("q"):
        like = f"%{_literal(query['q'])}%"
        stmt = stmt.where(Account.username.like(like, escape="\\") | Account.display_name.like(like, escape="\\"))
    if query.get("cursor"):
        (after,) = paging.decode(query["cursor"], 1)
        stmt = stmt.where(Account.id > after)
    rows = list(session.scalars(stmt.order_by(Account.id).limit(query["limit"] + 1)))
    if not district:
        rows = [a for a in rows if may_manage(scope, a.role, list(a.communities or []))]
    found = paging.page(rows, query["limit"], lambda a: (a.id,))
    return {"items": [out(a) for a in found["items"]], "next_cursor": found["next_cursor"]}


def _literal(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def import_rows(session: Session, rows: list[dict], scope: dict, now: datetime) -> dict:
    """Create each row's account, or update the one with its username (never its password). Returns the new
    accounts' generated passwords, to be handed over once. A bad row is named by its index in `rows`."""
    created, updated = [], 0
    for index, row in enumerate(rows):
        try:
            updated += _import_row(session, row, scope, now, created)
        except ValidationError as exc:
            raise InvalidInput(f"item {index} is invalid", {str(index): exc.messages}) from None
        except InvalidInput as exc:
            raise InvalidInput(f"item {index} is invalid", {str(index): exc.errors}) from None
    return {"created": created, "updated": updated}


def _import_row(session: Session, row: dict, scope: dict, now: datetime, created: list) -> int:
    from services.accounts.schemas import AccountChange, AccountIn

    existing = session.scalars(select(Account).where(Account.username == row.get("username"))).first()
    if existing is None:
        account, initial = create(session, AccountIn().load(row), scope, now)
        created.append({"username": account.username, "initial_password": initial})
        return 0
    if not may_manage(scope, existing.role, list(existing.communities or [])):
        raise Forbidden(f"account {existing.username!r} is not one you manage")
    change(session, existing, AccountChange().load({k: v for k, v in row.items() if k != "username"}), scope, now)
    return 1

"""A resident's household: found in intake's directory by the resident's phone, confirmed by staff when
several households list it. The link travels as `resident.household_linked`, so feedback can let the resident
vote for their own household and no one else's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing.errors import Conflict, Forbidden, InvalidInput, NotFound
from minqing.events import make_envelope
from minqing.outbox import add_event
from services.accounts import phones
from services.accounts.accounts import out, require_admin
from services.accounts.models import Account

SOURCE = "accounts"


def resident(session: Session, subject: str, lock: bool = False) -> Account:
    stmt = select(Account).where(Account.subject == subject)
    account = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if account is None or account.role != "resident" or account.phone is None:
        raise Conflict("only a resident who signed in with their phone links a household")
    return account


def phone_forms(e164: str) -> list[str]:
    """How a household register may have written the phone: 13800001234 or +8613800001234."""
    return sorted({phones.national(e164), e164})


def found(session: Session, account: Account, community: str, candidates: list[dict], now: datetime) -> dict:
    """What the directory answered: one household links at once; several wait for staff; none is an error."""
    if not candidates:
        raise InvalidInput(
            f"no household of {community!r} lists this phone; ask your community to add it",
            {"community": ["no household with your phone"]},
        )
    account.household_community = community
    account.household_candidates = [c["code"] for c in candidates]
    if len(candidates) == 1:
        _link(session, account, candidates[0]["code"], None, now)
    else:
        account.household, account.household_status = None, "pending"
        account.updated_at, account.version = now, account.version + 1
    return view(account)


def confirm(session: Session, account_id: str, household: str, scope: dict, now: datetime) -> dict:
    """Staff of the household's community pick the resident's household among those listing their phone."""
    require_admin(scope)
    account = session.get(Account, account_id, with_for_update=True)
    community = account.household_community if account is not None else None
    if account is None or account.role != "resident" or community is None:
        raise NotFound(f"account {account_id!r} not found")
    if "*" not in scope["communities"] and community not in scope["communities"]:
        raise NotFound(f"account {account_id!r} not found")
    if household not in (account.household_candidates or []):
        raise InvalidInput(
            "that household does not list the resident's phone",
            {"household": [f"must be one of {', '.join(account.household_candidates or [])}"]},
        )
    if scope["role"] not in ("community_admin", "district_admin"):
        raise Forbidden("only admins confirm a household")
    _link(session, account, household, scope["sub"], now)
    return view(account)


def _link(session: Session, account: Account, household: str, confirmed_by: str | None, now: datetime) -> None:
    account.household, account.household_status = household, "confirmed"
    account.updated_at, account.version = now, account.version + 1
    add_event(
        session,
        make_envelope(
            "resident.household_linked",
            source=SOURCE,
            community=account.household_community,
            subject=account.subject,
            version=account.version,
            time=now,
            data={"resident": account.subject, "household": household, "confirmed_by": confirmed_by},
        ),
    )


def view(account: Account) -> dict:
    return out(account)

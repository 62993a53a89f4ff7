"""Accounts' own tables: people who sign in, their refresh tokens and sign-in codes, the failed-login
throttle, and the messages sent to residents (a delivery table: one row per case, event and phone).

Nothing here is read by another service: tokens carry what the gateway needs, events carry the rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from minqing.db import UTCDateTime, service_metadata

metadata = service_metadata()
Stamp = UTCDateTime()


class Base(DeclarativeBase):
    metadata = metadata


class Account(Base):
    """A staff member (username and password) or a resident (phone and code). Disabled, never deleted:
    cases, awards and the audit name the `subject` long after the person has left."""

    __tablename__ = "accounts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # the token's `sub`: the roster id for people who handle cases (routing matches handlers by it), else the id
    subject: Mapped[str] = mapped_column(String(120), unique=True)
    username: Mapped[str | None] = mapped_column(String(60), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)  # E.164, e.g. +8613800001234
    display_name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(20), index=True)
    communities: Mapped[list] = mapped_column(JSON, default=list)
    bureau: Mapped[str | None] = mapped_column(String(40))
    roster_id: Mapped[str | None] = mapped_column(String(120))
    member_id: Mapped[str | None] = mapped_column(String(32))
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2id; never logged, never returned
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # a resident's household in intake's directory: found by their phone, confirmed by staff when several match
    household: Mapped[str | None] = mapped_column(String(80))
    household_community: Mapped[str | None] = mapped_column(String(40))
    household_status: Mapped[str | None] = mapped_column(String(10))  # pending, confirmed
    household_candidates: Mapped[list | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp)
    version: Mapped[int] = mapped_column(Integer, default=1)


class LoginThrottle(Base):
    """Failed password sign-ins per login name, whether or not an account has that name, so a lockout
    says nothing about whether the account exists."""

    __tablename__ = "login_throttle"
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(Stamp)
    last_failure_at: Mapped[datetime | None] = mapped_column(Stamp)


class SignInCode(Base):
    """A six-digit code sent to a phone; only its hash is kept. `client` is the caller's address, for the
    per-address limit."""

    __tablename__ = "sign_in_codes"
    __table_args__ = (
        Index("ix_sign_in_codes_phone_created", "phone", "created_at"),
        Index("ix_sign_in_codes_client_created", "client", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    client: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    expires_at: Mapped[datetime] = mapped_column(Stamp)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(Stamp)


class RefreshToken(Base):
    """One refresh token (its SHA-256 only). Tokens of one sign-in form a `family`; rotating revokes the old
    token, and presenting a revoked one revokes the whole family (it was stolen, or replayed)."""

    __tablename__ = "refresh_tokens"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(32), index=True)
    account_id: Mapped[str] = mapped_column(String(32), index=True)
    issued_at: Mapped[datetime] = mapped_column(Stamp)
    expires_at: Mapped[datetime] = mapped_column(Stamp)
    revoked_at: Mapped[datetime | None] = mapped_column(Stamp)
    revoked_reason: Mapped[str | None] = mapped_column(String(20))


class CaseContact(Base):
    """The reporter's phone of a case, kept from `case.registered` so later events can reach them."""

    __tablename__ = "case_contacts"
    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20), index=True)  # none: nobody to text


class Message(Base):
    """One SMS to send: written in the same transaction as the inbox claim of the event behind it, sent
    after commit, retried with back-off. Unique per case, event and phone: a redelivered event, or a
    second copy of this service, cannot send it twice."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("case_id", "event_id", "phone", name="uq_messages_case_event_phone"),
        Index("ix_messages_status_due", "status", "next_attempt_at"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str | None] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(64))
    community: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))  # pending, sending, sent, failed, skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Stamp)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    sent_at: Mapped[datetime | None] = mapped_column(Stamp)
    last_error: Mapped[str | None] = mapped_column(Text)

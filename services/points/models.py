"""Points' own tables: member files (一人一档), versioned point rules, activities, awards, the append-only
ledger, rewards and redemptions. Other services' facts arrive only as events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from minqing.db import UTCDateTime, service_metadata

metadata = service_metadata()
Stamp = UTCDateTime()


class Base(DeclarativeBase):
    metadata = metadata


class Member(Base):
    """One party member's file. `balance` is the ledger's sum, kept beside it so a redemption can take
    points with one guarded UPDATE; the CHECK makes a negative balance impossible even for a bug."""

    __tablename__ = "members"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="ck_members_balance_not_negative"),
        UniqueConstraint("community", "user_id", name="uq_members_community_user"),
        Index("ix_members_community_name", "community", "name"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(60))
    gender: Mapped[str | None] = mapped_column(String(10))
    birth_year: Mapped[int | None] = mapped_column(Integer)
    phone: Mapped[str | None] = mapped_column(String(20))
    user_id: Mapped[str | None] = mapped_column(String(120), index=True)  # the member's login (token `sub`)
    roster_id: Mapped[str | None] = mapped_column(String(120), index=True)  # routing's handler id, if on a team
    branch: Mapped[str] = mapped_column(String(120), index=True)  # party branch (党支部)
    unit: Mapped[str | None] = mapped_column(String(60))  # employer resident unit (驻区单位), none if retired
    status: Mapped[str] = mapped_column(String(12))  # serving (在职) or retired (退休)
    joined_party: Mapped[str | None] = mapped_column(String(10))  # YYYY-MM-DD
    professions: Mapped[list] = mapped_column(JSON, default=list)
    specialties: Mapped[list] = mapped_column(JSON, default=list)
    availability: Mapped[list] = mapped_column(JSON, default=list)  # e.g. weekends, evenings, on_call
    search_text: Mapped[str] = mapped_column(Text, default="")  # professions and specialties, for search
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    registered_at: Mapped[datetime] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp)


class PointRule(Base):
    """A point item (积分项目) of a community; its standard lives in versions, the newest one current."""

    __tablename__ = "point_rules"
    __table_args__ = (UniqueConstraint("community", "code", name="uq_point_rules_community_code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(40))
    current_version: Mapped[int] = mapped_column(Integer, default=1)


class PointRuleVersion(Base):
    """A rule's standard as it was from `valid_from`; never edited, so a past award keeps its terms."""

    __tablename__ = "point_rule_versions"
    __table_args__ = (UniqueConstraint("rule_id", "version", name="uq_point_rule_versions"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("point_rules.id"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    points: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16))  # per_activity, per_hour, per_case
    cap_day: Mapped[int | None] = mapped_column(Integer)
    cap_month: Mapped[int | None] = mapped_column(Integer)
    cap_year: Mapped[int | None] = mapped_column(Integer)
    needs_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(120))
    valid_from: Mapped[datetime] = mapped_column(Stamp)


class Activity(Base):
    """A published activity (志愿服务日, night patrol, flood duty…) that earns under one rule."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_community_starts", "community", "starts_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    rule_code: Mapped[str] = mapped_column(String(40))
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(Stamp)
    ends_at: Mapped[datetime] = mapped_column(Stamp)
    slots: Mapped[int] = mapped_column(Integer)
    signed_up: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))  # published, closed, cancelled
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    closed_at: Mapped[datetime | None] = mapped_column(Stamp)


class Signup(Base):
    __tablename__ = "signups"
    __table_args__ = (UniqueConstraint("activity_id", "member_id", name="uq_signups_activity_member"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    activity_id: Mapped[str] = mapped_column(ForeignKey("activities.id"), index=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(12))  # signed_up, cancelled, checked_in, checked_out, no_show
    signed_up_at: Mapped[datetime] = mapped_column(Stamp)
    checked_in_at: Mapped[datetime | None] = mapped_column(Stamp)
    checked_out_at: Mapped[datetime | None] = mapped_column(Stamp)
    hours: Mapped[float | None] = mapped_column(Float)


class Award(Base):
    """Why points were (or were not) given for one thing: the key that makes every award happen once.

    `source` names the thing (`signup:12`, `case:<id>`, `visit:<id>`); with member and rule it is unique, so
    a redelivered event or a second click finds the award already there. Pending awards wait for staff."""

    __tablename__ = "awards"
    __table_args__ = (
        UniqueConstraint("member_id", "rule_code", "source", name="uq_awards_member_rule_source"),
        Index("ix_awards_community_status", "community", "status"),
        Index("ix_awards_source", "source"),  # an activity's page finds its sign-ups' awards by source
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    rule_code: Mapped[str] = mapped_column(String(40))
    rule_version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(120))
    source_event: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[float] = mapped_column(Float)  # activities, hours or cases
    requested: Mapped[int] = mapped_column(Integer)  # points by the standard, before caps
    points: Mapped[int] = mapped_column(Integer)  # points given (0 while pending, or when a cap was reached)
    status: Mapped[str] = mapped_column(String(12))  # pending, awarded, capped, rejected, reversed
    reason: Mapped[str] = mapped_column(Text)
    earned_at: Mapped[datetime] = mapped_column(Stamp)  # when the work was done: caps count by this
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column(Stamp)
    entry_id: Mapped[int | None] = mapped_column(Integer)


class PointEntry(Base):
    """The ledger: append-only. A mistake is answered by a reversing `correction`, never by an edit."""

    __tablename__ = "point_entries"
    __table_args__ = (
        Index("ix_point_entries_member_id", "member_id", "id"),
        Index("ix_point_entries_community_time", "community", "created_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"))
    community: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))  # award, redemption, refund, correction, expiry
    points: Mapped[int] = mapped_column(Integer)  # signed
    balance_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    rule_code: Mapped[str | None] = mapped_column(String(40))
    rule_version: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(120))  # award, redemption or event it came from
    actor: Mapped[str] = mapped_column(String(120))  # who, or `system` for event-driven entries
    reverses: Mapped[int | None] = mapped_column(Integer)  # the entry a correction reverses
    created_at: Mapped[datetime] = mapped_column(Stamp)


@event.listens_for(Session, "before_flush")
def _ledger_is_append_only(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, PointEntry):
            raise RuntimeError("point_entries is append-only: add a correction instead of changing an entry")


class Reward(Base):
    """A catalogue item with its points price and stock; the CHECK forbids negative stock outright."""

    __tablename__ = "rewards"
    __table_args__ = (
        CheckConstraint("stock >= 0", name="ck_rewards_stock_not_negative"),
        CheckConstraint("price > 0", name="ck_rewards_price_positive"),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp)


class Redemption(Base):
    __tablename__ = "redemptions"
    __table_args__ = (Index("ix_redemptions_community_created", "community", "created_at"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40))
    member_id: Mapped[str] = mapped_column(ForeignKey("members.id"), index=True)
    reward_id: Mapped[str] = mapped_column(ForeignKey("rewards.id"), index=True)
    reward_name: Mapped[str] = mapped_column(String(120))
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))  # reserved, picked_up, cancelled
    requested_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    picked_up_at: Mapped[datetime | None] = mapped_column(Stamp)
    picked_up_by: Mapped[str | None] = mapped_column(String(120))
    cancelled_at: Mapped[datetime | None] = mapped_column(Stamp)
    cancelled_by: Mapped[str | None] = mapped_column(String(120))
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class ExpiryPolicy(Base):
    """Optional per community: points lapse for redemption `years` after they were earned."""

    __tablename__ = "expiry_policies"
    community: Mapped[str] = mapped_column(String(40), primary_key=True)
    years: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[str] = mapped_column(String(120))
    changed_at: Mapped[datetime] = mapped_column(Stamp)

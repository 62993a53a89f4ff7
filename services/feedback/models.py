"""Feedback's own tables: its view of each case (from intake's and routing's events), replies, ratings,
polls and votes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from minqing.db import UTCDateTime, service_metadata

metadata = service_metadata()
Stamp = UTCDateTime()


class Base(DeclarativeBase):
    metadata = metadata


# what GET /api/v1/stats counts of each case
STATS_COLUMNS = ["channel", "handling_type", "grid", "handler_id", "deadline", "first_action_at", "resolved_at",
                 "satisfied", "rated", "reopen_count"]  # fmt: skip


class FeedbackCase(Base):
    """What feedback needs to know of a case to answer, rate and count it."""

    __tablename__ = "cases"
    # the stats' aggregate reads only these indexes (index-only scans; migration 0004, bench/PROFILE-scale.md)
    __table_args__ = (
        Index("ix_cases_stats_community", "community", "registered_at", postgresql_include=STATS_COLUMNS),
        Index("ix_cases_stats_period", "registered_at", postgresql_include=["community", *STATS_COLUMNS]),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(20))
    grid: Mapped[str | None] = mapped_column(String(60))
    reporter_user: Mapped[str | None] = mapped_column(String(120))
    registered_at: Mapped[datetime] = mapped_column(Stamp)
    status: Mapped[str] = mapped_column(String(24), index=True)
    handling_type: Mapped[str | None] = mapped_column(String(16))
    deadline: Mapped[datetime | None] = mapped_column(Stamp)
    handler_id: Mapped[str | None] = mapped_column(String(120))
    first_action_at: Mapped[datetime | None] = mapped_column(Stamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Stamp)
    replied_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    rated: Mapped[bool] = mapped_column(Boolean, default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(Stamp)
    close_reason: Mapped[str | None] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)  # highest of the shared sequence seen (either service)
    routing_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # routing's last applied


class Reply(Base):
    """An answer to the resident by one of the six methods (跟踪反馈)."""

    __tablename__ = "replies"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    method: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    replied_by: Mapped[dict] = mapped_column(JSON)
    replied_at: Mapped[datetime] = mapped_column(Stamp)


class Rating(Base):
    """The resident's verdict; every rating is kept, including those that reopened the case."""

    __tablename__ = "ratings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    satisfied: Mapped[bool] = mapped_column(Boolean)
    score: Mapped[int | None] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[dict] = mapped_column(JSON)
    via_callback: Mapped[bool] = mapped_column(Boolean, default=False)
    rated_at: Mapped[datetime] = mapped_column(Stamp)


class Poll(Base):
    """A poll or vote of an estate's or buildings' households (one vote per household)."""

    __tablename__ = "polls"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(200))
    question: Mapped[str] = mapped_column(Text)
    scope_buildings: Mapped[list] = mapped_column(JSON)
    eligible: Mapped[list] = mapped_column(JSON)  # household codes, fixed when the poll is created
    threshold: Mapped[str] = mapped_column(String(20))
    basis: Mapped[str] = mapped_column(String(12), default="votes_cast")
    quorum: Mapped[str | None] = mapped_column(String(20))
    opens_at: Mapped[datetime] = mapped_column(Stamp)
    closes_at: Mapped[datetime] = mapped_column(Stamp)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open, closed
    result: Mapped[dict | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(120))


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("poll_id", "household"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    poll_id: Mapped[str] = mapped_column(ForeignKey("polls.id"), index=True)
    household: Mapped[str] = mapped_column(String(80))
    option: Mapped[str] = mapped_column(String(20))
    cast_at: Mapped[datetime] = mapped_column(Stamp)
    cast_by: Mapped[str] = mapped_column(String(120))


class ResidentHousehold(Base):
    """accounts' link of a resident's login (their token's sub) to their household: a copy, following its
    source's version, so a resident votes for their own household only."""

    __tablename__ = "resident_households"
    resident: Mapped[str] = mapped_column(String(120), primary_key=True)
    community: Mapped[str] = mapped_column(String(40))
    household: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)


class Supervision(Base):
    """A supervision record (接受监督) of one of the five kinds, tracked to closure."""

    __tablename__ = "supervisions"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    supervisor: Mapped[dict] = mapped_column(JSON)  # {"type": deputy|resident|media|panel, "name": ...}
    target_type: Mapped[str] = mapped_column(String(12))  # case, handler, grid, community
    target_id: Mapped[str] = mapped_column(String(120))
    finding: Mapped[str] = mapped_column(Text)
    required_action: Mapped[str | None] = mapped_column(Text)
    due: Mapped[datetime | None] = mapped_column(Stamp)
    raises_urgency: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, closed
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(Stamp)
    closed_at: Mapped[datetime | None] = mapped_column(Stamp)
    closure: Mapped[str | None] = mapped_column(Text)


class Visit(Base):
    """A home visit (零距离全面家访), a reception at the all-weather desk (全天候动态接访) or a return
    visit carrying a problem (带问题重点回访): planned, then done or missed."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_coverage", "community", "grid", "kind", "status"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # home, reception, return
    grid: Mapped[str | None] = mapped_column(String(60))
    household: Mapped[str | None] = mapped_column(String(80), index=True)
    visitor: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10))  # planned, done, missed
    planned_for: Mapped[datetime | None] = mapped_column(Stamp)
    visited_at: Mapped[datetime | None] = mapped_column(Stamp)
    notes: Mapped[str | None] = mapped_column(Text)
    for_case: Mapped[str | None] = mapped_column(String(32), index=True)  # a return visit's case
    found_case: Mapped[str | None] = mapped_column(String(32))  # a case the visit registered

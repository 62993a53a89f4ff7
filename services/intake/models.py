"""Intake's own tables: the directory, the case register and the ledger (台账) read model."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from minqing.db import UTCDateTime, service_metadata

metadata = service_metadata()
Stamp = UTCDateTime()


class Base(DeclarativeBase):
    metadata = metadata


class District(Base):
    __tablename__ = "districts"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Community(Base):
    __tablename__ = "communities"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(ForeignKey("districts.code"))
    ref_prefix: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(Stamp)


class Grid(Base):
    __tablename__ = "grids"
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("communities.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    leader_name: Mapped[str | None] = mapped_column(String(60))


class Building(Base):
    __tablename__ = "buildings"
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("communities.code"), index=True)
    grid: Mapped[str] = mapped_column(ForeignKey("grids.code"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(200))
    floors: Mapped[int | None] = mapped_column(Integer)
    units: Mapped[int | None] = mapped_column(Integer)


class Household(Base):
    __tablename__ = "households"
    code: Mapped[str] = mapped_column(String(80), primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("communities.code"), index=True)
    building: Mapped[str] = mapped_column(ForeignKey("buildings.code"), index=True)
    unit: Mapped[str | None] = mapped_column(String(10))
    room: Mapped[str] = mapped_column(String(20))
    head_name: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(20))
    size: Mapped[int | None] = mapped_column(Integer)
    tags: Mapped[list] = mapped_column(JSON, default=list)


class ResidentUnit(Base):
    """驻区单位: co-building units that signed pledges with the community."""

    __tablename__ = "resident_units"
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("communities.code"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str | None] = mapped_column(String(40))
    party_org: Mapped[str | None] = mapped_column(String(120))
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(20))


class ReferenceCounter(Base):
    __tablename__ = "reference_counters"
    community: Mapped[str] = mapped_column(String(40), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Case(Base):
    """One row per case: what was registered plus the ledger's view of where it stands."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("community", "reference"),
        Index("ix_cases_ledger", "community", "registered_at", "id"),
        Index("ix_cases_registered", "registered_at", "id"),
        Index("ix_cases_building_recent", "building", "registered_at"),
        Index("ix_cases_grid_recent", "grid", "registered_at"),
        # the ledger's filters at scale (migration 0006, bench/PROFILE-scale.md)
        Index("ix_cases_community_status", "community", "status", "registered_at", "id"),
        Index("ix_cases_handler_recent", "handler_id", "registered_at", "id"),
        Index("ix_cases_title_trgm", "title", postgresql_using="gin", postgresql_ops={"title": "gin_trgm_ops"}),
        Index(
            "ix_cases_description_trgm",
            "description",
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
        ),
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("communities.code"))
    reference: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(20), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    reporter_name: Mapped[str | None] = mapped_column(String(60))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    reporter_user: Mapped[str | None] = mapped_column(String(120), index=True)
    proposer_member: Mapped[str | None] = mapped_column(String(32))  # a party member's own suggestion (points)
    address: Mapped[str | None] = mapped_column(String(200))
    building: Mapped[str | None] = mapped_column(String(60))
    grid: Mapped[str | None] = mapped_column(String(60))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    registered_by: Mapped[str | None] = mapped_column(String(120))
    registered_at: Mapped[datetime] = mapped_column(Stamp)
    # the ledger's view, kept current from routing's and feedback's events
    status: Mapped[str] = mapped_column(String(24), index=True)
    handling_type: Mapped[str | None] = mapped_column(String(16), index=True)
    deadline: Mapped[datetime | None] = mapped_column(Stamp)
    handler_id: Mapped[str | None] = mapped_column(String(120))
    handler_kind: Mapped[str | None] = mapped_column(String(20))
    handler_name: Mapped[str | None] = mapped_column(String(120))
    bureau: Mapped[str | None] = mapped_column(String(40), index=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    supervision_level: Mapped[int] = mapped_column(Integer, default=0)
    outcome: Mapped[str | None] = mapped_column(String(20))
    satisfied: Mapped[bool | None] = mapped_column(Boolean)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_into: Mapped[str | None] = mapped_column(String(32))
    possible_duplicates: Mapped[list] = mapped_column(JSON, default=list)
    supervision_raises: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # of supervision_level
    state_version: Mapped[int] = mapped_column(Integer, default=1)  # the status: latest of routing's and feedback's
    routing_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # routing's fields
    feedback_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # the resident's verdict
    updated_at: Mapped[datetime] = mapped_column(Stamp)
    demo_key: Mapped[str | None] = mapped_column(String(40), unique=True)


class TimelineEntry(Base):
    __tablename__ = "case_timeline"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    time: Mapped[datetime] = mapped_column(Stamp)
    actor: Mapped[dict | None] = mapped_column(JSON)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class HotIssue(Base):
    """A category that keeps coming back in one community (热点问题): material for a joint meeting."""

    __tablename__ = "hot_issues"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(ForeignKey("communities.code"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="open")
    case_ids: Mapped[list] = mapped_column(JSON, default=list)
    detected_at: Mapped[datetime] = mapped_column(Stamp)


class Follow(Base):
    """A deputy (两代表一委员) following a case to watch its progress."""

    __tablename__ = "follows"
    user_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    followed_at: Mapped[datetime] = mapped_column(Stamp)

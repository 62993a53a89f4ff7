"""Routing's own tables: the roster, the rules, routing's view of each case, and bureau deliveries."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from minqing.db import UTCDateTime, service_metadata

metadata = service_metadata()
Stamp = UTCDateTime()


class Base(DeclarativeBase):
    metadata = metadata


class CommunitySettings(Base):
    """Per-community time limits (calendar.Limits as a dict); absent means the defaults."""

    __tablename__ = "community_settings"
    community: Mapped[str] = mapped_column(String(40), primary_key=True)
    limits: Mapped[dict] = mapped_column(JSON, default=dict)


class RosterMember(Base):
    """A member of a grid work team (民情工作队): one leader and three kinds of officers per grid."""

    __tablename__ = "roster_members"
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    grid: Mapped[str | None] = mapped_column(String(60), index=True)
    name: Mapped[str] = mapped_column(String(60))
    role: Mapped[str] = mapped_column(String(30))
    origin: Mapped[str | None] = mapped_column(String(30))  # community staff, unit, retired, property company
    phone: Mapped[str | None] = mapped_column(String(20))
    shift: Mapped[str | None] = mapped_column(String(60))
    sub_area: Mapped[str | None] = mapped_column(String(120))
    user_id: Mapped[str | None] = mapped_column(String(120), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Unit(Base):
    """A co-building resident unit (驻区单位) that can be given cases and claim projects."""

    __tablename__ = "units"
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(120))
    party_org: Mapped[str | None] = mapped_column(String(120))
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    user_id: Mapped[str | None] = mapped_column(String(120), index=True)


class Adviser(Base):
    """A think-tank (智囊团) adviser."""

    __tablename__ = "advisers"
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(60))
    specialties: Mapped[list] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(20))


class Bureau(Base):
    """A district bureau (区直部门); district-wide, not per community."""

    __tablename__ = "bureaus"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    webhook_url: Mapped[str | None] = mapped_column(String(300))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    days: Mapped[int] = mapped_column(Integer, default=10)


class Rule(Base):
    """Auto-routing: category and/or keywords → handling type and handler. Lower priority wins."""

    __tablename__ = "rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    category: Mapped[str | None] = mapped_column(String(40))
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    handling_type: Mapped[str] = mapped_column(String(16))
    handler_kind: Mapped[str] = mapped_column(String(20), default="grid_leader")
    handler_ref: Mapped[str | None] = mapped_column(String(60))
    committed_days: Mapped[int | None] = mapped_column(Integer)


class RoutedCase(Base):
    """Routing's aggregate for one case; `version` guards concurrent edits and orders the ledger."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_open_deadline", "status", "deadline"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    reference: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str | None] = mapped_column(String(20))
    grid: Mapped[str | None] = mapped_column(String(60))
    building: Mapped[str | None] = mapped_column(String(60))
    registered_at: Mapped[datetime] = mapped_column(Stamp)
    status: Mapped[str] = mapped_column(String(24), index=True)
    handling_type: Mapped[str | None] = mapped_column(String(16))
    deadline: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    clock_started_at: Mapped[datetime | None] = mapped_column(Stamp)
    handler_id: Mapped[str | None] = mapped_column(String(120), index=True)
    handler_kind: Mapped[str | None] = mapped_column(String(20))
    handler_name: Mapped[str | None] = mapped_column(String(120))
    bureau: Mapped[str | None] = mapped_column(String(40), index=True)
    due_soon_sent_for: Mapped[datetime | None] = mapped_column(Stamp)
    overdue_sent_for: Mapped[datetime | None] = mapped_column(Stamp)
    supervision_level: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    proposer_user: Mapped[str | None] = mapped_column(String(120))  # who raised it, credited if adopted
    proposer_member: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(Stamp)


class Decision(Base):
    """Every routing decision with actor, time and reason (the audit behind the timeline)."""

    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    time: Mapped[datetime] = mapped_column(Stamp)
    version: Mapped[int] = mapped_column(Integer)


class WebhookDelivery(Base):
    """One event to deliver to one bureau's webhook, retried with back-off; attempts are kept."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bureau: Mapped[str] = mapped_column(ForeignKey("bureaus.code"), index=True)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(60))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, delivered, failed
    attempts: Mapped[list] = mapped_column(JSON, default=list)
    next_attempt_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    created_at: Mapped[datetime] = mapped_column(Stamp)


class HotIssue(Base):
    """Routing's copy of a hot issue intake detected, to put on a joint meeting's agenda."""

    __tablename__ = "hot_issues"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    category: Mapped[str] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(200))
    case_ids: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open, on_agenda, claimed, done
    detected_at: Mapped[datetime] = mapped_column(Stamp)


class Meeting(Base):
    """A joint meeting (联席会议 / 社区党建议事会) of the community party committee and resident units."""

    __tablename__ = "meetings"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    title: Mapped[str] = mapped_column(String(200))
    held_at: Mapped[datetime] = mapped_column(Stamp)
    attending_units: Mapped[list] = mapped_column(JSON, default=list)
    minutes: Mapped[str | None] = mapped_column(Text)
    decisions: Mapped[list] = mapped_column(JSON, default=list)
    convened_by: Mapped[str] = mapped_column(String(120))


class AgendaItem(Base):
    __tablename__ = "agenda_items"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    meeting_id: Mapped[str] = mapped_column(ForeignKey("meetings.id"), index=True)
    hot_issue_id: Mapped[str | None] = mapped_column(ForeignKey("hot_issues.id"))
    title: Mapped[str] = mapped_column(String(200))
    case_ids: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open, claimed


class Project(Base):
    """An agenda item a unit claimed (认领) as a project: owner, milestones, deadline, linked cases."""

    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    community: Mapped[str] = mapped_column(String(40), index=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("agenda_items.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    units: Mapped[list] = mapped_column(JSON)
    owner: Mapped[str] = mapped_column(String(60))
    milestones: Mapped[list] = mapped_column(JSON, default=list)
    deadline: Mapped[date | None] = mapped_column(Date)
    case_ids: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active, completed
    summary: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(Stamp)


class CalendarYear(Base):
    """A year's holiday schedule as the district loaded it from the State Council's notice (docs/calendar.md).

    ``revision`` changes on every load: each routing copy compares the set of (year, revision) with what it holds
    in memory and reloads when it differs."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    notice: Mapped[str | None] = mapped_column(String(200))
    revision: Mapped[str] = mapped_column(String(32))
    loaded_by: Mapped[str] = mapped_column(String(120))
    loaded_at: Mapped[datetime] = mapped_column(Stamp)


class CalendarDay(Base):
    """A day off (``holiday``) or an adjusted working day (``workday``, 调休上班) of a loaded year."""

    __tablename__ = "calendar_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("calendar_years.year"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday, workday
    name: Mapped[str] = mapped_column(String(40))

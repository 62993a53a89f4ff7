"""Joint meetings and claims: hot issues go on an agenda, resident units claim items as projects, and
when a project completes every linked case still open is resolved with the project's result."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing.errors import Conflict, InvalidInput, NotFound
from services.routing import machine
from services.routing.models import AgendaItem, HotIssue, Meeting, Project, RoutedCase, Unit
from services.routing.workflow import _emit, _step


def record_hot_issue(session: Session, envelope: dict, now: datetime) -> HotIssue:
    """Follow intake's hot issue (`hot_issue.detected`, then `hot_issue.updated` as cases join): the
    membership only grows, so the larger list is the newer and the copy keeps the union, whatever order
    the events come in. Cases that join after the issue went on an agenda join the open agenda item, or
    the project claimed from it (linked now, resolved with it)."""
    data = envelope["data"]
    issue = session.get(HotIssue, envelope["subject"], with_for_update=True)
    if issue is None:
        issue = HotIssue(id=envelope["subject"], community=envelope["community"], status="open", case_ids=[])
        issue.detected_at = envelope["time"]
        session.add(issue)
    issue.category = data["category"]
    if envelope["type"] == "hot_issue.detected":  # the title it was detected under; later events carry none
        issue.title, issue.detected_at = data.get("title"), min(issue.detected_at, envelope["time"])
    joined = [cid for cid in data["case_ids"] if cid not in (issue.case_ids or [])]
    if not joined:
        return issue
    newer, older = (
        (data["case_ids"], issue.case_ids or [])
        if len(data["case_ids"]) > len(issue.case_ids or [])
        else (issue.case_ids or [], data["case_ids"])
    )
    issue.case_ids = [*newer, *(cid for cid in older if cid not in newer)]
    session.flush()
    _spread(session, issue, joined, now)
    return issue


def _spread(session: Session, issue: HotIssue, joined: list[str], now: datetime) -> None:
    for item in session.scalars(select(AgendaItem).where(AgendaItem.hot_issue_id == issue.id)):
        item.case_ids = [*item.case_ids, *(cid for cid in joined if cid not in item.case_ids)]
        project = session.scalars(select(Project).where(Project.item_id == item.id)).first()
        if project is None or project.status != "active":
            continue
        new = [cid for cid in joined if cid not in project.case_ids]
        project.case_ids = [*project.case_ids, *new]
        session.flush()
        for case in session.scalars(select(RoutedCase).where(RoutedCase.id.in_(new))):
            _emit(session, case, "case.project_linked", _link(project), now)


def _units(session: Session, community: str, ids: list[str], field: str) -> list[Unit]:
    units = [session.get(Unit, uid) for uid in ids]
    missing = [uid for uid, unit in zip(ids, units, strict=True) if unit is None or unit.community != community]
    if missing:
        raise InvalidInput(f"not resident units of {community}: {', '.join(missing)}", {field: ["unknown unit"]})
    return units


def convene(session: Session, community: str, data: dict, actor: dict) -> Meeting:
    _units(session, community, data["attending_units"], "attending_units")
    meeting = Meeting(
        id=uuid.uuid4().hex,
        community=community,
        title=data["title"],
        held_at=data["held_at"],
        attending_units=data["attending_units"],
        minutes=data.get("minutes"),
        decisions=data.get("decisions") or [],
        convened_by=actor["id"],
    )
    session.add(meeting)
    session.flush()  # no ORM relationship orders the inserts, and agenda items point at the meeting
    for index, item in enumerate(data["agenda"]):
        issue = None
        if item.get("hot_issue"):
            issue = session.get(HotIssue, item["hot_issue"])
            if issue is None or issue.community != community:
                raise InvalidInput(f"no hot issue {item['hot_issue']!r}", {f"agenda.{index}.hot_issue": ["unknown"]})
            issue.status = "on_agenda"
        session.add(
            AgendaItem(
                id=uuid.uuid4().hex,
                meeting_id=meeting.id,
                hot_issue_id=issue.id if issue else None,
                title=item.get("title") or (issue.title if issue else ""),
                case_ids=issue.case_ids if issue else [],
            )
        )
    session.flush()
    return meeting


def claim(session: Session, item_id: str, data: dict, actor: dict, now: datetime) -> Project:
    item = session.get(AgendaItem, item_id)
    if item is None:
        raise NotFound(f"agenda item {item_id!r} not found")
    if item.status != "open":
        raise Conflict("this agenda item has already been claimed")
    meeting = session.get(Meeting, item.meeting_id)
    _units(session, meeting.community, data["units"], "units")
    item.status = "claimed"
    project = Project(
        id=uuid.uuid4().hex,
        community=meeting.community,
        item_id=item.id,
        title=data.get("title") or item.title,
        units=data["units"],
        owner=data["owner"],
        deadline=data.get("deadline"),
        milestones=[{"title": m["title"], "due": m["due"].isoformat()} for m in data.get("milestones") or []],
        case_ids=item.case_ids,
        status="active",
    )
    session.add(project)
    if item.hot_issue_id:
        session.get(HotIssue, item.hot_issue_id).status = "claimed"
    for case in _linked(session, project):
        _emit(session, case, "case.project_linked", _link(project), now)
    session.flush()
    return project


def _link(project: Project) -> dict:
    return {"project_id": project.id, "title": project.title, "units": project.units, "deadline": project.deadline}


def meeting_view(session: Session, meeting: Meeting) -> dict:
    items = session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id).order_by(AgendaItem.id))
    return {**{c.name: getattr(meeting, c.name) for c in Meeting.__table__.c}, "agenda": list(items)}


def get_project(session: Session, project_id: str) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"project {project_id!r} not found")
    return project


def _linked(session: Session, project: Project) -> list[RoutedCase]:
    return list(session.scalars(select(RoutedCase).where(RoutedCase.id.in_(project.case_ids or []))))


def complete(session: Session, project_id: str, summary: str, actor: dict, now: datetime) -> dict:
    project = get_project(session, project_id)
    if project.status == "completed":
        raise Conflict("the project is already completed")
    project.status, project.summary, project.completed_at = "completed", summary, now
    resolved = []
    for case in _linked(session, project):
        if "resolve_by_project" in machine.allowed_from(case.status):
            _step(session, case, "resolve_by_project", actor, f"project {project.title}", now, {"summary": summary})
            resolved.append(case.id)
    item = session.get(AgendaItem, project.item_id)
    if item.hot_issue_id:
        session.get(HotIssue, item.hot_issue_id).status = "done"
    return {"project": project, "resolved_cases": resolved}

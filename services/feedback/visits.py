"""Visits (民情走访制度): comprehensive home visits planned per grid until every household is covered,
the reception log, and return visits after resolution. A visit that finds a problem registers a case
through intake (channel `home_visit`), linked to the visit; every visit done emits `visit.recorded`.

Registering that case is an RPC to intake, so it happens before feedback's transaction, never inside
it, under an idempotency key derived from the visit: a retry finds the same case instead of a second."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minqing.errors import Conflict, InvalidInput, NotFound
from minqing.events import make_envelope
from minqing.outbox import KeyInProgress, add_event
from services.feedback.models import FeedbackCase, ResidentHousehold, Visit
from services.feedback.rates import coverage
from services.intake.directory import can_see


def visited(session: Session, community: str) -> dict[str, set[str]]:
    rows = session.execute(
        select(Visit.grid, Visit.household).where(
            Visit.community == community, Visit.kind == "home", Visit.status == "done", Visit.household.is_not(None)
        )
    ).all()
    found: dict[str, set[str]] = {}
    for grid, household in rows:
        found.setdefault(grid, set()).add(household)
    return found


def coverage_report(session: Session, community: str, grid_households: dict[str, list[str]]) -> dict:
    done = visited(session, community)
    grids = []
    for grid, households in sorted(grid_households.items()):
        rate = coverage(len(done.get(grid, set()) & set(households)), len(households))
        grids.append({"grid": grid, "households": len(households), "visited": rate.numerator, **rate.as_dict()})
    total = coverage(sum(g["visited"] for g in grids), sum(g["households"] for g in grids))
    return {"community": community, "coverage": total.as_dict(), "grids": grids}


def plan(
    session: Session,
    community: str,
    grid: str,
    households: list[str],
    planned_for: datetime,
    limit: int,
    visitor: str | None,
) -> list[Visit]:
    """Plan home visits to the grid's households not yet visited (and not already planned)."""
    done = visited(session, community).get(grid, set())
    planned = set(
        session.scalars(
            select(Visit.household).where(
                Visit.community == community, Visit.grid == grid, Visit.kind == "home", Visit.status == "planned"
            )
        )
    )
    todo = [h for h in households if h not in done and h not in planned][:limit]
    visits = [
        Visit(
            id=uuid.uuid4().hex,
            community=community,
            kind="home",
            grid=grid,
            household=h,
            visitor=visitor,
            status="planned",
            planned_for=planned_for,
        )
        for h in todo
    ]
    session.add_all(visits)
    return visits


def check_case(session: Session, case_id: str | None, community: str) -> None:
    """Only a case of this community (feedback's copy of it) may be visited again: a visit earns points
    and stands in for the case's planned return visit."""
    case = session.get(FeedbackCase, case_id) if case_id else None
    if case_id and (case is None or case.community != community):
        raise InvalidInput(f"no case {case_id!r} in community {community!r}", {"for_case": ["no such case"]})


VISIT_IDS = uuid.UUID("6f0d3c1e-5b7a-4c55-9d2e-8a1f0b7c9e42")  # namespace: a visit's id from its request's key
CASE_KEYS = "feedback.visits"  # intake's idempotency space for the cases visits find


def visit_id_for(data: dict, principal: str, key: str | None) -> str:
    """The visit's id before anything is written: the planned visit's, or one derived from the request's
    Idempotency-Key, so a retried request names the same visit (and so the same case)."""
    if data.get("visit_id"):
        return data["visit_id"]
    return (uuid.uuid5(VISIT_IDS, f"{principal}\n{key}") if key else uuid.uuid4()).hex


def check_recordable(session: Session, data: dict, visit_id: str) -> None:
    """Refuse early (before a case is registered for it) a visit that cannot be recorded."""
    visit = session.get(Visit, visit_id)
    if data.get("visit_id"):
        if visit is None or visit.community != data["community"]:
            raise NotFound(f"visit {data['visit_id']!r} not found")
        kind, for_case = visit.kind, visit.for_case
    else:
        kind, for_case = data["kind"], data.get("for_case")
        check_case(session, for_case, data["community"])
    if visit is not None and visit.status != "planned":
        raise Conflict(f"this visit is already {visit.status}")
    if kind == "return" and not for_case:
        raise InvalidInput("a return visit names its case", {"for_case": ["required for return visits"]})


def case_request(visit_id: str, data: dict, community: str) -> dict | None:
    """What intake registers for a problem found on the visit, keyed by the visit: registering it again
    (a retry, a second recording of the same planned visit) returns the same case."""
    problem = data.get("problem")
    if not problem or data.get("missed"):
        return None
    payload = {
        "community": community,
        "channel": "home_visit",
        "title": problem["title"],
        "description": problem["description"],
        "category": problem.get("category"),
        "location": {"building": problem.get("building")} if problem.get("building") else None,
    }
    fingerprint = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return {
        "payload": payload,
        "idem": {"key": f"visit:{visit_id}", "fingerprint": fingerprint, "principal": CASE_KEYS},
    }


def record(session: Session, data: dict, actor: dict, now: datetime, visit_id: str, found_case: str | None) -> Visit:
    """Record a visit done (a planned one, or one not planned) as `visit_id`; `found_case` is the case
    already registered for its problem (see `case_request`)."""
    if data.get("visit_id"):
        visit = session.get(Visit, data["visit_id"], with_for_update=True)
        if visit is None or visit.community != data["community"]:
            raise NotFound(f"visit {data['visit_id']!r} not found")
        if visit.status != "planned":
            raise Conflict(f"this visit is already {visit.status}")
    else:
        check_case(session, data.get("for_case"), data["community"])
        if session.get(Visit, visit_id) is not None:
            raise Conflict("this visit is already recorded")
        visit = Visit(
            id=visit_id,
            community=data["community"],
            kind=data["kind"],
            grid=data.get("grid"),
            household=data.get("household"),
            for_case=data.get("for_case"),
        )
    if visit.kind == "return" and not visit.for_case:
        raise InvalidInput("a return visit names its case", {"for_case": ["required for return visits"]})
    visit.status = "missed" if data.get("missed") else "done"
    visit.visitor, visit.visited_at, visit.notes = actor["id"], data.get("visited_at") or now, data.get("notes")
    if visit.status == "done":
        visit.found_case = found_case
    try:
        with session.begin_nested():
            session.add(visit)
    except IntegrityError as exc:  # the same request (same key, so same id) committed first: replay its answer
        raise KeyInProgress("this visit is being recorded by another request; retry") from exc
    if visit.status == "done":
        add_event(
            session,
            make_envelope(
                "visit.recorded",
                source="feedback",
                community=visit.community,
                subject=visit.id,
                version=1,
                time=now,
                data={
                    "kind": visit.kind,
                    "grid": visit.grid,
                    "household": visit.household,
                    "visitor": visit.visitor,
                    "found_case": visit.found_case,
                    "for_case": visit.for_case,
                },
            ),
        )
    return visit


def schedule_return(session: Session, case: FeedbackCase, sample: float, rng: random.Random) -> Visit | None:
    """After resolution, a targeted return visit for all cases or a sample of them."""
    exists = session.scalar(select(func.count()).select_from(Visit).where(Visit.for_case == case.id))
    if exists or rng.random() >= sample:
        return None
    visit = Visit(
        id=uuid.uuid4().hex,
        community=case.community,
        kind="return",
        grid=case.grid,
        status="planned",
        for_case=case.id,
        planned_for=case.resolved_at,
    )
    session.add(visit)
    return visit


def list_visits(session: Session, query: dict, scope: dict) -> list[Visit]:
    if not can_see(scope, query["community"]):
        raise NotFound(f"community {query['community']!r} not found")
    stmt = select(Visit).where(Visit.community == query["community"])
    if scope["role"] == "resident":  # a resident sees their own household's visits, by accounts' link
        link = session.get(ResidentHousehold, scope["sub"])
        if link is None or link.community != query["community"]:
            return []
        stmt = stmt.where(Visit.household == link.household)
    for field in ("kind", "status", "grid", "for_case"):
        if query.get(field):
            stmt = stmt.where(getattr(Visit, field) == query[field])
    return list(session.scalars(stmt.order_by(Visit.planned_for.desc(), Visit.id).limit(query["limit"])))

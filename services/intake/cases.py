"""Case registration (集中受理): reference numbers, duplicate suggestion, merging."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minqing import metrics
from minqing.errors import Conflict, InvalidInput, NotFound
from minqing.events import make_envelope
from minqing.outbox import add_event
from minqing.vocabulary import OPEN_STATUSES, STAFF_ROLES
from services.intake import directory, duplicates, hot_issues
from services.intake.models import Case, Follow, ReferenceCounter, TimelineEntry

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
SOURCE = "intake"


def format_reference(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year}-{number:06d}"


def next_reference(session: Session, community: str, prefix: str, when: datetime) -> str:
    """Per community and (local) year, without gaps: an UPDATE … RETURNING on the year's counter row."""
    year = when.astimezone(LOCAL_TZ).year
    key = (ReferenceCounter.community == community) & (ReferenceCounter.year == year)
    for _ in range(3):
        number = session.execute(
            update(ReferenceCounter).where(key).values(last=ReferenceCounter.last + 1).returning(ReferenceCounter.last)
        ).scalar()
        if number is not None:
            return format_reference(prefix, year, number)
        try:
            with session.begin_nested():
                session.execute(insert(ReferenceCounter).values(community=community, year=year, last=1))
            return format_reference(prefix, year, 1)
        except IntegrityError:
            continue  # another registration created the year's counter first; take the next number
    raise Conflict("could not allocate a reference number; retry")


def case_text(title: str, description: str) -> str:
    return f"{title}。{description}"


def find_duplicates(
    session: Session,
    community: str,
    building: str | None,
    grid: str | None,
    text: str,
    now: datetime,
    window_days: int,
    threshold: float,
) -> list[dict]:
    """Open cases of the last `window_days` in the same building (or, without one, the same grid)."""
    if building:
        place = Case.building == building
    elif grid:
        place = Case.grid == grid
    else:
        return []
    rows = session.execute(
        select(Case.id, Case.reference, Case.title, Case.description)
        .where(
            Case.community == community,
            place,
            Case.status.in_(OPEN_STATUSES),
            Case.registered_at >= now - timedelta(days=window_days),
        )
        .order_by(Case.registered_at.desc())
        .limit(100)
    ).all()
    candidates = [(r.id, r.reference, r.title, case_text(r.title, r.description)) for r in rows]
    return duplicates.rank(text, candidates, threshold)


def actor_of(scope: dict) -> dict:
    return {"id": scope["sub"], "role": scope["role"]}


def register_case(
    session: Session,
    data: dict,
    scope: dict,
    now: datetime,
    *,
    window_days: int = 30,
    threshold: float = 60,
    demo_key: str | None = None,
    emit: bool = True,
) -> Case:
    community = data["community"]
    prefix = directory.community_prefix(session, community, scope)
    actor_info = actor_of(scope)
    location = data.get("location") or {}
    reporter = data.get("reporter") or {}
    grid = None
    if location.get("building"):
        grid = directory.building_grid(session, community, location["building"], "location.building")
    text = case_text(data["title"], data["description"])
    similar = find_duplicates(session, community, location.get("building"), grid, text, now, window_days, threshold)
    # the counter row is locked until commit and serialises a community's registrations: take it last
    reference = next_reference(session, community, prefix, now)
    case = Case(
        id=uuid.uuid4().hex,
        community=community,
        reference=reference,
        channel=data["channel"],
        title=data["title"],
        description=data["description"],
        category=data.get("category"),
        reporter_name=reporter.get("name"),
        reporter_phone=reporter.get("phone"),
        reporter_user=scope["sub"] if scope["role"] == "resident" else None,
        # staff name the party member whose suggestion they register; a resident's own is theirs by login
        proposer_member=reporter.get("member") if scope["role"] in STAFF_ROLES else None,
        address=location.get("address"),
        building=location.get("building"),
        grid=grid,
        lat=location.get("lat"),
        lon=location.get("lon"),
        registered_by=scope["sub"],
        registered_at=now,
        status="registered",
        overdue=False,
        supervision_level=0,
        reopen_count=0,
        supervision_raises=0,
        state_version=1,
        routing_version=1,
        feedback_version=0,
        updated_at=now,
        demo_key=demo_key,
        possible_duplicates=similar,
    )
    session.add(case)
    session.add(
        TimelineEntry(
            case_id=case.id,
            type="case.registered",
            time=now,
            actor=actor_info,
            detail={"reference": reference, "channel": case.channel, "possible_duplicates": case.possible_duplicates},
        )
    )
    if emit:
        add_event(
            session,
            make_envelope(
                "case.registered",
                source=SOURCE,
                community=community,
                subject=case.id,
                version=1,
                time=now,
                data={
                    "reference": reference,
                    "channel": case.channel,
                    "title": case.title,
                    "description": case.description,
                    "reporter_user": case.reporter_user,
                    "reporter_phone": case.reporter_phone,
                    "proposer_member": case.proposer_member,
                    "category": case.category,
                    "grid": grid,
                    "building": case.building,
                    "registered_at": now,
                    "actor": actor_info,
                },
            ),
        )
    session.flush()
    if emit:
        hot_issues.check(session, case, now)
    metrics.CASES_REGISTERED.labels(community, case.channel).inc()
    return case


def merge_case(session: Session, case: Case, into_id: str, scope: dict, reason: str | None, now: datetime) -> Case:
    """Mark `case` a duplicate of `into`: it leaves the open work, the other carries on."""
    if into_id == case.id:
        raise InvalidInput("a case cannot be merged into itself", {"into": ["must be another case"]})
    target = session.get(Case, into_id)
    if target is None or target.community != case.community:
        raise InvalidInput(
            f"case {into_id!r} is not a case of community {case.community!r}", {"into": ["unknown case"]}
        )
    for which in (case, target):
        if which.status in ("merged", "withdrawn", "closed"):
            raise Conflict(f"case {which.reference} is {which.status}; only open cases can be merged")
    # intake's own step, outside routing's and feedback's numbering: it takes no number of theirs, and the
    # ledger keeps the case merged whatever they send next (docs/projections.md)
    version = case.state_version
    actor_info = actor_of(scope)
    case.status, case.merged_into, case.updated_at = "merged", target.id, now
    session.add(
        TimelineEntry(
            case_id=case.id,
            type="case.merged",
            time=now,
            actor=actor_info,
            detail={"into": target.id, "into_reference": target.reference, "reason": reason},
        )
    )
    session.add(
        TimelineEntry(
            case_id=target.id,
            type="case.duplicate_merged",
            time=now,
            actor=actor_info,
            detail={"from": case.id, "from_reference": case.reference, "reason": reason},
        )
    )
    add_event(
        session,
        make_envelope(
            "case.merged",
            source=SOURCE,
            community=case.community,
            subject=case.id,
            version=version,
            time=now,
            data={"into": target.id, "into_reference": target.reference, "actor": actor_info},
        ),
    )
    return case


def follow(session: Session, community: str, reference: str, scope: dict, now: datetime) -> Case:
    """A deputy follows a case of a community they may see, found by its reference number."""
    directory.get_community(session, community, scope)
    case = session.scalar(select(Case).where(Case.community == community, Case.reference == reference))
    if case is None:
        raise NotFound(f"no case {reference!r} in community {community!r}")
    if session.get(Follow, (scope["sub"], case.id)) is None:
        session.add(Follow(user_id=scope["sub"], case_id=case.id, followed_at=now))
    return case


def get_case(session: Session, case_id: str, lock: bool = False) -> Case:
    # lock=True for every change: two events of one case applied at once must not overwrite each other
    case = session.get(Case, case_id, with_for_update=lock)
    if case is None:
        raise NotFound(f"case {case_id!r} not found")
    return case

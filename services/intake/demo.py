"""Loads the Maxian pilot (and a smaller second community) into intake's database, idempotently.

Demo cases are written straight into the ledger with their historical times and no events: they are
history, not new work for the other services to act on.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing.events import load_envelope
from minqing.outbox import claim_inbox
from services.intake import cases, demo_content, directory, ledger
from services.intake.models import Building, Case, Community, District, Grid, ResidentUnit

DEMO_SCOPE = {"sub": "demo-loader", "role": "district_admin", "communities": ["*"], "bureau": None}


def _add_missing(session: Session, model, rows: list[dict], **fixed) -> int:
    existing = set(session.scalars(select(model.code)))
    new = [row for row in rows if row["code"] not in existing]
    for row in new:
        session.add(model(**{**{k: v for k, v in row.items() if k in model.__table__.c}, **fixed}))
    session.flush()
    return len(new)


def load(session: Session, now: datetime, progress=None) -> dict:
    counts = load_directory(session, now) | {"cases": 0}
    for community in demo_content.communities():
        counts["cases"] += _load_cases(session, community["code"], now, progress)
    return counts


def load_directory(session: Session, now: datetime) -> dict:
    """The district's communities, grids, buildings, households and resident units: the same at any `now`
    (it only stamps a new community's creation time)."""
    counts = {"communities": 0, "grids": 0, "buildings": 0, "households": 0, "resident_units": 0}
    district = demo_content.district()
    if session.get(District, district["code"]) is None:
        session.add(District(**district))
    for community in demo_content.communities():
        code = community["code"]
        if session.get(Community, code) is None:
            directory.create_community(session, community, now)
            counts["communities"] += 1
        counts["grids"] += _add_missing(session, Grid, demo_content.grids(code))
        counts["buildings"] += _add_missing(session, Building, demo_content.buildings(code))
        counts["resident_units"] += _add_missing(
            session, ResidentUnit, demo_content.resident_units(code), community=code
        )
        households = demo_content.households(code)
        known = set(session.scalars(select(directory.Household.code).where(directory.Household.community == code)))
        fresh = [h for h in households if h["code"] not in known]
        if fresh:
            directory.add_households(session, code, fresh)
            counts["households"] += len(fresh)
    return counts


def _load_cases(session: Session, community: str, now: datetime, progress) -> int:
    loaded = set(session.scalars(select(Case.demo_key).where(Case.community == community, Case.demo_key.is_not(None))))
    items = demo_content.cases(community, now.astimezone(ZoneInfo("Asia/Shanghai")))
    fresh = sorted((c for c in items if c["key"] not in loaded), key=lambda c: c["registered_at"])
    for item in fresh:
        payload = {
            "community": community,
            "channel": item["channel"],
            "title": item["title"],
            "description": item["description"],
            "category": item["category"],
            "reporter": item["reporter"],
            "location": {"building": item["building"]} if item["building"] else None,
        }
        cases.register_case(session, payload, DEMO_SCOPE, item["registered_at"], demo_key=item["key"], emit=False)
        if progress:
            progress(1)
    return len(fresh)


def cases_for_routing(session: Session) -> list[dict]:
    """The demo cases as routing's `case.registered` data would carry them."""
    rows = session.scalars(select(Case).where(Case.demo_key.is_not(None)).order_by(Case.registered_at))
    return [
        {
            "id": c.id,
            "community": c.community,
            "reference": c.reference,
            "channel": c.channel,
            "reporter_user": c.reporter_user,
            "proposer_member": c.proposer_member,
            "title": c.title,
            "description": c.description,
            "category": c.category,
            "grid": c.grid,
            "building": c.building,
            "registered_at": c.registered_at,
        }
        for c in rows
    ]


def apply_events(session: Session, bodies: list[dict]) -> int:
    """Feed routing's demo history into the ledger through the same code the live consumer runs."""
    applied = 0
    for body in bodies:
        envelope = load_envelope(body)
        case = session.get(Case, envelope["subject"])
        if case is not None and claim_inbox(session, "intake.ledger", envelope["id"]):
            ledger.apply_event(session, case, envelope)
            applied += 1
    return applied


def grid_codes(session: Session, community: str) -> list[str]:
    return list(session.scalars(select(Grid.code).where(Grid.community == community).order_by(Grid.code)))


def grid_households(session: Session, community: str, grid: str) -> list[str]:
    return directory.grid_households(session, community, grid)


def estate_households(session: Session, estate: str) -> list[str]:
    """The households of an estate's buildings (the electorate of the pilot's property-management votes)."""
    buildings = [b.code for b in session.scalars(select(Building).where(Building.name.like(f"{estate}%")))]
    return directory.household_codes(session, "maxian", buildings)

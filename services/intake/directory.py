"""The directory: district → communities → grids → buildings → households, and resident units."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from minqing import paging
from minqing.errors import Conflict, InvalidInput, NotFound
from services.intake.models import Building, Community, District, Grid, Household, ResidentUnit


def visible_communities(scope: dict) -> list[str] | None:
    """None means every community (a district-wide token)."""
    return None if "*" in scope["communities"] else list(scope["communities"])


def can_see(scope: dict, community: str) -> bool:
    allowed = visible_communities(scope)
    return allowed is None or community in allowed


def get_community(session: Session, code: str, scope: dict | None = None) -> Community:
    # another community's data is "not found", never "forbidden": its existence is not disclosed
    community = session.get(Community, code)
    if community is None or (scope is not None and not can_see(scope, code)):
        raise NotFound(f"community {code!r} not found")
    return community


def default_prefix(code: str) -> str:
    letters = "".join(ch for ch in code.upper() if ch.isalpha())
    return (letters[:2] or "XX").ljust(2, "X")


def create_community(session: Session, data: dict, now: datetime) -> Community:
    if session.get(Community, data["code"]) is not None:
        raise Conflict(f"community {data['code']!r} already exists")
    if session.get(District, data["district"]) is None:
        if not data.get("district_name"):
            raise InvalidInput(
                f"district {data['district']!r} is new; give its district_name",
                {"district_name": ["required when the district does not exist yet"]},
            )
        session.add(District(code=data["district"], name=data["district_name"]))
    prefix = data.get("ref_prefix") or default_prefix(data["code"])
    clash = session.scalar(
        select(Community.code).where(Community.district == data["district"], Community.ref_prefix == prefix)
    )
    if clash:
        raise Conflict(f"reference prefix {prefix!r} is already used by community {clash!r}; choose another")
    community = Community(
        code=data["code"], name=data["name"], district=data["district"], ref_prefix=prefix, created_at=now
    )
    session.add(community)
    session.flush()
    return community


def list_communities(session: Session, scope: dict) -> list[Community]:
    query = select(Community).order_by(Community.code)
    allowed = visible_communities(scope)
    if allowed is not None:
        query = query.where(Community.code.in_(allowed))
    return list(session.scalars(query))


def _insert(session: Session, model, community: str, data: dict, what: str):
    if session.get(model, data["code"]) is not None:
        raise Conflict(f"{what} {data['code']!r} already exists")
    row = model(community=community, **data)
    session.add(row)
    session.flush()
    return row


def add_grid(session: Session, community: str, data: dict) -> Grid:
    return _insert(session, Grid, community, data, "grid")


def get_grid(session: Session, community: str, code: str, field: str = "grid") -> Grid:
    grid = session.get(Grid, code)
    if grid is None or grid.community != community:
        raise InvalidInput(f"grid {code!r} is not in community {community!r}", {field: ["unknown grid"]})
    return grid


def add_building(session: Session, community: str, data: dict) -> Building:
    get_grid(session, community, data["grid"])
    return _insert(session, Building, community, data, "building")


# Registration looks up its community and building every time. Communities and buildings are only ever
# added, never changed or removed, so what was found once stays true: keep it per database (the profile put
# these two primary-key SELECTs at 14% of intake's CPU per registration). Misses always go to the database.
_FOUND: dict[tuple[str, str, str], tuple] = {}


def _db(session: Session) -> str:
    return str(session.get_bind().url)


def community_prefix(session: Session, code: str, scope: dict) -> str:
    """The community's reference prefix, if the caller may see it (else NotFound, as get_community)."""
    if not can_see(scope, code):
        raise NotFound(f"community {code!r} not found")
    key = (_db(session), "community", code)
    if key not in _FOUND:
        _FOUND[key] = (get_community(session, code).ref_prefix,)
    return _FOUND[key][0]


def building_grid(session: Session, community: str, code: str, field: str = "building") -> str | None:
    """The building's grid, if the building is in `community` (else InvalidInput, as get_building)."""
    key = (_db(session), "building", code)
    if key not in _FOUND:
        building = get_building(session, community, code, field)
        _FOUND[key] = (building.community, building.grid)
    found_community, grid = _FOUND[key]
    if found_community != community:
        raise InvalidInput(f"building {code!r} is not in community {community!r}", {field: ["unknown building"]})
    return grid


def get_building(session: Session, community: str, code: str, field: str = "building") -> Building:
    building = session.get(Building, code)
    if building is None or building.community != community:
        raise InvalidInput(f"building {code!r} is not in community {community!r}", {field: ["unknown building"]})
    return building


def add_household(session: Session, community: str, item: dict, field: str = "building") -> Household:
    """Insert or update by code (an import can be run again after fixing a sheet)."""
    get_building(session, community, item["building"], field=field)
    existing = session.get(Household, item["code"])
    if existing is None:
        existing = Household(community=community, **item)
        session.add(existing)
    elif existing.community != community:
        raise Conflict(f"household {item['code']!r} belongs to another community")
    else:
        for key, value in item.items():
            setattr(existing, key, value)
    session.flush()
    return existing


def add_households(session: Session, community: str, items: list[dict]) -> dict:
    codes = [item["code"] for item in items]
    known = set(session.scalars(select(Household.code).where(Household.code.in_(codes))))
    for index, item in enumerate(items):
        add_household(session, community, item, field=f"items.{index}.building")
    return {"created": len(set(codes) - known), "updated": len(known)}


def grid_households(session: Session, community: str, grid: str) -> list[str]:
    query = select(Household.code).join(Building, Building.code == Household.building)
    query = query.where(Household.community == community, Building.grid == grid)
    return list(session.scalars(query.order_by(Household.code)))


def household_codes(session: Session, community: str, buildings: list[str]) -> list[str]:
    query = select(Household.code).where(Household.community == community, Household.building.in_(buildings))
    return list(session.scalars(query.order_by(Household.code)))


def add_resident_unit(session: Session, community: str, data: dict) -> ResidentUnit:
    return _insert(session, ResidentUnit, community, data, "resident unit")


def page(session: Session, model, community: str, limit: int, cursor: str | None, **filters) -> dict:
    """Keyset page ordered by code."""
    query = select(model).where(model.community == community).order_by(model.code).limit(limit + 1)
    for name, value in filters.items():
        if value is not None:
            query = query.where(getattr(model, name) == value)
    if cursor:
        (after,) = paging.decode(cursor, 1)
        query = query.where(model.code > after)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": paging.encode(rows[-1].code) if more else None}

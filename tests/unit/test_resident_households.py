"""feedback's copy of accounts' resident → household links follows the source's version; a resident votes for
their own household only."""

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from minqing.errors import Forbidden
from services.feedback import votes
from services.feedback.models import Poll, ResidentHousehold, metadata


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as s:
        yield s


def linked(household, version, community="maxian"):
    return {"community": community, "version": version, "data": {"resident": "r-1", "household": household}}


def test_an_older_link_never_overwrites_a_newer_one(session):
    votes.link_household(session, linked("maxian-b01-1-0102", 5))
    votes.link_household(session, linked("maxian-b01-1-0101", 3))  # late, or redelivered
    assert session.get(ResidentHousehold, "r-1").household == "maxian-b01-1-0102"
    votes.link_household(session, linked("maxian-b01-1-0103", 6))
    assert session.get(ResidentHousehold, "r-1").household == "maxian-b01-1-0103"


def test_a_resident_votes_only_for_their_linked_household_in_its_community(session):
    resident = {"sub": "r-1", "role": "resident", "communities": ["maxian"]}
    poll = Poll(community="maxian")
    with pytest.raises(Forbidden, match="link"):
        votes.own_household(session, poll, {"household": "maxian-b01-1-0101"}, resident)
    votes.link_household(session, linked("maxian-b01-1-0101", 1))
    votes.own_household(session, poll, {"household": "maxian-b01-1-0101"}, resident)
    with pytest.raises(Forbidden, match="own household"):
        votes.own_household(session, poll, {"household": "maxian-b01-1-0102"}, resident)
    with pytest.raises(Forbidden, match="link"):
        votes.own_household(session, Poll(community="luoxing"), {"household": "maxian-b01-1-0101"}, resident)
    staff = {"sub": "g-1", "role": "grid_member", "communities": ["maxian"]}
    votes.own_household(session, poll, {"household": "maxian-b01-1-0102"}, staff)  # staff record anyone's


def test_a_resident_sees_their_own_households_visits_once_linked_and_no_others(session):
    from datetime import UTC, datetime

    from services.feedback import visits
    from services.feedback.models import Visit

    at = datetime(2026, 11, 18, 2, 0, tzinfo=UTC)
    for i, household in enumerate(("maxian-b01-1-0101", "maxian-b01-1-0102", "maxian-b01-1-0101")):
        session.add(
            Visit(
                id=f"v{i}",
                community="maxian",
                kind="home",
                grid="maxian-g01",
                household=household,
                status="done",
                planned_for=at,
                visited_at=at,
            )
        )
    session.add(
        Visit(id="v9", community="luoxing", kind="home", household="maxian-b01-1-0101", status="done", planned_for=at)
    )
    session.flush()
    query = {"community": "maxian", "limit": 50}
    resident = {"sub": "r-1", "role": "resident", "communities": ["maxian"]}
    assert visits.list_visits(session, query, resident) == []  # not linked yet: nothing, not everyone's
    votes.link_household(session, linked("maxian-b01-1-0101", 1))
    assert sorted(v.id for v in visits.list_visits(session, query, resident)) == ["v0", "v2"]
    staff = {"sub": "s-1", "role": "community_admin", "communities": ["maxian"]}
    assert len(visits.list_visits(session, query, staff)) == 3

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

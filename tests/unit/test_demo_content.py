import datetime
import re
from zoneinfo import ZoneInfo

import pytest

from services.intake import demo_content as dc

NOW = datetime.datetime(2025, 6, 18, 14, 5, tzinfo=ZoneInfo("Asia/Shanghai"))
EXPECTED = {
    "maxian": {"grids": 9, "buildings": 60, "households": 4257, "units": 12, "cases": 692},
    "luoxing": {"grids": 3, "buildings": 12, "households": 600, "units": 3, "cases": 80},
}


def test_district_and_communities():
    assert dc.district() == {"code": "mawei", "name": "马尾区"}
    comms = dc.communities()
    assert [c["code"] for c in comms] == ["maxian", "luoxing"]
    assert {c["ref_prefix"] for c in comms} == {"MX", "LX"}
    assert all(c["district"] == "mawei" for c in comms)


@pytest.mark.parametrize("community", EXPECTED)
def test_counts(community):
    want = EXPECTED[community]
    assert len(dc.grids(community)) == want["grids"]
    assert len(dc.buildings(community)) == want["buildings"]
    assert len(dc.households(community)) == want["households"]
    assert len(dc.resident_units(community)) == want["units"]
    assert len(dc.cases(community, NOW)) == want["cases"]


@pytest.mark.parametrize("community", EXPECTED)
def test_references_and_uniqueness(community):
    grid_codes = {g["code"] for g in dc.grids(community)}
    blds = dc.buildings(community)
    hhs = dc.households(community)
    units = dc.resident_units(community)
    assert len(grid_codes) == len(dc.grids(community))
    assert len({b["code"] for b in blds}) == len(blds)
    assert len({h["code"] for h in hhs}) == len(hhs)
    assert len({u["code"] for u in units}) == len(units)
    assert all(b["grid"] in grid_codes and b["community"] == community for b in blds)
    per_grid = [sum(b["grid"] == g for b in blds) for g in grid_codes]
    assert max(per_grid) - min(per_grid) <= 1
    bld_codes = {b["code"] for b in blds}
    assert all(h["building"] in bld_codes for h in hhs)
    assert all(re.fullmatch(r"1[3-9]\d{9}", h["phone"]) for h in hhs)
    assert len({h["phone"] for h in hhs}) == len(hhs)
    assert all(1 <= h["size"] <= 6 for h in hhs)
    allowed_tags = {"elderly_alone", "disabled", "low_income", "party_member", "minor_caretaker"}
    assert all(set(h["tags"]) <= allowed_tags for h in hhs)
    assert sum(not h["tags"] for h in hhs) > len(hhs) / 2
    assert all(u["party_org"].endswith("党支部") for u in units)


def test_household_phones_unique_across_communities():
    phones = [h["phone"] for c in EXPECTED for h in dc.households(c)]
    assert len(set(phones)) == len(phones)


@pytest.mark.parametrize("community", EXPECTED)
def test_cases_fields(community):
    bld_codes = {b["code"] for b in dc.buildings(community)}
    cases = dc.cases(community, NOW)
    assert len({c["key"] for c in cases}) == len(cases)
    assert all(c["key"].startswith(f"{community}-demo-") for c in cases)
    for c in cases:
        assert c["community"] == community
        assert c["channel"] in dc.CHANNELS
        assert c["category"] in dc.CATEGORIES
        assert c["building"] is None or c["building"] in bld_codes
        assert 8 <= len(c["title"]) <= 25
        assert 40 <= len(c["description"]) <= 200
        assert "{" not in c["title"] + c["description"]
        assert c["reporter"] is None or set(c["reporter"]) in ({"name", "phone"}, {"name", "phone", "member"})
        at = c["registered_at"]
        assert at.tzinfo is NOW.tzinfo
        assert NOW - datetime.timedelta(days=365) <= at <= NOW
        assert datetime.time(7, 30) <= at.time() <= datetime.time(21, 30)
    assert set(dc.CHANNELS) == {c["channel"] for c in cases}


def test_maxian_case_mix():
    cases = dc.cases("maxian", NOW)
    assert len({c["title"] for c in cases}) >= 300
    share = {ch: sum(c["channel"] == ch for c in cases) / len(cases) for ch in dc.CHANNELS}
    assert 0.24 <= share["online"] <= 0.36 and 0.19 <= share["hotline"] <= 0.31
    assert 15 <= sum(c["category"] == "childcare" for c in cases) <= 35
    assert 0.05 <= sum(c["building"] is None for c in cases) / len(cases) <= 0.15
    assert 0.08 <= sum(c["reporter"] is None for c in cases) / len(cases) <= 0.22
    weekdays = sum(c["registered_at"].weekday() < 5 for c in cases) / len(cases)
    assert weekdays > 5 / 7


def test_determinism():
    for community in EXPECTED:
        for fn in (dc.grids, dc.buildings, dc.households, dc.resident_units):
            assert fn(community) == fn(community)
        assert dc.cases(community, NOW) == dc.cases(community, NOW)


def test_cases_independent_of_now_except_registered_at():
    later = datetime.datetime(2026, 1, 3, 8, 0, tzinfo=datetime.UTC)

    def strip(cases):
        return [{k: v for k, v in c.items() if k != "registered_at"} for c in cases]

    a, b = dc.cases("maxian", NOW), dc.cases("maxian", later)
    assert strip(a) == strip(b)
    assert all(c["registered_at"].tzinfo is datetime.UTC for c in b)
    assert all(later - datetime.timedelta(days=365) <= c["registered_at"] <= later for c in b)


def test_party_members_are_the_party_member_households_and_propose_some_suggestions():
    members = dc.party_members("maxian")
    heads = [h for h in dc.households("maxian") if "party_member" in h["tags"]]
    assert [m["id"] for m in members] == [dc.member_id(h) for h in heads]
    assert {m["status"] for m in members} == {"retired", "serving"}
    assert all((m["unit"] is None) == (m["status"] == "retired") for m in members)
    proposed = [c for c in dc.cases("maxian", NOW) if c["reporter"] and c["reporter"].get("member")]
    ids = {m["id"] for m in members}
    assert 5 < len(proposed) < 40 and all(c["reporter"]["member"] in ids for c in proposed)
    assert all(c["channel"] in dc.PROPOSING_CHANNELS for c in proposed)

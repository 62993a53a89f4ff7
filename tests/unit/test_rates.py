"""The rates a district judges a community by (services.feedback.rates), with hand-computed examples.

Calendar facts used below (chinese_calendar 1.11, checked in test_calendar_facts): Fri 2025-09-26 working, Sat 09-27
off, Sun 09-28 an adjusted working day (调休), National Day 2025-10-01..08 off, Thu 10-09 working.
"""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from services.feedback.rates import (
    CaseFacts,
    Rate,
    coverage,
    on_time_rate,
    period,
    reopen_rate,
    resolution_rate,
    response_limit,
    response_rate,
    satisfaction_rate,
    summarize,
)
from services.routing.calendar import TZ, is_working_day


def sh(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


NOW = sh(2025, 11, 20, 12)


def case(case_id="c", **kw):
    base = dict(
        case_id=case_id,
        community="east",
        grid="g1",
        handler="h1",
        channel="visit",
        handling_type="committed",
        registered_at=sh(2025, 11, 3, 9),  # Monday
        deadline=sh(2025, 11, 10, 18),
        first_action_at=None,
        resolved_at=None,
        satisfied=None,
        rated=False,
        reopen_count=0,
    )
    base.update(kw)
    return CaseFacts(**base)


# --- calendar facts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 26), True),
        (date(2025, 9, 27), False),
        (date(2025, 9, 28), True),  # Sunday, adjusted working day
        (date(2025, 9, 30), True),
        (date(2025, 10, 1), False),
        (date(2025, 10, 8), False),
        (date(2025, 10, 9), True),
    ],
)
def test_calendar_facts(day, working):
    assert is_working_day(day) is working


# --- Rate -------------------------------------------------------------------------------------------------------


def test_rate_value_and_dict():
    assert Rate(49, 50).value == 0.98
    assert Rate(49, 50).as_dict() == {"value": 0.98, "numerator": 49, "denominator": 50}
    assert Rate(0, 0).value is None
    assert Rate(0, 0).as_dict() == {"value": None, "numerator": 0, "denominator": 0}
    assert Rate(0, 3).value == 0.0


@pytest.mark.parametrize(("num", "den"), [(-1, 2), (3, 2), (1.0, 2), (True, 2), (0, -1)])
def test_rate_rejects_nonsense(num, den):
    with pytest.raises(ValueError):
        Rate(num, den)


def test_casefacts_requires_aware_datetimes_and_sane_reopen_count():
    with pytest.raises(ValueError, match="registered_at"):
        case(registered_at=datetime(2025, 11, 3, 9))
    with pytest.raises(ValueError, match="resolved_at"):
        case(resolved_at=datetime(2025, 11, 3, 9))
    with pytest.raises(ValueError, match="reopen_count"):
        case(reopen_count=-1)


# --- response ---------------------------------------------------------------------------------------------------


def test_response_limit_is_end_of_next_working_day():
    assert response_limit(sh(2025, 11, 3, 9)) == sh(2025, 11, 4, 18)  # Mon -> Tue 18:00
    assert response_limit(sh(2025, 11, 3, 23, 59)) == sh(2025, 11, 4, 18)
    assert response_limit(sh(2025, 11, 7, 10)) == sh(2025, 11, 10, 18)  # Fri -> Mon
    assert response_limit(sh(2025, 11, 8, 10)) == sh(2025, 11, 10, 18)  # Sat -> Mon
    # UTC input is read in Asia/Shanghai: 2025-11-02 20:00 UTC is Mon 11-03 04:00 local
    assert response_limit(datetime(2025, 11, 2, 20, tzinfo=UTC)) == sh(2025, 11, 4, 18)


def test_response_limit_across_adjusted_weekend_and_holiday():
    # Fri 09-26: Sat 09-27 is off but Sun 09-28 is a 调休 working day
    assert response_limit(sh(2025, 9, 26, 10)) == sh(2025, 9, 28, 18)
    # Tue 09-30, the eve of National Day: the next working day is Thu 10-09
    assert response_limit(sh(2025, 9, 30, 10)) == sh(2025, 10, 9, 18)
    assert response_limit(sh(2025, 10, 3, 10)) == sh(2025, 10, 9, 18)  # registered during the holiday


def test_response_limit_rejects_naive():
    with pytest.raises(ValueError):
        response_limit(datetime(2025, 11, 3, 9))


def test_response_rate_hand_computed():
    reg = sh(2025, 11, 3, 9)  # limit Tue 11-04 18:00
    cases = [
        case("a", registered_at=reg, first_action_at=sh(2025, 11, 3, 10)),  # on time
        case("b", registered_at=reg, first_action_at=sh(2025, 11, 4, 18)),  # exactly at the limit: on time
        case("c", registered_at=reg, first_action_at=sh(2025, 11, 4, 18, 1)),  # late
        case("d", registered_at=reg),  # never acted, limit passed: late
    ]
    r = response_rate(cases, NOW)
    assert (r.numerator, r.denominator) == (2, 4)
    assert r.value == 0.5


def test_response_rate_excludes_pending_cases_without_action():
    now = sh(2025, 11, 4, 12)  # before Tue 18:00
    cases = [
        case("pending", registered_at=sh(2025, 11, 3, 9)),  # limit not passed, no action: left out
        case("acted", registered_at=sh(2025, 11, 3, 9), first_action_at=sh(2025, 11, 4, 11)),  # counted, on time
        case("late", registered_at=sh(2025, 10, 30, 9)),  # Thu -> limit Fri 10-31 18:00 passed
    ]
    assert response_rate(cases, now) == Rate(1, 2)
    # the moment the limit passes the pending case counts as late
    assert response_rate(cases, sh(2025, 11, 4, 18, 1)) == Rate(1, 3)
    assert response_rate(cases, sh(2025, 11, 4, 18)) == Rate(1, 2)  # at the limit it can still be on time


def test_response_rate_across_adjusted_working_sunday():
    assert is_working_day(date(2025, 9, 28)) and not is_working_day(date(2025, 9, 27))
    fri = sh(2025, 9, 26, 17)
    cases = [
        case("sun", registered_at=fri, first_action_at=sh(2025, 9, 28, 17)),  # on the 调休 Sunday: on time
        case("mon", registered_at=fri, first_action_at=sh(2025, 9, 29, 9)),  # Monday: late
    ]
    assert response_rate(cases, NOW) == Rate(1, 2)


def test_response_rate_across_national_day():
    eve = sh(2025, 9, 30, 15)
    cases = [case("a", registered_at=eve, first_action_at=sh(2025, 10, 9, 17, 59))]
    assert response_rate(cases, NOW) == Rate(1, 1)
    # during the holiday nothing is late yet
    assert response_rate([case("b", registered_at=eve)], sh(2025, 10, 8, 23)) == Rate(0, 0)
    assert response_rate([case("b", registered_at=eve)], sh(2025, 10, 9, 18, 1)) == Rate(0, 1)


def test_response_rate_empty_and_naive_now():
    assert response_rate([], NOW).value is None
    with pytest.raises(ValueError):
        response_rate([], datetime(2025, 11, 20))


# --- on time ----------------------------------------------------------------------------------------------------


def test_on_time_rate_hand_computed():
    dl = sh(2025, 11, 10, 18)
    cases = [
        case("early", deadline=dl, resolved_at=sh(2025, 11, 7, 10)),  # on time
        case("exact", deadline=dl, resolved_at=dl),  # exactly at the deadline: on time
        case("late", deadline=dl, resolved_at=sh(2025, 11, 10, 18, 1)),  # late
        case("open_past", deadline=dl),  # still open past its deadline: late
        case("open_future", deadline=sh(2025, 11, 28, 18)),  # open, deadline not passed: left out
        case("resolved_future", deadline=sh(2025, 11, 28, 18), resolved_at=sh(2025, 11, 19, 9)),  # on time
        case("no_deadline", handling_type="supplement", deadline=None, resolved_at=sh(2025, 11, 7)),  # left out
    ]
    r = on_time_rate(cases, NOW)
    assert (r.numerator, r.denominator) == (3, 5)
    assert r.value == 0.6


def test_on_time_rate_open_case_at_its_deadline_is_not_yet_late():
    dl = sh(2025, 11, 10, 18)
    assert on_time_rate([case(deadline=dl)], dl) == Rate(0, 0)
    assert on_time_rate([case(deadline=dl)], sh(2025, 11, 10, 18, 1)) == Rate(0, 1)


def test_on_time_rate_empty():
    assert on_time_rate([], NOW).value is None


# --- resolution, satisfaction, reopen, coverage ------------------------------------------------------------------


def test_resolution_rate():
    cases = [case("a", resolved_at=sh(2025, 11, 5)), case("b"), case("c"), case("d", resolved_at=sh(2025, 11, 6))]
    assert resolution_rate(cases) == Rate(2, 4)
    assert resolution_rate([]).value is None


def test_satisfaction_rate_counts_rated_only():
    done = sh(2025, 11, 5)
    cases = [case(f"s{i}", resolved_at=done, rated=True, satisfied=True) for i in range(49)]
    cases += [
        case("unhappy", resolved_at=done, rated=True, satisfied=False),
        case("not_rated", resolved_at=done, rated=False, satisfied=None),
        case("closed_not_rated", resolved_at=done, rated=False, satisfied=None, closed_not_rated=True),
    ]
    r = satisfaction_rate(cases)
    assert r.as_dict() == {"value": 0.98, "numerator": 49, "denominator": 50}


def test_not_rated_is_never_satisfied():
    done = sh(2025, 11, 5)
    # rated but no answer recorded: in the denominator, never in the numerator
    assert satisfaction_rate([case(resolved_at=done, rated=True, satisfied=None)]) == Rate(0, 1)
    # not rated: neither (even if some stray value says satisfied)
    assert satisfaction_rate([case(resolved_at=done, rated=False, satisfied=None)]) == Rate(0, 0)
    assert satisfaction_rate([case(resolved_at=done, rated=False, satisfied=True)]) == Rate(0, 0)
    assert satisfaction_rate([]).value is None


def test_reopen_rate():
    done = sh(2025, 11, 5)
    cases = [
        case("plain", resolved_at=done),
        case("reopened_resolved", resolved_at=done, reopen_count=2),
        case("reopened_open", reopen_count=1),  # reopened and open again: was resolved once, counts in both
        case("open"),  # never resolved: left out
    ]
    assert reopen_rate(cases) == Rate(2, 3)
    assert reopen_rate([case("open")]).value is None
    assert reopen_rate([]).value is None


def test_coverage():
    assert coverage(1600, 2000) == Rate(1600, 2000)
    assert coverage(1600, 2000).value == 0.8
    assert coverage(0, 0).value is None
    with pytest.raises(ValueError):
        coverage(2001, 2000)
    with pytest.raises(ValueError):
        coverage(-1, 10)


# --- summarize --------------------------------------------------------------------------------------------------


def _sample():
    reg = sh(2025, 11, 3, 9)
    return [
        case("a", community="east", grid="g1", handler="h1", channel="visit", handling_type="committed",
             registered_at=reg, first_action_at=sh(2025, 11, 3, 10), resolved_at=sh(2025, 11, 7),
             rated=True, satisfied=True),
        case("b", community="east", grid="g2", handler=None, channel="hotline", handling_type=None,
             registered_at=reg),
        case("c", community="west", grid=None, handler="h2", channel="visit", handling_type="immediate",
             registered_at=reg, deadline=sh(2025, 11, 3, 18), first_action_at=sh(2025, 11, 5, 9),
             resolved_at=sh(2025, 11, 5, 10), rated=True, satisfied=False, reopen_count=1),
    ]  # fmt: skip


def test_summarize_overall():
    (row,) = summarize(_sample(), NOW)
    assert row == {
        "group": None,
        "cases": 3,
        "by_channel": {"hotline": 1, "visit": 2},
        "by_handling_type": {"committed": 1, "immediate": 1, "unclassified": 1},
        "response_rate": {"value": 1 / 3, "numerator": 1, "denominator": 3},
        "on_time_rate": {"value": 1 / 3, "numerator": 1, "denominator": 3},
        "resolution_rate": {"value": 2 / 3, "numerator": 2, "denominator": 3},
        "satisfaction_rate": {"value": 0.5, "numerator": 1, "denominator": 2},
        "reopen_rate": {"value": 0.5, "numerator": 1, "denominator": 2},
    }


def test_summarize_by_community():
    rows = summarize(_sample(), NOW, group_by="community")
    assert [r["group"] for r in rows] == ["east", "west"]
    east, west = rows
    assert east["cases"] == 2 and west["cases"] == 1
    assert east["by_channel"] == {"hotline": 1, "visit": 1}
    assert east["resolution_rate"] == {"value": 0.5, "numerator": 1, "denominator": 2}
    assert east["satisfaction_rate"] == {"value": 1.0, "numerator": 1, "denominator": 1}
    assert east["reopen_rate"] == {"value": 0.0, "numerator": 0, "denominator": 1}
    assert west["on_time_rate"] == {"value": 0.0, "numerator": 0, "denominator": 1}
    assert west["response_rate"] == {"value": 0.0, "numerator": 0, "denominator": 1}


@pytest.mark.parametrize(
    ("group_by", "groups"),
    [
        ("grid", ["g1", "g2", None]),
        ("handler", ["h1", "h2", None]),
        ("channel", ["hotline", "visit"]),
    ],
)
def test_summarize_groups_sorted_none_last(group_by, groups):
    rows = summarize(_sample(), NOW, group_by=group_by)
    assert [r["group"] for r in rows] == groups
    assert sum(r["cases"] for r in rows) == 3


def test_summarize_empty_and_bad_group_by():
    (row,) = summarize([], NOW)
    assert row["cases"] == 0 and row["by_channel"] == {} and row["by_handling_type"] == {}
    for key in ("response_rate", "on_time_rate", "resolution_rate", "satisfaction_rate", "reopen_rate"):
        assert row[key] == {"value": None, "numerator": 0, "denominator": 0}
    assert summarize([], NOW, group_by="grid") == []
    with pytest.raises(ValueError, match="group_by"):
        summarize(_sample(), NOW, group_by="district")


def test_summarize_accepts_an_iterator():
    assert summarize(iter(_sample()), NOW)[0]["cases"] == 3
    assert summarize((replace(c, community="x") for c in _sample()), NOW, "community")[0]["cases"] == 3


# --- period -----------------------------------------------------------------------------------------------------


TODAY = date(2026, 11, 20)


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("2026-11", sh(2026, 11, 1), sh(2026, 12, 1)),
        ("2026-12", sh(2026, 12, 1), sh(2027, 1, 1)),
        ("2024-02", sh(2024, 2, 1), sh(2024, 3, 1)),
        ("2026-Q1", sh(2026, 1, 1), sh(2026, 4, 1)),
        ("2026-Q4", sh(2026, 10, 1), sh(2027, 1, 1)),
        ("2026", sh(2026, 1, 1), sh(2027, 1, 1)),
        ("last_30_days", sh(2026, 10, 22), sh(2026, 11, 21)),
        ("last_1_days", sh(2026, 11, 20), sh(2026, 11, 21)),
    ],
)
def test_period(name, start, end):
    got = period(name, TODAY)
    assert got == (start, end)
    assert all(d.tzinfo is TZ for d in got)


def test_last_30_days_is_thirty_days():
    start, end = period("last_30_days", TODAY)
    assert (end - start).days == 30


@pytest.mark.parametrize(
    "name",
    ["", "garbage", "2026-13", "2026-00", "2026-1", "2026-Q0", "2026-Q5", "2026Q4", "26", "0000", "9999",
     " 2026", "2026-11 ", "last_0_days", "last_days", "last_30_day", "２０２６", "2026-11-01", None, 2026],
)  # fmt: skip
def test_period_rejects_garbage(name):
    with pytest.raises(ValueError):
        period(name, TODAY)


def test_period_requires_a_date():
    with pytest.raises(ValueError, match="today"):
        period("last_30_days", datetime(2026, 11, 20, tzinfo=TZ))

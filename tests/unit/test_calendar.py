"""Working-day calendar and deadline rules (services.routing.calendar).

Every concrete date below was checked against chinese_calendar 1.11 (see test_calendar_facts):
National Day 2025 — Oct 1–8 off, Sun Sep 28 and Sat Oct 11 worked; Labour Day 2025 — May 1–5 off;
Spring Festival 2026 — Feb 15–23 off, Sat Feb 14 and Sat Feb 28 worked.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.routing.calendar import (
    TZ,
    Limits,
    WorkingCalendar,
    YearSchedule,
    add_working_days,
    bureau_deadline,
    current,
    deadline_for,
    due_soon_at,
    is_working_day,
    next_working_day,
    resume_after_supplement,
    statutory_holidays,
    working_days_between,
)


def sh(y, m, d, hh=0, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


# --- calendar facts the concrete cases rely on ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 27), False),  # Saturday
        (date(2025, 9, 28), True),  # Sunday, adjusted working day (调休)
        (date(2025, 9, 29), True),
        (date(2025, 9, 30), True),
        *[(date(2025, 10, d), False) for d in range(1, 9)],  # National Day + Mid-Autumn
        (date(2025, 10, 9), True),
        (date(2025, 10, 10), True),
        (date(2025, 10, 11), True),  # Saturday, adjusted working day
        (date(2025, 10, 12), False),
        (date(2025, 10, 18), False),
        (date(2025, 10, 19), False),
        (date(2025, 4, 30), True),
        *[(date(2025, 5, d), False) for d in range(1, 6)],  # Labour Day
        (date(2025, 5, 6), True),
        (date(2026, 2, 14), True),  # Saturday, adjusted working day
        *[(date(2026, 2, d), False) for d in range(15, 24)],  # Spring Festival 2026
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday, adjusted working day
        (date(2026, 3, 1), False),
    ],
)
def test_calendar_facts(day, working):
    assert chinese_calendar.is_workday(day) is working
    assert is_working_day(day) is working


def test_outside_the_library_the_law_s_holidays_are_off_never_bare_weekdays():
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(date(2030, 1, 1))
    assert not is_working_day(date(2030, 1, 1))  # Tuesday, New Year's Day: the law fixes it
    assert not is_working_day(date(2030, 1, 5))  # Saturday
    assert is_working_day(date(2030, 1, 2))
    assert is_working_day(date(2003, 1, 3))  # Friday
    assert next_working_day(date(2030, 1, 4)) == date(2030, 1, 7)
    assert current().source(2030) == "statutory" and current().source(2026) == "library"


def test_next_working_day_is_strictly_after():
    assert next_working_day(date(2025, 10, 9)) == date(2025, 10, 10)
    assert next_working_day(date(2025, 9, 30)) == date(2025, 10, 9)
    assert next_working_day(date(2025, 10, 10)) == date(2025, 10, 11)
    assert next_working_day(date(2025, 9, 26)) == date(2025, 9, 28)


def test_add_working_days_and_between():
    assert add_working_days(sh(2025, 9, 30, 9), 1) == sh(2025, 10, 9, 18)
    assert add_working_days(sh(2025, 9, 30, 23, 59), 3) == sh(2025, 10, 11, 18)
    # input in UTC: 2025-09-30 20:00 UTC is already Oct 1 in Shanghai
    result = add_working_days(datetime(2025, 9, 30, 20, tzinfo=UTC), 1)
    assert result == sh(2025, 10, 9, 18) and result.tzinfo == TZ
    assert add_working_days(sh(2025, 10, 9), 1, day_end=time(17, 30)) == sh(2025, 10, 10, 17, 30)
    assert working_days_between(sh(2025, 9, 30, 9), sh(2025, 10, 13, 8)) == 4
    assert working_days_between(sh(2025, 10, 9, 9), sh(2025, 10, 9, 20)) == 0
    assert working_days_between(sh(2025, 10, 9, 9), sh(2025, 10, 1)) == 0
    for bad in (0, -1, True):
        with pytest.raises(ValueError):
            add_working_days(sh(2025, 10, 9), bad)


# --- 即办件 immediate ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "due"),
    [
        (sh(2025, 10, 9, 10), sh(2025, 10, 9, 18)),  # working day, before 16:00
        (sh(2025, 10, 9, 15, 59), sh(2025, 10, 9, 18)),
        (sh(2025, 10, 9, 16, 0), sh(2025, 10, 10, 12)),  # at the cutoff counts as after
        (sh(2025, 10, 9, 16, 30), sh(2025, 10, 10, 12)),  # after 16:00 -> next working day noon
        (sh(2025, 10, 17, 17), sh(2025, 10, 20, 12)),  # Friday after 16:00 -> Monday noon
        (sh(2025, 10, 10, 17), sh(2025, 10, 11, 12)),  # Friday after 16:00 -> adjusted working Saturday
        (sh(2025, 10, 3, 9), sh(2025, 10, 9, 12)),  # on a holiday -> first working day, noon
        (sh(2025, 10, 12, 9), sh(2025, 10, 13, 12)),  # ordinary Sunday
        (sh(2025, 10, 11, 10), sh(2025, 10, 11, 18)),  # adjusted working Saturday, before 16:00
        (sh(2025, 9, 28, 15), sh(2025, 9, 28, 18)),  # adjusted working Sunday
        (sh(2025, 9, 30, 16, 5), sh(2025, 10, 9, 12)),  # last day before National Day, after cutoff
        (datetime(2025, 10, 9, 7, 30, tzinfo=UTC), sh(2025, 10, 9, 18)),  # 15:30 in Shanghai
        (datetime(2025, 10, 9, 8, 30, tzinfo=UTC), sh(2025, 10, 10, 12)),  # 16:30 in Shanghai
        (datetime(2025, 10, 8, 20, tzinfo=UTC), sh(2025, 10, 9, 18)),  # Oct 9 04:00 in Shanghai
    ],
)
def test_immediate(registered, due):
    result = deadline_for("immediate", registered)
    assert result == due
    assert result.tzinfo == TZ


def test_immediate_uses_configured_limits():
    limits = Limits(cutoff=time(15, 0), noon=time(11, 30), day_end=time(17, 30))
    assert deadline_for("immediate", sh(2025, 10, 9, 14), limits) == sh(2025, 10, 9, 17, 30)
    assert deadline_for("immediate", sh(2025, 10, 9, 15, 30), limits) == sh(2025, 10, 10, 11, 30)


# --- 补办件 / 承诺件 / 建议件 / 上报件 -------------------------------------------------------------------------------


def test_supplement_has_no_deadline_until_material_arrives():
    assert deadline_for("supplement", sh(2025, 10, 9, 10)) is None
    # material arrives the day before Labour Day: 3 working days are May 6, 7, 8
    assert resume_after_supplement(sh(2025, 4, 30, 15)) == sh(2025, 5, 8, 18)
    assert resume_after_supplement(sh(2025, 4, 30, 15), Limits(supplement_days=1)) == sh(2025, 5, 6, 18)


def test_committed_default_five_days_across_national_day():
    # Sep 30, Oct 9, Oct 10, Oct 11 (adjusted Saturday), Oct 13
    assert deadline_for("committed", sh(2025, 9, 29, 10)) == sh(2025, 10, 13, 18)
    assert deadline_for("committed", sh(2025, 9, 29, 10), committed_days=2) == sh(2025, 10, 9, 18)
    assert deadline_for("committed", sh(2025, 9, 29, 10), committed_days=15) == sh(2025, 10, 27, 18)


def test_committed_date():
    reg = sh(2025, 9, 29, 10)
    assert deadline_for("committed", reg, committed_date=date(2025, 10, 11)) == sh(2025, 10, 11, 18)
    assert deadline_for("committed", reg, committed_date=date(2025, 10, 27)) == sh(2025, 10, 27, 18)  # 15th day
    with pytest.raises(ValueError, match="16 working days"):
        deadline_for("committed", reg, committed_date=date(2025, 10, 28))  # 16th working day
    with pytest.raises(ValueError, match="not a working day"):
        deadline_for("committed", reg, committed_date=date(2025, 10, 3))
    with pytest.raises(ValueError, match="0 working days"):
        deadline_for("committed", reg, committed_date=date(2025, 9, 29))  # same day
    with pytest.raises(ValueError):
        deadline_for("committed", reg, committed_date=date(2025, 9, 26))  # in the past
    with pytest.raises(ValueError, match="not both"):
        deadline_for("committed", reg, committed_days=3, committed_date=date(2025, 10, 9))


@pytest.mark.parametrize("days", [0, 16, -3, True, 2.5])
def test_committed_days_out_of_range(days):
    with pytest.raises(ValueError, match="committed_days"):
        deadline_for("committed", sh(2025, 9, 29, 10), committed_days=days)


def test_committed_options_rejected_for_other_types():
    with pytest.raises(ValueError):
        deadline_for("suggestion", sh(2025, 9, 29, 10), committed_days=3)


def test_suggestion_ten_days_across_spring_festival_2026():
    # Feb 13, 14 (adj. Sat), 24, 25, 26, 27, 28 (adj. Sat), Mar 2, 3, 4
    assert deadline_for("suggestion", sh(2026, 2, 12, 9)) == sh(2026, 3, 4, 18)


def test_escalated_transfer_and_bureau_deadline():
    assert deadline_for("escalated", sh(2025, 9, 30, 9)) == sh(2025, 10, 9, 18)
    assert bureau_deadline(sh(2025, 9, 30, 11)) == sh(2025, 10, 21, 18)
    assert bureau_deadline(sh(2025, 9, 30, 11), Limits(bureau_days=5)) == sh(2025, 10, 14, 18)


def test_unknown_handling_type_names_allowed_values():
    with pytest.raises(ValueError, match="immediate, supplement, committed, suggestion, escalated"):
        deadline_for("urgent", sh(2025, 10, 9, 10))


# --- due soon -------------------------------------------------------------------------------------------------


def test_due_soon_at():
    assert due_soon_at(sh(2025, 10, 9, 8), sh(2025, 10, 9, 18)) == sh(2025, 10, 9, 16)
    assert due_soon_at(sh(2025, 10, 9, 8), sh(2025, 10, 9, 18), 0.5) == sh(2025, 10, 9, 13)
    assert due_soon_at(datetime(2025, 10, 9, 0, tzinfo=UTC), sh(2025, 10, 9, 18)).tzinfo == TZ
    assert due_soon_at(sh(2025, 10, 9, 18), sh(2025, 10, 9, 8)) == sh(2025, 10, 9, 8)
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError):
            due_soon_at(sh(2025, 10, 9, 8), sh(2025, 10, 9, 18), bad)


# --- naive datetimes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda naive: deadline_for("immediate", naive),
        lambda naive: deadline_for("supplement", naive),
        lambda naive: add_working_days(naive, 1),
        lambda naive: working_days_between(naive, sh(2025, 10, 9)),
        lambda naive: working_days_between(sh(2025, 10, 9), naive),
        lambda naive: bureau_deadline(naive),
        lambda naive: resume_after_supplement(naive),
        lambda naive: due_soon_at(naive, sh(2025, 10, 9, 18)),
    ],
)
def test_naive_datetime_rejected(call):
    with pytest.raises(ValueError, match="timezone-aware"):
        call(datetime(2025, 10, 9, 10))


# --- Limits ---------------------------------------------------------------------------------------------------


def test_limits_round_trip():
    d = Limits().to_dict()
    assert d["cutoff"] == "16:00" and d["noon"] == "12:00" and d["day_end"] == "18:00"
    assert d["committed_max_days"] == 15 and d["due_soon_fraction"] == 0.8
    assert Limits.from_dict(d) == Limits()
    custom = Limits.from_dict({"cutoff": "15:30", "day_end": time(17, 30), "suggestion_days": 7})
    assert custom.cutoff == time(15, 30) and custom.day_end == time(17, 30) and custom.suggestion_days == 7
    assert Limits.from_dict(custom.to_dict()) == custom
    assert Limits.from_dict({}) == Limits()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"cutof": "16:00", "bogus": 1}, "unknown limit keys: bogus, cutof"),
        ({"supplement_days": 0}, "supplement_days"),
        ({"bureau_days": -1}, "bureau_days"),
        ({"suggestion_days": "10"}, "suggestion_days"),
        ({"committed_default_days": 16}, "committed_default_days"),
        ({"committed_default_days": 6, "committed_max_days": 5}, "committed_max_days"),
        ({"due_soon_fraction": 1}, "due_soon_fraction"),
        ({"due_soon_fraction": 0.0}, "due_soon_fraction"),
        ({"cutoff": "4pm"}, "cutoff"),
        ({"cutoff": "19:00"}, "cutoff"),
        ({"noon": 12}, "noon"),
    ],
)
def test_limits_from_dict_validation(data, message):
    with pytest.raises(ValueError, match=message):
        Limits.from_dict(data)


# --- properties -----------------------------------------------------------------------------------------------

ZONES = st.sampled_from([TZ, UTC, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati")])
aware = st.datetimes(min_value=datetime(2003, 6, 1), max_value=datetime(2028, 6, 1), timezones=ZONES)


@settings(max_examples=300, deadline=None)
@given(start=aware, n=st.integers(min_value=1, max_value=40))
def test_add_working_days_properties(start, n):
    end = add_working_days(start, n)
    assert end.tzinfo == TZ and end.timetz() == time(18, 0, tzinfo=TZ)
    assert is_working_day(end.date())
    assert end > start
    assert add_working_days(start, n + 1) > end
    assert working_days_between(start, end) == n


@settings(max_examples=300, deadline=None)
@given(registered=aware)
def test_immediate_deadline_properties(registered):
    due = deadline_for("immediate", registered)
    assert due.tzinfo == TZ
    assert due >= registered
    assert is_working_day(due.date())
    assert due.time() in (time(12), time(18))
    assert working_days_between(registered, due) <= 1


@settings(max_examples=200, deadline=None)
@given(registered=aware, days=st.integers(min_value=1, max_value=15))
def test_committed_date_agrees_with_committed_days(registered, days):
    by_days = deadline_for("committed", registered, committed_days=days)
    assert deadline_for("committed", registered, committed_date=by_days.date()) == by_days


def test_limits_constructor_accepts_to_dict_output():
    limits = Limits(cutoff=time(15, 0))
    assert Limits(**{**limits.to_dict(), "bureau_days": 20}) == Limits(cutoff=time(15, 0), bureau_days=20)


# --- years the library does not carry: a loaded notice, else the law ----------------------------------------------
def test_statutory_holidays_of_2027():
    # lunar New Year 2027 is Sat Feb 6: 除夕 Fri Feb 5 to 初三 Mon Feb 8; Qingming Apr 5; 端午 Jun 9; 中秋 Sep 15
    assert dict(statutory_holidays(2027)) == {
        date(2027, 1, 1): "元旦",
        **{date(2027, 2, d): "春节" for d in (5, 6, 7, 8)},
        date(2027, 4, 5): "清明节",
        date(2027, 5, 1): "劳动节",
        date(2027, 5, 2): "劳动节",
        date(2027, 6, 9): "端午节",
        date(2027, 9, 15): "中秋节",
        **{date(2027, 10, d): "国庆节" for d in (1, 2, 3)},
    }
    assert statutory_holidays(2020)[date(2020, 10, 1)] == "中秋节、国庆节"  # two holidays on one day
    assert len(statutory_holidays(2030)) == 13


@pytest.mark.parametrize("year", range(2020, 2027))
def test_the_law_s_holidays_are_days_off_in_the_official_schedules_the_library_carries(year):
    """The lunar library's dates (Spring Festival, Qingming, Dragon Boat, Mid-Autumn) agree with the notices:
    every day the law fixes was a day off. 2024's 除夕 is the one exception: the 2024 amendment added it from 2025."""
    worked = [d for d in statutory_holidays(year) if chinese_calendar.is_workday(d)]
    assert worked == ([date(2024, 2, 9)] if year == 2024 else [])
    assert len(statutory_holidays(year)) in (12, 13)  # 13 days, 12 when Mid-Autumn falls in National Day


def test_a_deadline_across_the_2027_spring_festival_on_the_statutory_fallback_skips_the_four_days():
    cal = WorkingCalendar()
    assert cal.source(2027) == "statutory"
    # Thu Feb 4 2027 + 2 working days: Fri Feb 5 is 除夕 (off), Sat–Mon off, so Tue Feb 9 and Wed Feb 10
    assert add_working_days(sh(2027, 2, 4, 10), 2, cal=cal) == sh(2027, 2, 10, 18)
    assert [d for d in range(4, 12) if not is_working_day(date(2027, 2, d), cal=cal)] == [5, 6, 7, 8]
    # 即办件 registered on 除夕 is due at noon on the first working day after the festival
    assert deadline_for("immediate", sh(2027, 2, 5, 9), cal=cal) == sh(2027, 2, 9, 12)


def example_2027() -> YearSchedule:
    """A made-up 2027 schedule, shaped like a notice (not the State Council's: the tests only need its shape)."""
    return YearSchedule(
        2027,
        "official",
        {
            **{date(2027, 2, d): "春节" for d in range(5, 13)},  # Fri Feb 5 – Fri Feb 12
            **{date(2027, 10, d): "国庆节" for d in range(1, 8)},
        },
        {date(2027, 2, 20): "春节", date(2027, 9, 26): "国庆节"},  # Saturday, Sunday worked
        notice="example",
    )


def test_a_loaded_schedule_comes_before_the_library_and_the_law():
    cal = WorkingCalendar({2027: example_2027()})
    assert cal.source(2027) == "official" and cal.source(2026) == "library" and cal.source(2028) == "statutory"
    assert not is_working_day(date(2027, 2, 11), cal=cal)  # Thursday off by the notice, not by the law
    assert is_working_day(date(2027, 2, 20), cal=cal)  # Saturday worked (调休上班)
    assert is_working_day(date(2027, 1, 1), cal=cal)  # the example forgot New Year's Day: the notice rules
    # Thu Feb 4 + 2 working days: Feb 5–14 off (the 13th–14th a weekend), so Mon Feb 15 and Tue Feb 16
    assert add_working_days(sh(2027, 2, 4, 10), 2, cal=cal) == sh(2027, 2, 16, 18)
    assert deadline_for("suggestion", sh(2027, 2, 4, 10), cal=cal) == sh(2027, 2, 25, 18)  # Sat 20th counts
    assert working_days_between(sh(2027, 2, 19), sh(2027, 2, 21), cal=cal) == 1  # Sat 20th worked, Sun 21st off
    assert bureau_deadline(sh(2027, 9, 24, 10), Limits(bureau_days=1), cal=cal) == sh(2027, 9, 26, 18)
    assert resume_after_supplement(sh(2027, 9, 30, 10), Limits(supplement_days=1), cal=cal) == sh(2027, 10, 8, 18)


def test_fallback_years_and_the_installed_calendar():
    cal = WorkingCalendar({2027: example_2027()})
    assert cal.fallback_years(date(2026, 12, 1), date(2028, 1, 1)) == [2028]
    assert WorkingCalendar().fallback_years(date(2026, 12, 1), date(2027, 12, 31)) == [2027]
    with pytest.raises(ValueError, match="official"):
        WorkingCalendar({2026: example_2027()})

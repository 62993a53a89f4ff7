"""Checking a year's holiday schedule (services.routing.holidays), the calendar file, and the fallback report.

The 2027 days below are made up in the shape of a notice; only the days the law fixes are real."""

from datetime import date

import pytest
from marshmallow import ValidationError

from minqing.errors import InvalidInput, NotFound
from services.routing import holidays
from services.routing.calendar import WorkingCalendar, YearSchedule
from services.routing.schemas import CalendarIn


def body(**overrides):
    data = {
        "notice": "test schedule",
        "holidays": [
            {"name": "元旦", "from": "2027-01-01"},
            {"name": "春节", "from": "2027-02-05", "to": "2027-02-12"},
            {"name": "清明节", "from": "2027-04-05"},
            {"name": "劳动节", "from": "2027-05-01", "to": "2027-05-02"},
            {"name": "端午节", "from": "2027-06-09"},
            {"name": "中秋节", "from": "2027-09-15"},
            {"name": "国庆节", "from": "2027-10-01", "to": "2027-10-03"},
        ],
        "workdays": [{"name": "春节", "from": "2027-02-20"}],
    }
    data.update(overrides)
    return data


def errors_of(data, year=2027) -> dict:
    with pytest.raises(InvalidInput) as caught:
        holidays.schedule_of(year, CalendarIn().load(data))
    return caught.value.errors


def test_a_schedule_gives_its_days_off_and_worked():
    schedule = holidays.schedule_of(2027, CalendarIn().load(body()))
    assert schedule.source == "official" and schedule.notice == "test schedule"
    assert len(schedule.holidays) == 1 + 8 + 1 + 2 + 1 + 1 + 3
    assert schedule.holidays[date(2027, 2, 12)] == "春节" and dict(schedule.workdays) == {date(2027, 2, 20): "春节"}


def test_every_wrong_day_is_named():
    spans = body()["holidays"]
    assert errors_of(body(holidays=[*spans, {"name": "x", "from": "2026-12-31", "to": "2027-01-02"}])) == {
        "holidays.7.from": ["2026-12-31 is not in 2027"]
    }
    assert errors_of(body(holidays=[*spans, {"name": "x", "from": "2027-03-02", "to": "2027-03-01"}])) == {
        "holidays.7.to": ["2027-03-01 is before from (2027-03-02)"]
    }
    assert (
        "at most 31 days"
        in errors_of(body(holidays=[*spans, {"name": "x", "from": "2027-07-01", "to": "2027-08-31"}]))["holidays.7.to"][
            0
        ]
    )
    assert errors_of(body(holidays=[*spans, {"name": "x", "from": "2027-02-12"}])) == {
        "holidays.7": ["2027-02-12 is given twice (also in holidays.1)"]
    }
    assert errors_of(body(workdays=[{"name": "春节", "from": "2027-02-06"}])) == {
        "workdays.0": ["2027-02-06 is both a holiday and an adjusted working day (holidays.1)"]
    }
    assert errors_of(body(workdays=[{"name": "春节", "from": "2027-02-15"}])) == {
        "workdays.0": ["2027-02-15 is a Monday: an adjusted working day (调休上班) is a Saturday or Sunday"]
    }
    missing = errors_of(body(holidays=spans[1:]))["holidays"][0]  # New Year's Day forgotten
    assert missing == "the law fixes these days off, so the notice gives them: 2027-01-01 (元旦)"
    # before the 2024 amendment took force, 除夕 was not fixed: 2024's notice left it a working day
    holidays.schedule_of(2024, CalendarIn().load({"holidays": [{"name": "春节", "from": "2024-02-10"}]}))


@pytest.mark.parametrize(
    "bad",
    [
        {"holidays": []},
        {"holidays": [{"name": "", "from": "2027-01-01"}]},
        {"holidays": [{"name": "春节\n", "from": "2027-01-01"}]},
        {"holidays": [{"name": " 春节", "from": "2027-01-01"}]},
        {"holidays": [{"name": "春" * 41, "from": "2027-01-01"}]},
        {"holidays": [{"name": "春节", "from": "2027-02-30"}]},
        {"holidays": [{"name": "春节", "from": "2027-02-06T00:00:00"}]},
        {"holidays": [{"name": "春节", "from": 20270206}]},
        {"holidays": [{"name": "春节", "from": True}]},
        {"holidays": [{"name": "春节", "date": "2027-02-06"}]},
        {"holidays": [{"name": "春节", "from": "2027-02-06"}], "year": 2027},
        {"holidays": "2027-02-06"},
    ],
)
def test_the_schema_refuses_what_is_not_a_span_of_named_days(bad):
    with pytest.raises(ValidationError):
        CalendarIn().load(bad)


def test_years_outside_the_supported_range_do_not_exist():
    for year in (1999, 2100, True, "2027"):
        with pytest.raises(NotFound):
            holidays.check_year(year)
    assert holidays.check_year(2027) == 2027


def test_the_calendar_file(tmp_path):
    path = tmp_path / "cal.yaml"
    path.write_text(
        "year: 2027\nnotice: test\nholidays:\n  - {name: 春节, from: 2027-02-05, to: 2027-02-08}\n"
        "workdays:\n  - {name: 春节, from: 2027-02-20}\n",
        encoding="utf-8",
    )
    assert holidays.read_file(path) == (
        2027,
        {
            "notice": "test",
            "holidays": [{"name": "春节", "from": "2027-02-05", "to": "2027-02-08"}],
            "workdays": [{"name": "春节", "from": "2027-02-20"}],
        },
    )
    for text, message in (
        ("- 1\n", "expected a mapping"),
        ("year: 2027\nholiday: []\n", "unknown keys holiday"),
        ("year: '2027'\nholidays: []\n", "`year` must be a number"),
        ("year: [\n", "cannot read it"),
    ):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ValueError, match=message):
            holidays.read_file(path)
    with pytest.raises(ValueError, match="cannot read"):
        holidays.read_file(tmp_path / "missing.yaml")


def test_the_report_names_the_years_on_the_statutory_fallback_within_13_months():
    official = YearSchedule(2027, "official", holidays.schedule_of(2027, CalendarIn().load(body())).holidays)
    on_fallback = holidays.report(date(2026, 12, 1), WorkingCalendar())
    assert on_fallback["sources"] == {"2026": "library", "2027": "statutory"}
    assert on_fallback["fallback_years"] == [2027]
    assert "2027 run(s) on the statutory fallback" in on_fallback["warnings"][0]
    assert "adjusted working days (调休上班) are unknown" in on_fallback["warnings"][0]
    loaded = holidays.report(date(2026, 12, 1), WorkingCalendar({2027: official}))
    assert loaded == {"sources": {"2026": "library", "2027": "official"}, "fallback_years": [], "warnings": []}
    # next year is reported from October 1st (a quarter ahead), not while its notice cannot exist yet
    assert holidays.report(date(2026, 12, 2), WorkingCalendar({2027: official}))["fallback_years"] == []
    assert holidays.report(date(2027, 10, 1), WorkingCalendar({2027: official}))["fallback_years"] == [2028]
    assert holidays.report(date(2027, 9, 30), WorkingCalendar({2027: official}))["fallback_years"] == []
    assert holidays.report(date(2026, 6, 30), WorkingCalendar())["fallback_years"] == []

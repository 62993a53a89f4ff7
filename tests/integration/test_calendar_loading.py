"""The holiday calendar on the real broker and database: a year's schedule loaded through the API and the CLI,
used by routing in preference to the library and the law, followed by every copy, and the fallback reported.

The 2027 schedule here is made up in the shape of a notice (only the days the law fixes are real)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import requests
from helpers import Api, wait_for

from minqing import clock
from minqing.cli import main
from minqing.db import UnitOfWork, make_engine
from services.routing import calendar, holidays
from services.routing.calendar import TZ, WorkingCalendar, add_working_days, deadline_for, statutory_holidays
from services.routing.schemas import CalendarIn

SCHEDULE_2027 = {
    "notice": "test schedule, not the State Council's",
    "holidays": [
        {"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"},
        {"name": "春节", "from": "2027-02-05", "to": "2027-02-12"},
        {"name": "清明节", "from": "2027-04-03", "to": "2027-04-05"},
        {"name": "劳动节", "from": "2027-05-01", "to": "2027-05-05"},
        {"name": "端午节", "from": "2027-06-09"},
        {"name": "中秋节", "from": "2027-09-15"},
        {"name": "国庆节", "from": "2027-10-01", "to": "2027-10-07"},
    ],
    "workdays": [{"name": "春节", "from": "2027-02-20"}, {"name": "国庆节", "from": "2027-10-09"}],
}
YAML_2027 = """# test schedule, not the State Council's
year: 2027
notice: test schedule (CLI)
holidays:
  - {name: 元旦, from: 2027-01-01}
  - {name: 春节, from: 2027-02-05, to: 2027-02-12}
  - {name: 清明节, from: 2027-04-05}
  - {name: 劳动节, from: 2027-05-01, to: 2027-05-02}
  - {name: 端午节, from: 2027-06-09}
  - {name: 中秋节, from: 2027-09-15}
  - {name: 国庆节, from: 2027-10-01, to: 2027-10-03}
workdays:
  - {name: 春节, from: 2027-02-20}
"""


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def law_only(year: int) -> dict:
    """A schedule of exactly the days the law fixes: enough to take a year off the fallback in a test."""
    return {
        "notice": "test",
        "holidays": [{"name": n[:40], "from": d.isoformat()} for d, n in statutory_holidays(year).items()],
    }


@pytest.fixture(autouse=True)
def fresh_calendar():
    """The installed calendar is the process's: leave none of this test's schedules to the next test."""
    yield
    calendar.install(WorkingCalendar())
    holidays._installed = None


def test_a_2027_schedule_loaded_through_the_api_is_what_deadlines_use(gateway, token):
    admin = Api(gateway, token("district_admin", ["*"], sub="district-admin"))
    before = admin.get("/api/v1/calendar/2027").json()
    assert before["source"] == "statutory" and before["notice"] is None
    assert [d["date"] for d in before["days"] if d["name"] == "春节"] == [
        "2027-02-05",
        "2027-02-06",
        "2027-02-07",
        "2027-02-08",
    ]
    assert all(d["source"] == "statutory" and d["fixed_by_law"] and d["kind"] == "holiday" for d in before["days"])
    assert "adjusted working days (调休上班) are unknown" in before["warnings"][0]
    # without the notice, the statutory fallback already skips the four days of the Spring Festival
    assert add_working_days(sh(2027, 2, 4, 10), 2) == sh(2027, 2, 10, 18)

    # only the district admin loads it; bad input is a 422 naming the field, and changes nothing
    other = Api(gateway, token("community_admin", ["maxian"]))
    assert other.call("PUT", "/api/v1/calendar/2027", json=SCHEDULE_2027).status_code == 403
    bad = dict(SCHEDULE_2027, workdays=[{"name": "春节", "from": "2027-02-08"}])
    r = admin.call("PUT", "/api/v1/calendar/2027", json=bad)
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == {
        "workdays.0": ["2027-02-08 is both a holiday and an adjusted working day (holidays.1)"]
    }
    r = admin.call("PUT", "/api/v1/calendar/2027", json=dict(SCHEDULE_2027, holidays=SCHEDULE_2027["holidays"][:1]))
    assert r.status_code == 422 and "2027-02-05 (春节)" in r.json()["errors"]["holidays"][0]
    r = admin.call("PUT", "/api/v1/calendar/2027", json=dict(SCHEDULE_2027, workdays=[{"name": "x", "from": True}]))
    assert r.status_code == 422 and "workdays" in r.json()["errors"]
    assert admin.call("PUT", "/api/v1/calendar/1999", json=SCHEDULE_2027).status_code == 404
    assert admin.get("/api/v1/calendar/2027").json()["source"] == "statutory"

    r = admin.call("PUT", "/api/v1/calendar/2027", json=SCHEDULE_2027)
    assert r.status_code == 200, r.text
    loaded = admin.get("/api/v1/calendar/2027").json()
    assert (loaded["source"], loaded["notice"], loaded["loaded_by"]) == (
        "official",
        SCHEDULE_2027["notice"],
        "district-admin",
    )
    assert loaded["warnings"] == [] and loaded == r.json()
    days = {d["date"]: d for d in loaded["days"]}
    assert days["2027-02-12"] == {
        "date": "2027-02-12",
        "kind": "holiday",
        "name": "春节",
        "source": "official",
        "fixed_by_law": False,
    }
    assert days["2027-02-05"]["fixed_by_law"] and days["2027-02-20"]["kind"] == "workday"
    # routing now computes with the notice: Feb 5–14 off, then Mon 15th and Tue 16th; Sat Feb 20 is worked
    assert add_working_days(sh(2027, 2, 4, 10), 2) == sh(2027, 2, 16, 18)
    assert deadline_for("immediate", sh(2027, 2, 20, 9)) == sh(2027, 2, 20, 18)
    assert calendar.current().source(2027) == "official"
    # 2026 still comes from the library; the answer to a staff member is the same
    grid = Api(gateway, token("grid_member", ["maxian"]))
    assert grid.get("/api/v1/calendar/2026").json()["source"] == "library"
    assert grid.get("/api/v1/calendar/2027").json()["source"] == "official"
    assert grid.get("/api/v1/calendar/abc").status_code == 404


def test_the_fallback_is_reported_by_readyz_and_metrics_until_the_notices_are_loaded(gateway, routing, token):
    admin = Api(gateway, token("district_admin", ["*"], sub="district-admin"))
    today = clock.now().astimezone(TZ).date()  # which years are reported depends on it, the rule does not
    expected = holidays.report(today, WorkingCalendar())
    assert expected["fallback_years"]  # the library ends in 2026, so some year within 13 months is on the law
    ready = requests.get(f"{gateway}/readyz", timeout=10)
    assert ready.status_code == 200  # ready: the fallback is a warning, not an outage
    assert ready.json()["warnings"] == {"routing": expected["warnings"]}
    metrics_url = f"http://{routing.config['WEB_SERVER_ADDRESS']}/metrics"
    year = expected["fallback_years"][0]
    wait_for(lambda: f'minqing_calendar_fallback{{year="{year}"}} 1.0' in requests.get(metrics_url, timeout=5).text)

    for year in expected["fallback_years"]:
        assert admin.call("PUT", f"/api/v1/calendar/{year}", json=law_only(year)).status_code == 200
    ready = requests.get(f"{gateway}/readyz", timeout=10).json()
    assert ready["status"] == "ready" and ready["warnings"] == {}
    wait_for(lambda: f'minqing_calendar_fallback{{year="{year}"}} 0.0' in requests.get(metrics_url, timeout=5).text)


def test_a_2027_schedule_loaded_with_the_cli_and_through_another_copy(routing, tmp_path, capsys):
    path = tmp_path / "calendar-2027.yaml"
    path.write_text(YAML_2027, encoding="utf-8")
    assert main(["calendar", "import", str(path)]) == 0
    assert (
        "loaded the 2027 calendar: 17 days off, 1 adjusted working day(s) (test schedule (CLI))"
        in capsys.readouterr().out
    )
    assert add_working_days(sh(2027, 2, 4, 10), 2) == sh(2027, 2, 16, 18)
    with UnitOfWork(make_engine(routing.config["DB_URL"])).transaction() as session:
        assert holidays.view(session, 2027)["notice"] == "test schedule (CLI)"

    # a file with a wrong day is refused with the field named, and changes nothing
    path.write_text(YAML_2027.replace("from: 2027-02-20", "from: 2027-02-22"), encoding="utf-8")
    assert main(["calendar", "import", str(path)]) == 1
    assert "workdays.0: 2027-02-22 is a Monday" in capsys.readouterr().err
    path.write_text("year: 2027\nholidayz: []\n", encoding="utf-8")
    assert main(["calendar", "import", str(path)]) == 2

    # a load through another copy (here: straight into the database, as that copy's transaction would) reaches
    # this process by the revision check alone
    schedule = holidays.schedule_of(2027, CalendarIn().load(dict(SCHEDULE_2027, notice="another copy")))
    with UnitOfWork(make_engine(routing.config["DB_URL"])).transaction() as session:
        holidays.store(session, schedule, "someone", clock.now())
    wait_for(lambda: calendar.current().year(2027).notice == "another copy")
    assert calendar.current().is_working_day(date(2027, 10, 9))  # that schedule's Saturday worked

"""The district's holiday schedules: each year's State Council notice, checked, stored in routing's database
and installed into :mod:`services.routing.calendar` (see docs/calendar.md).

A notice gives the days off and the adjusted working days (调休上班); :func:`schedule_of` turns the loaded spans
into a :class:`~services.routing.calendar.YearSchedule` or names every field that is wrong. Every routing copy
keeps the schedules in memory and compares the stored (year, revision) pairs with its own on a timer
(:func:`refresh`): a load on one copy reaches the others within ``calendar_refresh_interval`` seconds.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import yaml
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minqing import metrics
from minqing.errors import Conflict, InvalidInput, NotFound
from services.routing import calendar
from services.routing.models import CalendarDay, CalendarYear

MAX_SPAN_DAYS = 31
LAW_IN_FORCE = 2025  # the 2024 amendment (除夕 and a second Labour Day) applies from 2025 on
# a quarter ahead: longer than any deadline the limits allow (15 working days, then a bureau's own), so next
# year is reported from October 1st, when its notice is due (the State Council publishes it in Oct–Dec);
# a longer horizon would alarm about a year whose notice cannot exist yet
HORIZON = timedelta(days=92)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FILE_KEYS = ("year", "notice", "holidays", "workdays")


def check_year(year) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not calendar.FIRST_YEAR <= year <= calendar.LAST_YEAR:
        raise NotFound(f"no calendar for year {year!r}: years are {calendar.FIRST_YEAR}–{calendar.LAST_YEAR}")
    return year


# --- checking a notice (pure) -----------------------------------------------------------------------------------
def schedule_of(year: int, data: dict) -> calendar.YearSchedule:
    """The official schedule ``data`` (as :class:`~services.routing.schemas.CalendarIn` loaded it) gives ``year``.

    Every day is in the year; a span runs forwards for at most 31 days; no day is given twice, nor both off and
    worked; adjusted working days are Saturdays or Sundays; and from 2025 every day the law fixes is off."""
    errors: dict[str, list[str]] = {}
    days: dict[str, dict[date, str]] = {"holidays": {}, "workdays": {}}
    given_at: dict[date, str] = {}
    for kind in ("holidays", "workdays"):
        for i, span in enumerate(data.get(kind) or ()):
            at, start = f"{kind}.{i}", span["start"]
            end = span.get("to") or start
            for key, day in (("from", start), ("to", end)):
                if day.year != year:
                    errors.setdefault(f"{at}.{key}", []).append(f"{day} is not in {year}")
            if any(k.startswith(at + ".") for k in errors):
                continue
            if end < start:
                errors[f"{at}.to"] = [f"{end} is before from ({start})"]
                continue
            if (end - start).days >= MAX_SPAN_DAYS:
                errors[f"{at}.to"] = [f"a span is at most {MAX_SPAN_DAYS} days; {start} to {end} is longer"]
                continue
            day = start
            while day <= end:
                problem = _day_problem(kind, day, given_at.get(day))
                if problem:
                    errors.setdefault(at, []).append(problem)
                    break
                days[kind][day], given_at[day] = span["name"], at
                day += timedelta(days=1)
    if not errors and year >= LAW_IN_FORCE:
        law = calendar.statutory_holidays(year)
        missing = [f"{d} ({name})" for d, name in law.items() if d not in days["holidays"]]
        if missing:
            errors["holidays"] = ["the law fixes these days off, so the notice gives them: " + ", ".join(missing)]
    if errors:
        raise InvalidInput(f"the {year} schedule has invalid days", errors)
    return calendar.YearSchedule(
        year,
        "official",
        MappingProxyType(dict(sorted(days["holidays"].items()))),
        MappingProxyType(dict(sorted(days["workdays"].items()))),
        notice=data.get("notice"),
    )


def _day_problem(kind: str, day: date, earlier: str | None) -> str | None:
    if earlier is not None:
        if earlier.split(".")[0] != kind:
            return f"{day} is both a holiday and an adjusted working day ({earlier})"
        return f"{day} is given twice (also in {earlier})"
    if kind == "workdays" and day.weekday() < 5:
        return f"{day} is a {WEEKDAYS[day.weekday()]}: an adjusted working day (调休上班) is a Saturday or Sunday"
    return None


def read_file(path: str | Path) -> tuple[int, dict]:
    """The year and the request body a calendar file (docs/calendar.md) holds, for ``PUT /api/v1/calendar/{year}``.

    YAML dates become ISO strings, so the file is checked by the same rules as the API."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read it as a YAML calendar file: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with {', '.join(FILE_KEYS)}")
    unknown = sorted(map(str, set(data) - set(FILE_KEYS)))
    if unknown:
        raise ValueError(f"{path}: unknown keys {', '.join(unknown)} (allowed: {', '.join(FILE_KEYS)})")
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValueError(f"{path}: `year` must be a number such as 2027, got {year!r}")

    def plain(value):
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return year, {k: plain(v) for k, v in data.items() if k != "year"}


# --- storing, showing and loading -----------------------------------------------------------------------------
def store(session: Session, schedule: calendar.YearSchedule, actor: str, at: datetime) -> CalendarYear:
    """Replace the year's stored schedule with ``schedule``; a new revision tells every copy to reload."""
    row = session.get(CalendarYear, schedule.year, with_for_update=True)
    if row is None:
        row = CalendarYear(year=schedule.year)
        session.add(row)
    row.notice, row.loaded_by, row.loaded_at, row.revision = schedule.notice, actor, at, uuid.uuid4().hex
    try:
        session.flush()
    except IntegrityError:  # another load of the same year got there first
        raise Conflict(f"the {schedule.year} calendar is being loaded by another request; send it again") from None
    session.execute(delete(CalendarDay).where(CalendarDay.year == schedule.year))
    for kind, days in (("holiday", schedule.holidays), ("workday", schedule.workdays)):
        session.add_all(CalendarDay(day=d, year=schedule.year, kind=kind, name=name) for d, name in days.items())
    return row


def load_official(session: Session) -> dict[int, calendar.YearSchedule]:
    days: dict[int, dict[str, dict[date, str]]] = {}
    for row in session.scalars(select(CalendarDay).order_by(CalendarDay.day)):
        days.setdefault(row.year, {"holiday": {}, "workday": {}})[row.kind][row.day] = row.name
    return {
        row.year: calendar.YearSchedule(
            row.year,
            "official",
            MappingProxyType(days.get(row.year, {}).get("holiday", {})),
            MappingProxyType(days.get(row.year, {}).get("workday", {})),
            notice=row.notice,
        )
        for row in session.scalars(select(CalendarYear))
    }


def view(session: Session, year: int) -> dict:
    """The year as routing uses it: where it comes from, and each day off or worked with its source."""
    row = session.get(CalendarYear, check_year(year))
    schedule = load_official(session)[year] if row else calendar.library_schedule(year)
    schedule = schedule or calendar.statutory_schedule(year)
    law = calendar.statutory_holidays(year)
    days = [
        {"date": d, "kind": kind, "name": name, "source": schedule.source, "fixed_by_law": d in law}
        for kind, group in (("holiday", schedule.holidays), ("workday", schedule.workdays))
        for d, name in group.items()
    ]
    return {
        "year": year,
        "source": schedule.source,
        "notice": row.notice if row else None,
        "loaded_by": row.loaded_by if row else None,
        "loaded_at": row.loaded_at if row else None,
        "days": sorted(days, key=lambda d: d["date"]),
        "warnings": [fallback_warning([year])] if schedule.source == "statutory" else [],
    }


_installed: tuple | None = None  # the (year, revision) pairs this process holds


def refresh(session: Session) -> bool:
    """Install the stored schedules if they changed since this process last looked (one small query if not)."""
    global _installed
    stamp = tuple(session.execute(select(CalendarYear.year, CalendarYear.revision).order_by(CalendarYear.year)))
    if stamp == _installed:
        return False
    calendar.install(calendar.WorkingCalendar(load_official(session)))
    _installed = stamp
    return True


# --- reporting the fallback -----------------------------------------------------------------------------------
def fallback_warning(years: list[int]) -> str:
    listed = ", ".join(map(str, years))
    return (
        f"calendar: {listed} run(s) on the statutory fallback: the national holidays the law fixes are off, but the "
        "adjusted working days (调休上班) are unknown until the State Council's notice is loaded "
        f"(PUT /api/v1/calendar/{years[0]} or `minqing calendar import FILE`, docs/calendar.md)"
    )


def report(today: date, cal: calendar.WorkingCalendar | None = None) -> dict:
    """Where each year from ``today`` to a quarter on comes from, and which run on the statutory fallback."""
    cal = cal or calendar.current()
    years = range(today.year, (today + HORIZON).year + 1)
    sources = {str(y): cal.source(y) for y in years}
    fallback = [y for y in years if sources[str(y)] == "statutory"]
    warnings = [fallback_warning(fallback)] if fallback else []
    return {"sources": sources, "fallback_years": fallback, "warnings": warnings}


def export(summary: dict) -> None:
    """The report as ``minqing_calendar_fallback{year}`` (1: statutory fallback), only for the years it covers."""
    metrics.CALENDAR_FALLBACK.clear()
    for year, source in summary["sources"].items():
        metrics.CALENDAR_FALLBACK.labels(year).set(1 if source == "statutory" else 0)

"""Working-day calendar and deadline rules for the routing service (pure functions, no I/O).

Which days are worked comes, for each year, from the first of (see docs/calendar.md):

1. ``official`` — the State Council's notice for that year (holidays and adjusted working days, 调休上班) as the
   district loaded it (routing's ``calendar_years``/``calendar_days`` tables; :mod:`services.routing.holidays`
   installs them here with :func:`install`);
2. ``library`` — ``chinese_calendar``, which carries the notices of 2004–2026;
3. ``statutory`` — what the law fixes (《全国年节及纪念日放假办法》 as amended in 2024, :func:`statutory_holidays`):
   the national holidays, lunar dates and the Qingming solar term computed by ``lunar_python``. The adjusted
   working days are unknown until the notice is loaded, so routing reports such years loudly.

Public holidays are off, adjusted working days count, other days are worked Monday to Friday. "N working days"
means the N-th working day after the start's local date, at ``day_end`` (18:00) Asia/Shanghai. Every function
takes the calendar as ``cal=`` (a :class:`WorkingCalendar`); without it, the one routing installed.

Deadlines per handling type (GLOSSARY §2, 分类办理):

* 即办件 ``immediate`` — registered on a working day before ``cutoff`` (16:00): that day at 18:00; at/after the
  cutoff or on a non-working day: 12:00 of the next working day.
* 补办件 ``supplement`` — no deadline until the resident's material arrives; then ``supplement_days`` (3) working days
  (:func:`resume_after_supplement`).
* 承诺件 ``committed`` — the committed working day (at most ``committed_max_days``, 15, working days ahead) at 18:00,
  or ``committed_days`` working days (default 5).
* 建议件 ``suggestion`` — ``suggestion_days`` (10) working days.
* 上报件 ``escalated`` — the community transfers within ``escalation_transfer_days`` (1) working day; the district
  bureau then has ``bureau_days`` (10) working days from the transfer (:func:`bureau_deadline`).

"Due soon" is the instant when ``due_soon_fraction`` (80%) of the wall-clock time from start to deadline has elapsed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import chinese_calendar
from lunar_python import Lunar

TZ = ZoneInfo("Asia/Shanghai")
HANDLING_TYPES = ("immediate", "supplement", "committed", "suggestion", "escalated")

_TIME_FIELDS = ("cutoff", "noon", "day_end")
_DAY_FIELDS = (
    "supplement_days",
    "committed_default_days",
    "committed_max_days",
    "suggestion_days",
    "escalation_transfer_days",
    "bureau_days",
)


@dataclass(frozen=True)
class Limits:
    """Per-community time limits; the defaults are the district's standard rules."""

    cutoff: time = time(16, 0)  # immediate cases registered at/after this are due by noon next working day
    noon: time = time(12, 0)
    day_end: time = time(18, 0)  # "same working day" means by 18:00 local
    supplement_days: int = 3  # after the resident's material arrives
    committed_default_days: int = 5
    committed_max_days: int = 15
    suggestion_days: int = 10
    escalation_transfer_days: int = 1  # community must transfer within 1 working day
    bureau_days: int = 10  # the bureau's own limit
    due_soon_fraction: float = 0.8

    def __post_init__(self) -> None:
        for name in _TIME_FIELDS:  # "HH:MM" strings are accepted, so Limits(**limits.to_dict()) works
            value = getattr(self, name)
            if isinstance(value, str):
                try:
                    value = time.fromisoformat(value)
                except ValueError:
                    raise ValueError(f"{name} must be a time like '16:00', got {value!r}") from None
                object.__setattr__(self, name, value)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"{name} must be a naive local time, got {value!r}")
        for name in _DAY_FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.committed_default_days > self.committed_max_days:
            raise ValueError(
                f"committed_default_days ({self.committed_default_days}) must not exceed "
                f"committed_max_days ({self.committed_max_days})"
            )
        if self.cutoff > self.day_end:
            raise ValueError(f"cutoff ({self.cutoff}) must not be later than day_end ({self.day_end})")
        f = self.due_soon_fraction
        if isinstance(f, bool) or not isinstance(f, int | float) or not 0 < f < 1:
            raise ValueError(f"due_soon_fraction must be strictly between 0 and 1, got {f!r}")

    @classmethod
    def from_dict(cls, d: dict) -> Limits:
        """Build from a config mapping (times as ``"HH:MM"`` strings or ``time``); unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known, key=str)
        if unknown:
            allowed = ", ".join(sorted(known))
            raise ValueError(f"unknown limit keys: {', '.join(map(str, unknown))} (allowed: {allowed})")
        return cls(**d)

    def to_dict(self) -> dict:
        """JSON-friendly mapping; ``Limits.from_dict(limits.to_dict()) == limits``."""
        out = asdict(self)
        for name in _TIME_FIELDS:
            t = out[name]
            out[name] = t.isoformat("minutes" if not (t.second or t.microsecond) else "auto")
        return out


def _local(dt: datetime, name: str = "datetime") -> datetime:
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {dt!r}")
    return dt.astimezone(TZ)


def _at(d: date, t: time) -> datetime:
    return datetime.combine(d, t, tzinfo=TZ)


# --- which days are worked ----------------------------------------------------------------------------------
SOURCES = ("official", "library", "statutory")
FIRST_YEAR, LAST_YEAR = 2000, 2099  # the years a schedule can be loaded for
NEW_YEAR, SPRING, QINGMING, LABOUR, DRAGON_BOAT, MID_AUTUMN, NATIONAL = (
    "元旦",
    "春节",
    "清明节",
    "劳动节",
    "端午节",
    "中秋节",
    "国庆节",
)
_LIBRARY_NAMES = {  # chinese_calendar's names, as the notices write them
    "New Year's Day": NEW_YEAR,
    "Spring Festival": SPRING,
    "Tomb-sweeping Day": QINGMING,
    "Labour Day": LABOUR,
    "Dragon Boat Festival": DRAGON_BOAT,
    "Mid-autumn Festival": MID_AUTUMN,
    "National Day": NATIONAL,
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}
_LIBRARY_YEARS = (min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year)


@dataclass(frozen=True)
class YearSchedule:
    """One year's days off and adjusted working days (调休上班), each with the holiday it belongs to."""

    year: int
    source: str  # one of SOURCES
    holidays: Mapping[date, str]
    workdays: Mapping[date, str] = field(default_factory=dict)
    notice: str | None = None

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays


def _lunar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


@functools.lru_cache(maxsize=256)
def statutory_holidays(year: int) -> Mapping[date, str]:
    """The days off the law fixes in ``year`` (《全国年节及纪念日放假办法》, as amended in 2024, in force from 2025):
    New Year's Day; the Spring Festival, lunar New Year's Eve (除夕) to the 3rd day of the first month; Qingming,
    the day of the solar term; Labour Day, May 1–2; the Dragon Boat Festival, lunar 5/5; Mid-Autumn, lunar 8/15;
    National Day, Oct 1–3. Two holidays on one day (Mid-Autumn on Oct 1, as in 2020) share it."""
    if isinstance(year, bool) or not isinstance(year, int) or not 1901 <= year <= 2199:
        raise ValueError(f"year must be an integer in 1901..2199, got {year!r}")
    new_year = _lunar(year, 1, 1)
    qingming = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    days = [
        (date(year, 1, 1), NEW_YEAR),
        *[(new_year + timedelta(days=n), SPRING) for n in range(-1, 3)],  # 除夕 is the day before 正月初一
        (date(qingming.getYear(), qingming.getMonth(), qingming.getDay()), QINGMING),
        (date(year, 5, 1), LABOUR),
        (date(year, 5, 2), LABOUR),
        (_lunar(year, 5, 5), DRAGON_BOAT),
        (_lunar(year, 8, 15), MID_AUTUMN),
        *[(date(year, 10, d), NATIONAL) for d in (1, 2, 3)],
    ]
    out: dict[date, str] = {}
    for day, name in days:
        out[day] = f"{out[day]}、{name}" if day in out else name
    return MappingProxyType(dict(sorted(out.items())))


def statutory_schedule(year: int) -> YearSchedule:
    """The fallback for a year with neither a loaded notice nor library data: the law's holidays, no 调休."""
    return YearSchedule(year, "statutory", statutory_holidays(year))


@functools.lru_cache(maxsize=64)
def library_schedule(year: int) -> YearSchedule | None:
    """``chinese_calendar``'s copy of the year's notice, or None outside the years it carries."""
    if not _LIBRARY_YEARS[0] <= year <= _LIBRARY_YEARS[1]:
        return None

    def of_year(days: Mapping[date, str]) -> Mapping[date, str]:
        return MappingProxyType({d: _LIBRARY_NAMES.get(n, n) for d, n in sorted(days.items()) if d.year == year})

    return YearSchedule(year, "library", of_year(chinese_calendar.holidays), of_year(chinese_calendar.workdays))


class WorkingCalendar:
    """Working days per year: a loaded notice (``official``) first, then the library, then the law."""

    def __init__(self, official: Mapping[int, YearSchedule] | None = None):
        for year, schedule in (official or {}).items():
            if schedule.year != year or schedule.source != "official":
                raise ValueError(f"official[{year}] must be that year's official schedule, got {schedule!r}")
        self._years: dict[int, YearSchedule] = dict(official or {})

    def year(self, year: int) -> YearSchedule:
        schedule = self._years.get(year)
        if schedule is None:
            schedule = self._years[year] = library_schedule(year) or statutory_schedule(year)
        return schedule

    def is_working_day(self, d: date) -> bool:
        return self.year(d.year).is_working_day(d)

    def source(self, year: int) -> str:
        return self.year(year).source

    def fallback_years(self, start: date, end: date) -> list[int]:
        """The years from ``start``'s to ``end``'s that run on the statutory fallback."""
        return [y for y in range(start.year, end.year + 1) if self.source(y) == "statutory"]


_active = WorkingCalendar()


def install(cal: WorkingCalendar) -> None:
    """Make ``cal`` the calendar every function uses when not given one (routing: the loaded schedules)."""
    global _active
    if not isinstance(cal, WorkingCalendar):
        raise ValueError(f"expected a WorkingCalendar, got {cal!r}")
    _active = cal


def current() -> WorkingCalendar:
    return _active


def is_working_day(d: date, *, cal: WorkingCalendar | None = None) -> bool:
    """True on working days: holidays off, adjusted working days (调休上班) on, otherwise Monday to Friday."""
    if isinstance(d, datetime):
        d = d.date()
    return (cal or _active).is_working_day(d)


def next_working_day(d: date, *, cal: WorkingCalendar | None = None) -> date:
    """The first working day strictly after ``d``."""
    cal = cal or _active
    d += timedelta(days=1)
    while not cal.is_working_day(d):
        d += timedelta(days=1)
    return d


def add_working_days(
    start: datetime, n: int, *, day_end: time = Limits.day_end, cal: WorkingCalendar | None = None
) -> datetime:
    """``day_end`` on the n-th working day after ``start``'s local date (n >= 1), in Asia/Shanghai."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    cal = cal or _active
    d = _local(start, "start").date()
    for _ in range(n):
        d = next_working_day(d, cal=cal)
    return _at(d, day_end)


def working_days_between(a: datetime, b: datetime, *, cal: WorkingCalendar | None = None) -> int:
    """Working days after ``a``'s local date up to and including ``b``'s local date (0 if b's date <= a's)."""
    cal = cal or _active
    d, end = _local(a, "a").date(), _local(b, "b").date()
    count = 0
    while d < end:
        d += timedelta(days=1)
        count += cal.is_working_day(d)
    return count


def deadline_for(
    handling_type: str,
    registered_at: datetime,
    limits: Limits = Limits(),
    *,
    committed_days: int | None = None,
    committed_date: date | None = None,
    cal: WorkingCalendar | None = None,
) -> datetime | None:
    """Deadline for a newly registered case; ``None`` for 补办件 (the clock starts when material arrives)."""
    reg = _local(registered_at, "registered_at")
    cal = cal or _active
    if handling_type not in HANDLING_TYPES:
        raise ValueError(f"unknown handling type {handling_type!r}; allowed: {', '.join(HANDLING_TYPES)}")
    if handling_type != "committed" and (committed_days is not None or committed_date is not None):
        raise ValueError("committed_days/committed_date only apply to handling type 'committed'")

    if handling_type == "immediate":
        if cal.is_working_day(reg.date()) and reg.time() < limits.cutoff:
            return _at(reg.date(), limits.day_end)
        return _at(next_working_day(reg.date(), cal=cal), limits.noon)
    if handling_type == "supplement":
        return None
    if handling_type == "suggestion":
        return add_working_days(reg, limits.suggestion_days, day_end=limits.day_end, cal=cal)
    if handling_type == "escalated":
        return add_working_days(reg, limits.escalation_transfer_days, day_end=limits.day_end, cal=cal)

    # committed (承诺件)
    if committed_days is not None and committed_date is not None:
        raise ValueError("give either committed_days or committed_date, not both")
    if committed_date is not None:
        if isinstance(committed_date, datetime) or not isinstance(committed_date, date):
            raise ValueError(f"committed_date must be a date, got {committed_date!r}")
        if not cal.is_working_day(committed_date):
            raise ValueError(f"committed_date {committed_date} is not a working day")
        deadline = _at(committed_date, limits.day_end)
        days = working_days_between(reg, deadline, cal=cal)
        if not 1 <= days <= limits.committed_max_days:
            raise ValueError(
                f"committed_date {committed_date} is {days} working days after registration on "
                f"{reg.date()}; it must be 1..{limits.committed_max_days} working days ahead"
            )
        return deadline
    days = limits.committed_default_days if committed_days is None else committed_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limits.committed_max_days:
        raise ValueError(f"committed_days must be an integer in 1..{limits.committed_max_days}, got {days!r}")
    return add_working_days(reg, days, day_end=limits.day_end, cal=cal)


def reopen_deadline(
    handling_type: str, reopened_at: datetime, limits: Limits = Limits(), *, cal: WorkingCalendar | None = None
) -> datetime:
    """A reopened case's fresh limit, counted from the reopening as if registered then; a 补办件 already has the
    resident's material, so its limit is the one that runs after material arrives."""
    if handling_type == "supplement":
        return resume_after_supplement(reopened_at, limits, cal=cal)
    return deadline_for(handling_type, reopened_at, limits, cal=cal)


def bureau_deadline(
    transferred_at: datetime, limits: Limits = Limits(), *, cal: WorkingCalendar | None = None
) -> datetime:
    """The district bureau's deadline for an escalated case: ``bureau_days`` working days after transfer."""
    return add_working_days(transferred_at, limits.bureau_days, day_end=limits.day_end, cal=cal)


def resume_after_supplement(
    material_received_at: datetime, limits: Limits = Limits(), *, cal: WorkingCalendar | None = None
) -> datetime:
    """Deadline for a 补办件 once the resident's material arrives: ``supplement_days`` working days."""
    return add_working_days(material_received_at, limits.supplement_days, day_end=limits.day_end, cal=cal)


def due_soon_at(started_at: datetime, deadline: datetime, fraction: float = 0.8) -> datetime:
    """``started_at + fraction * (deadline - started_at)`` (wall-clock); the deadline itself if not after start."""
    start, end = _local(started_at, "started_at"), _local(deadline, "deadline")
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise ValueError(f"fraction must be strictly between 0 and 1, got {fraction!r}")
    if end <= start:
        return end
    return (start + (end - start) * fraction).astimezone(TZ)

"""The rates a district judges a community by, computed from plain per-case records (pure functions, no I/O).

Every rate is a :class:`Rate` — numerator, denominator, and ``value = numerator / denominator`` (unrounded), or
``None`` when the denominator is 0 (never 0.0 or 1.0: "no data" is not "all bad" or "all good").

* **Response limit** — 18:00 Asia/Shanghai on the first working day (``chinese_calendar``: holidays off, 调休 days
  on) after the local date of registration; a case registered Fri 2025-09-26 must be acted on by Sun 09-28 18:00.
* **Response rate** (响应率) — cases whose first handler action (accept/start/resolve/escalate) is at or before the
  response limit / cases registered, leaving out cases with no action whose limit is still after ``now``.
* **On-time rate** (按时办结率) — cases resolved at or before their deadline / cases with a deadline that are resolved
  or whose deadline is before ``now`` (still open past the deadline = late; no deadline, e.g. 补办件 = left out).
* **Resolution rate** (办结率) — cases with ``resolved_at`` set / all cases.
* **Satisfaction rate** (满意率) — rated cases with ``satisfied is True`` / rated cases; not rated is never satisfied
  and is not in the denominator; always show the denominator (number rated) beside the value.
* **Reopen rate** (重办率) — cases reopened at least once / cases resolved at least once (``resolved_at`` set, or
  ``reopen_count >= 1``, since a reopen implies an earlier resolution).
* **Coverage** (走访覆盖率) — households visited / households.

``resolved_at`` and the other facts are taken as given; ``now`` only decides whether a response limit or deadline
has passed. Comparisons are inclusive: an action or resolution exactly at its limit is in time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from services.routing.calendar import TZ, add_working_days

RESPONSE_DAY_END = time(18, 0)
GROUP_BY = (None, "community", "grid", "handler", "channel")
UNCLASSIFIED = "unclassified"  # key in ``by_handling_type`` for cases with no handling type yet

_DATETIME_FIELDS = ("registered_at", "deadline", "first_action_at", "resolved_at")


def _aware(dt: datetime, name: str) -> datetime:
    if not isinstance(dt, datetime) or dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {dt!r}")
    return dt


@dataclass(frozen=True)
class CaseFacts:
    """One case as the feedback service knows it; all datetimes are timezone-aware."""

    case_id: str
    community: str
    grid: str | None
    handler: str | None
    channel: str
    handling_type: str | None
    registered_at: datetime
    deadline: datetime | None
    first_action_at: datetime | None  # first accept/start/resolve/escalate by a handler
    resolved_at: datetime | None
    satisfied: bool | None  # None = not rated (never counted as satisfied)
    rated: bool
    reopen_count: int
    closed_not_rated: bool = False

    def __post_init__(self) -> None:
        for name in _DATETIME_FIELDS:
            value = getattr(self, name)
            if value is not None or name == "registered_at":
                _aware(value, f"{self.case_id}: {name}")
        n = self.reopen_count
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"{self.case_id}: reopen_count must be an integer >= 0, got {n!r}")


@dataclass(frozen=True)
class Rate:
    """``numerator / denominator``; ``value`` is ``None`` when there is nothing to divide by."""

    numerator: int
    denominator: int

    def __post_init__(self) -> None:
        for name in ("numerator", "denominator"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, got {v!r}")
        if self.numerator > self.denominator:
            raise ValueError(f"numerator ({self.numerator}) must not exceed denominator ({self.denominator})")

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def as_dict(self) -> dict:
        return {"value": self.value, "numerator": self.numerator, "denominator": self.denominator}


def _count(cases: Iterable[CaseFacts], numerator: Callable[[CaseFacts], bool], denominator: Callable) -> Rate:
    num = den = 0
    for c in cases:
        if denominator(c):
            den += 1
            num += bool(numerator(c))
    return Rate(num, den)


def response_limit(registered_at: datetime, working_days: int = 1, *, day_end: time = RESPONSE_DAY_END) -> datetime:
    """``day_end`` (18:00) Asia/Shanghai on the ``working_days``-th (1st) working day after registration's local date.

    Registration on a working day, a weekend or a holiday is treated alike: the clock always runs to the end of the
    *next* working day (Fri → Mon, or a 调休 Sunday; the day before National Day → the first day back).
    """
    return add_working_days(_aware(registered_at, "registered_at"), working_days, day_end=day_end)


def _responded_in_time(c: CaseFacts) -> bool:
    return c.first_action_at is not None and c.first_action_at <= response_limit(c.registered_at)


def response_rate(cases: Iterable[CaseFacts], now: datetime) -> Rate:
    """First action at/before the response limit / cases registered, minus cases still inside their limit with no
    action at ``now`` (neither on time nor late yet). A case with no action after its limit counts as late."""
    _aware(now, "now")
    return _count(
        cases,
        _responded_in_time,
        lambda c: c.first_action_at is not None or response_limit(c.registered_at) < now,
    )


def on_time_rate(cases: Iterable[CaseFacts], now: datetime) -> Rate:
    """Resolved at/before the deadline / cases with a deadline that are resolved or whose deadline is before ``now``.

    Cases without a deadline (补办件 awaiting material) and open cases whose deadline has not passed are left out.
    """
    _aware(now, "now")
    return _count(
        cases,
        lambda c: c.resolved_at is not None and c.resolved_at <= c.deadline,
        lambda c: c.deadline is not None and (c.resolved_at is not None or c.deadline < now),
    )


def resolution_rate(cases: Iterable[CaseFacts]) -> Rate:
    """Cases with ``resolved_at`` set / all cases."""
    return _count(cases, lambda c: c.resolved_at is not None, lambda c: True)


def satisfaction_rate(cases: Iterable[CaseFacts]) -> Rate:
    """Rated cases with ``satisfied is True`` / rated cases (the denominator is the number rated)."""
    return _count(cases, lambda c: c.satisfied is True, lambda c: c.rated)


def reopen_rate(cases: Iterable[CaseFacts]) -> Rate:
    """Cases with ``reopen_count >= 1`` / cases resolved at least once (``resolved_at`` set or reopened)."""
    return _count(cases, lambda c: c.reopen_count > 0, lambda c: c.resolved_at is not None or c.reopen_count > 0)


def coverage(visited_households: int, households: int) -> Rate:
    """Households visited / households; more visited than exist is a data error (ValueError)."""
    return Rate(visited_households, households)


def _sorted_counts(counter: Counter) -> dict:
    return dict(sorted(counter.items()))


def _group_key(value: str | None) -> tuple[bool, str]:
    return (value is None, value or "")


def summarize(cases: Iterable[CaseFacts], now: datetime, group_by: str | None = None) -> list[dict]:
    """Counts and every per-case rate, overall (``group_by=None``) or per community/grid/handler/channel.

    Each row: ``{"group", "cases", "by_channel", "by_handling_type", "response_rate", "on_time_rate",
    "resolution_rate", "satisfaction_rate", "reopen_rate"}``; rates as :meth:`Rate.as_dict`, count mappings sorted
    by key (no handling type → ``"unclassified"``). Rows are sorted by group key with ``None`` (no grid/handler)
    last. ``group_by=None`` always gives exactly one row with ``"group": None``, even for no cases; otherwise groups
    with no cases do not appear.
    """
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(map(str, GROUP_BY))}, got {group_by!r}")
    _aware(now, "now")
    cases = list(cases)
    groups: dict[str | None, list[CaseFacts]] = {}
    if group_by is None:
        groups[None] = cases
    else:
        for c in cases:
            groups.setdefault(getattr(c, group_by), []).append(c)
    rows = []
    for key in sorted(groups, key=_group_key):
        group = groups[key]
        rows.append(
            {
                "group": key,
                "cases": len(group),
                "by_channel": _sorted_counts(Counter(c.channel for c in group)),
                "by_handling_type": _sorted_counts(Counter(c.handling_type or UNCLASSIFIED for c in group)),
                "response_rate": response_rate(group, now).as_dict(),
                "on_time_rate": on_time_rate(group, now).as_dict(),
                "resolution_rate": resolution_rate(group).as_dict(),
                "satisfaction_rate": satisfaction_rate(group).as_dict(),
                "reopen_rate": reopen_rate(group).as_dict(),
            }
        )
    return rows


_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")
_YEAR = re.compile(r"[0-9]{4}")
_LAST_DAYS = re.compile(r"last_([0-9]{1,4})_days")


def _midnight(d: date) -> datetime:
    return datetime.combine(d, time(0, 0), tzinfo=TZ)


def period(name: str, today: date) -> tuple[datetime, datetime]:
    """``[start, end)`` at local midnights in Asia/Shanghai for a reporting period.

    ``"2026-11"`` a month, ``"2026-Q4"`` a quarter, ``"2026"`` a year, ``"last_30_days"`` (any ``last_N_days``,
    N >= 1) the N days ending with ``today`` inclusive: ``[today - (N-1) days, today + 1 day)``. Years 1..9998.
    Anything else is a ValueError.
    """
    if not isinstance(name, str):
        raise ValueError(f"period must be a string, got {name!r}")
    if isinstance(today, datetime) or not isinstance(today, date):
        raise ValueError(f"today must be a date (not a datetime), got {today!r}")
    try:
        if m := _MONTH.fullmatch(name):
            y, mo = int(m[1]), int(m[2])
            start = date(y, mo, 1)
            end = date(y + mo // 12, mo % 12 + 1, 1)
        elif m := _QUARTER.fullmatch(name):
            y, q = int(m[1]), int(m[2])
            start = date(y, 3 * q - 2, 1)
            end = date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)
        elif _YEAR.fullmatch(name):
            y = int(name)
            start, end = date(y, 1, 1), date(y + 1, 1, 1)
        elif m := _LAST_DAYS.fullmatch(name):
            n = int(m[1])
            if n < 1:
                raise ValueError("last_N_days needs N >= 1")
            start, end = today - timedelta(days=n - 1), today + timedelta(days=1)
        else:
            raise ValueError(f"unknown period {name!r}; use 'YYYY-MM', 'YYYY-Qn', 'YYYY' or 'last_N_days'")
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"invalid period {name!r}: {exc}") from None
    return _midnight(start), _midnight(end)

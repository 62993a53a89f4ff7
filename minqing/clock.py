"""The business clock: the one source of "now" for deadlines, reports, scanners and event times.

By default it is the real UTC clock. The setting MINQING_CLOCK_START (ISO 8601 with an offset, e.g.
`2026-03-11T10:00:00+08:00`) makes every process's clock start at that instant when the process first
asks for the time and run forward at real speed from there (measured on the monotonic clock, so timers,
deadlines and the scanner behave as they would live). It exists so tests and demos run the business at a
chosen instant instead of whatever day the machine is on; production leaves it unset.

With MINQING_CLOCK_ANCHOR (seconds since the epoch) as well, the clock read the start instant at that real
moment: processes started at different times, and a process restarted after a crash, agree on the time
instead of each starting over.

In-process tests move the clock with `start_at(instant)` (and `reset()`), which re-anchors it for every
service container in the process.

Security time is not business time: JWT issue and expiry (gateway/auth.py, account tokens) stay on the
real clock, because a token's lifetime is checked by libraries and other parties against the real time.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from minqing import config as settings

_UNSET = object()
# (business instant, monotonic reading at that instant), None for the real clock, _UNSET until first use
_anchor: object = _UNSET


def parse_start(raw: str) -> datetime:
    """An ISO 8601 instant with its offset; a naive value is refused rather than guessed."""
    try:
        instant = datetime.fromisoformat(raw.strip())
    except ValueError as exc:
        raise ValueError(f"MINQING_CLOCK_START: not an ISO 8601 instant: {raw!r}") from exc
    if instant.tzinfo is None:
        raise ValueError(f"MINQING_CLOCK_START: give the UTC offset, e.g. 2026-03-11T10:00:00+08:00; got {raw!r}")
    return instant.astimezone(UTC)


def _from_settings() -> tuple[datetime, float] | None:
    raw = settings.get("clock_start")
    if raw in (None, ""):
        return None
    start = raw if isinstance(raw, datetime) else parse_start(str(raw))
    if start.tzinfo is None:
        raise ValueError("MINQING_CLOCK_START: give the UTC offset")
    anchor = settings.get("clock_anchor")
    if anchor in (None, ""):
        return start.astimezone(UTC), time.monotonic()
    # the real (epoch) instant at which the business clock read `start`: every process given the same pair,
    # and a process restarted with it, reads the same business time instead of starting over at `start`
    try:
        since = time.time() - float(anchor)
    except ValueError as exc:
        raise ValueError(f"MINQING_CLOCK_ANCHOR: seconds since the epoch; got {anchor!r}") from exc
    return start.astimezone(UTC), time.monotonic() - since


def now() -> datetime:
    """The current business instant, timezone-aware in UTC."""
    global _anchor
    if _anchor is _UNSET:
        _anchor = _from_settings()
    if _anchor is None:
        return datetime.now(UTC)
    start, mono = _anchor
    return start + timedelta(seconds=time.monotonic() - mono)


def start_at(instant: datetime) -> None:
    """From now on this process's business clock reads `instant` and runs forward at real speed."""
    global _anchor
    if instant.tzinfo is None:
        raise ValueError("start_at needs a timezone-aware instant")
    _anchor = (instant.astimezone(UTC), time.monotonic())


def reset() -> None:
    """Back to what the settings say (the real clock unless MINQING_CLOCK_START is set)."""
    global _anchor
    _anchor = _UNSET


def is_real() -> bool:
    now()
    return _anchor is None

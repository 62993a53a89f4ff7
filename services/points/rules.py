"""The arithmetic of party-member points (党员积分制度), free of any database or broker.

* **Standard.** A rule version gives `points` per activity, per hour or per case. Hours count in whole
  half hours, rounded down (a 2 h 20 min patrol is 2.0 h), and points are whole: ``floor(points × hours)``.
* **Caps.** Per member and rule, a version may cap points per local day, month and year (Asia/Shanghai).
  An award that would pass a cap is cut to what the tightest cap still allows; at zero it is recorded as
  `capped` with no points, so the member's file shows why.
* **Expiry** (optional per community). Points lapse for redemption ``years`` after they were earned.
  Spending takes the oldest points first, so what lapses at a cutoff is what was earned before it and not
  yet spent, lapsed or corrected away, never more than the balance. A cancelled redemption's refund gives back
  the lots the redemption took, with the times they were earned, so it lapses when they would have: a refund
  is not fresh credit. The file keeps every entry; only the balance drops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
UNITS = ("per_activity", "per_hour", "per_case")
MEMBER_STATUSES = ("serving", "retired")
ENTRY_KINDS = ("award", "redemption", "refund", "correction", "expiry")
EARNING_KINDS = ("award", "correction")  # what counts as points earned (rankings, files), not spent


@dataclass(frozen=True)
class Standard:
    """One version of a rule: what it pays and its caps (None: no cap)."""

    points: int
    unit: str
    cap_day: int | None = None
    cap_month: int | None = None
    cap_year: int | None = None
    needs_approval: bool = False


# The seed's examples (GLOSSARY.md, "party-member points"); every community starts with these and its
# admins edit them. Codes are what events and activities refer to.
DEFAULT_RULES: dict[str, tuple[str, Standard]] = {
    "volunteer_service_day": ("党员志愿服务日", Standard(10, "per_activity", cap_month=20, needs_approval=True)),
    "night_patrol": ("夜间平安巡逻", Standard(2, "per_hour", cap_day=8, cap_month=60, needs_approval=True)),
    "flood_typhoon_duty": ("防汛抗台值守", Standard(3, "per_hour", cap_day=24, needs_approval=True)),
    "suggestion_adopted": ("建言献策被采纳", Standard(5, "per_case", cap_year=100)),
    "case_satisfied": ("承办事项获满意评价", Standard(3, "per_case", cap_month=60)),
    "home_visit": ("民情走访入户", Standard(1, "per_activity", cap_day=10, cap_month=100)),
}
# which rule an event-driven award earns under
EVENT_RULES = {
    "suggestion.adopted": "suggestion_adopted",
    "case.rated": "case_satisfied",
    "visit.recorded": "home_visit",
}


def hours_between(start: datetime, end: datetime) -> float:
    """Whole half hours from check-in to check-out, rounded down; 0 if out is not after in."""
    seconds = (end - start).total_seconds()
    return max(0, math.floor(seconds / 1800)) / 2


def standard_points(standard: Standard, quantity: float) -> int:
    if standard.unit == "per_hour":
        return math.floor(standard.points * quantity + 1e-9)
    return standard.points * max(1, round(quantity))


def local_day(when: datetime) -> date:
    return when.astimezone(TZ).date()


def cap_windows(when: datetime) -> dict[str, tuple[datetime, datetime]]:
    """The local day, month and year containing `when`, as [start, end) instants."""
    d = local_day(when)
    day_start = datetime.combine(d, time(0), tzinfo=TZ)
    month_start = datetime.combine(d.replace(day=1), time(0), tzinfo=TZ)
    next_month = date(d.year + d.month // 12, d.month % 12 + 1, 1)
    return {
        "day": (day_start, day_start + timedelta(days=1)),
        "month": (month_start, datetime.combine(next_month, time(0), tzinfo=TZ)),
        "year": (datetime(d.year, 1, 1, tzinfo=TZ), datetime(d.year + 1, 1, 1, tzinfo=TZ)),
    }


def room_under_caps(standard: Standard, earned: dict[str, int]) -> int | None:
    """Points still allowed given what the member already earned under this rule in each window; None if
    the version has no caps."""
    caps = {"day": standard.cap_day, "month": standard.cap_month, "year": standard.cap_year}
    rooms = [cap - earned.get(window, 0) for window, cap in caps.items() if cap is not None]
    return max(0, min(rooms)) if rooms else None


def within_caps(requested: int, room: int | None) -> int:
    return requested if room is None else max(0, min(requested, room))


def expiring(entries: list[tuple], cutoff: datetime, balance: int) -> int:
    """Points that lapse at `cutoff` (see the module doc): what is left of the lots earned before it.
    `entries` are every ledger entry of one member in ledger order, as (time, signed points) or
    (time, signed points, kind, source); see `unspent_lots`."""
    return max(0, min(balance, sum(amount for earned_at, amount in unspent_lots(entries) if earned_at < cutoff)))


def unspent_lots(entries: list[tuple]) -> list[tuple[datetime, int]]:
    """What is left of each credit, oldest first: credits (awards, corrections up) are lots earned at their
    time; debits (redemptions, corrections down, expiries) consume the oldest lots first. A refund
    (kind "refund") gives back the very lots its redemption (the debit with the same source) consumed,
    with their original earned-at times, so refunded points lapse when they would have had they never
    been spent; only a refund with no such redemption on record is fresh credit."""
    lots: list[list] = []  # [earned_at, amount], kept in earned-at order
    consumed: dict[str, list[tuple[datetime, int]]] = {}  # a redemption's source -> the lots it took
    for at, points, *tagged in entries:
        kind, source = tagged if tagged else (None, None)
        if points > 0:
            taken = consumed.pop(source, []) if kind == "refund" and source else []
            for earned_at, amount in taken:
                give = min(amount, points)
                _insert_lot(lots, earned_at, give)
                points -= give
            if points:
                _insert_lot(lots, at, points)
            continue
        debit, taken = -points, []
        for lot in lots:
            take = min(lot[1], debit)
            if take:
                lot[1] -= take
                debit -= take
                taken.append((lot[0], take))
            if not debit:
                break
        lots = [lot for lot in lots if lot[1]]
        if kind == "redemption" and source:
            consumed[source] = taken
    return [(earned_at, amount) for earned_at, amount in lots]


def _insert_lot(lots: list[list], earned_at: datetime, amount: int) -> None:
    index = next((i for i, lot in enumerate(lots) if lot[0] > earned_at), len(lots))
    lots.insert(index, [earned_at, amount])


def expiry_cutoff(today: date, years: int) -> datetime:
    """Points earned before local midnight of this day `years` years ago have lapsed (29 Feb → 28 Feb)."""
    try:
        day = today.replace(year=today.year - years)
    except ValueError:
        day = today.replace(year=today.year - years, day=28)
    return datetime.combine(day, time(0), tzinfo=TZ)


def competition_ranks(totals: list[tuple[str, int]]) -> list[tuple[int, str, int]]:
    """(rank, member, points), highest first; equal points share a rank and the next rank skips (1, 2, 2, 4).
    Members with equal points keep the order they came in (the caller's: by name)."""
    ordered = sorted(totals, key=lambda item: -item[1])
    ranked, previous, rank = [], None, 0
    for position, (member, points) in enumerate(ordered, start=1):
        if points != previous:
            rank, previous = position, points
        ranked.append((rank, member, points))
    return ranked

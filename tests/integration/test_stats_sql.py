"""`GET /api/v1/stats` on PostgreSQL counts in SQL; the answer must be exactly what loading every case and
counting with `rates.summarize` gives, for every period, grouping and filter, edge cases included."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from minqing.db import make_engine
from services.feedback import rates, statistics
from services.feedback.models import FeedbackCase
from services.routing.calendar import TZ

NOW = datetime(2026, 2, 20, 9, 30, tzinfo=UTC)  # just after the 2026 Spring Festival holiday
COMMUNITIES = ("maxian", "luoxing", "tingjiang")
CHANNELS = ("online", "hotline", "mailbox", "deputies_studio", "home_visit", "forum")


def _maybe(rng, value, p=0.5):
    return value if rng.random() < p else None


def _cases(n: int) -> list[FeedbackCase]:
    rng = random.Random(2026)
    out = []
    for i in range(n):
        # around local midnights, national holidays and 调休 days, and some after `now`
        registered = NOW - timedelta(days=rng.uniform(-5, 520))
        if rng.random() < 0.15:
            local = registered.astimezone(TZ)
            registered = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
                microseconds=rng.choice((-1, 0, 1))
            )
        limit = rates.response_limit(registered)
        moments = (limit, limit + timedelta(microseconds=1), registered + timedelta(hours=3), limit + timedelta(days=2))
        first_action = _maybe(rng, rng.choice(moments), 0.8)
        deadline = _maybe(rng, registered + timedelta(days=rng.choice((1, 7, 15))), 0.85)
        resolved = _maybe(rng, rng.choice((deadline or registered + timedelta(days=3),
                                           registered + timedelta(days=rng.uniform(0, 20)))), 0.6)  # fmt: skip
        if deadline and rng.random() < 0.05:
            deadline = NOW  # not before now: not yet due
        rated = rng.random() < 0.4
        out.append(
            FeedbackCase(
                id=f"c{i:05d}",
                community=rng.choice(COMMUNITIES),
                reference=f"R-{i}",
                channel=rng.choice(CHANNELS),
                grid=_maybe(rng, f"g{rng.randint(1, 4)}", 0.85),
                registered_at=registered,
                status=rng.choice(("registered", "in_progress", "resolved", "closed")),
                handling_type=_maybe(rng, rng.choice(("immediate", "committed", "suggestion", "escalated")), 0.8),
                deadline=deadline,
                handler_id=_maybe(rng, f"h{rng.randint(1, 6)}", 0.7),
                first_action_at=first_action,
                resolved_at=resolved,
                satisfied=rng.choice((True, False, None)) if rated else rng.choice((None, None, True)),
                rated=rated,
                reopen_count=rng.choice((0, 0, 0, 1, 2)),
                close_reason=rng.choice((None, "rated", "not_rated")),
                version=1,
            )
        )
    return out


@pytest.fixture(scope="module")
def session(databases):
    engine = make_engine(databases.create("feedback"))
    with Session(engine) as s:
        s.add_all(_cases(3000))
        s.commit()
        yield s
    engine.dispose()


PERIODS = ("2026-02", "2025-10", "2026-Q1", "2025-Q4", "2025", "2026", "last_30_days", "last_400_days", "1999")
SCOPES = (
    {"sub": "d", "role": "district_admin", "communities": ["*"], "bureau": None},
    {"sub": "a", "role": "community_admin", "communities": ["maxian", "luoxing"], "bureau": None},
)


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("group_by", ("community", "grid", "handler", "channel"))
def test_sql_counts_equal_the_python_rates(session, period, group_by):
    for scope in SCOPES:
        for community, channel in ((None, None), ("maxian", None), ("luoxing", "hotline"), ("tingjiang", None)):
            query = {"period": period, "group_by": group_by, "community": community, "channel": channel}
            in_sql = statistics.stats(session, query, scope, NOW)
            assert in_sql == statistics.stats_in_python(session, query, scope, NOW), query
    whole = statistics.stats(session, {"period": "2026", "group_by": group_by}, SCOPES[0], NOW)
    assert whole["overall"]["cases"] > 100  # the data does reach the periods compared


def test_the_limits_are_those_of_each_local_day():
    start, end = rates.period("2025-Q4", NOW.date())
    limits = statistics.response_limits(start, end)
    assert len(limits) == 92
    # one limit per local day, the first day's and the last day's as a case registered then would have
    assert limits[0] == rates.response_limit(datetime(2025, 10, 1, 12, tzinfo=TZ))
    assert limits[-1] == rates.response_limit(datetime(2025, 12, 31, 23, 59, tzinfo=TZ))

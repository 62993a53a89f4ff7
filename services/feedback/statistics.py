"""`GET /api/v1/stats`: the rates of `rates`, over feedback's view of each case in a period.

On PostgreSQL the database counts (one aggregate query, `aggregate_statement`): a year of a district is
hundreds of thousands of cases, too many to load and count in Python within a request. Each case's response
limit depends only on the local date it was registered on, so the limits of the period's days are computed
here with `rates.response_limit` (the holiday calendar stays in Python) and passed as an array the query
indexes by day. The counts come back per (group, channel, handling type) and are added up into exactly the
rows `rates.summarize` gives; on other databases (SQLite) the cases are loaded and `rates.summarize` counts them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import Date, DateTime, and_, cast, func, literal, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Grouping

from minqing.errors import InvalidInput
from services.feedback import rates
from services.feedback.models import FeedbackCase
from services.intake.directory import visible_communities
from services.routing.calendar import TZ


def facts(case: FeedbackCase) -> rates.CaseFacts:
    return rates.CaseFacts(
        case_id=case.id,
        community=case.community,
        grid=case.grid,
        handler=case.handler_id,
        channel=case.channel,
        handling_type=case.handling_type,
        registered_at=case.registered_at,
        deadline=case.deadline,
        first_action_at=case.first_action_at,
        resolved_at=case.resolved_at,
        # as a district counts it: satisfied means satisfied without the case ever having been reopened
        satisfied=(bool(case.satisfied) and case.reopen_count == 0) if case.rated else None,
        rated=case.rated,
        reopen_count=case.reopen_count,
        closed_not_rated=case.close_reason == "not_rated",
    )


def period_of(query: dict, now: datetime) -> tuple[datetime, datetime]:
    try:
        return rates.period(query["period"], now.astimezone(TZ).date())
    except ValueError as exc:
        raise InvalidInput(str(exc), {"period": [str(exc)]}) from None


def rows_statement(query: dict, scope: dict, start: datetime, end: datetime):
    """The cases a stats request counts (bench/scale.py runs it too)."""
    stmt = select(FeedbackCase).where(FeedbackCase.registered_at >= start, FeedbackCase.registered_at < end)
    allowed = visible_communities(scope)
    if allowed is not None:
        stmt = stmt.where(FeedbackCase.community.in_(allowed))
    if query.get("community"):
        stmt = stmt.where(FeedbackCase.community == query["community"])
    if query.get("channel"):
        stmt = stmt.where(FeedbackCase.channel == query["channel"])
    return stmt


GROUP_COLUMNS = {
    "community": FeedbackCase.community,
    "grid": FeedbackCase.grid,
    "handler": FeedbackCase.handler_id,
    "channel": FeedbackCase.channel,
}
# the counts behind each rate, as (numerator, denominator) column labels of aggregate_statement
RATE_COUNTS = {
    "response_rate": ("responded_in_time", "response_due"),
    "on_time_rate": ("resolved_on_time", "deadline_due"),
    "resolution_rate": ("resolved", "cases"),
    "satisfaction_rate": ("satisfied", "rated"),
    "reopen_rate": ("reopened", "resolved_once"),
}


def response_limits(start: datetime, end: datetime) -> list[datetime]:
    """The response limit of a case registered on each local day of [start, end), in order."""
    first, days = start.astimezone(TZ).date(), (end.astimezone(TZ).date() - start.astimezone(TZ).date()).days
    return [rates.response_limit(rates._midnight(first + timedelta(days=n))) for n in range(days)]


def aggregate_statement(query: dict, scope: dict, now: datetime):
    """The rates' counts per (group, channel, handling type), over the same cases as `rows_statement`:
    each count is the SQL form of one predicate in `rates` (a count of the cases where it holds)."""
    start, end = period_of(query, now)
    c = FeedbackCase
    limits = Grouping(cast(literal(response_limits(start, end)), ARRAY(DateTime(timezone=True))))  # (…)[i]
    local_day = cast(func.timezone(TZ.key, c.registered_at), Date)
    limit = limits[local_day - literal(start.astimezone(TZ).date(), Date) + 1]  # 1-based
    resolved, deadline, reopened = c.resolved_at.is_not(None), c.deadline.is_not(None), c.reopen_count > 0
    counts = {
        "cases": None,
        "responded_in_time": c.first_action_at <= limit,
        "response_due": or_(c.first_action_at.is_not(None), limit < now),
        "resolved_on_time": and_(deadline, resolved, c.resolved_at <= c.deadline),
        "deadline_due": and_(deadline, or_(resolved, c.deadline < now)),
        "resolved": resolved,
        "satisfied": and_(c.rated.is_(True), c.satisfied.is_(True), c.reopen_count == 0),
        "rated": c.rated.is_(True),
        "reopened": reopened,
        "resolved_once": or_(resolved, reopened),
    }
    key = GROUP_COLUMNS[query["group_by"]]
    columns = [func.count().filter(cond).label(name) if cond is not None else func.count().label(name)
               for name, cond in counts.items()]  # fmt: skip
    stmt = rows_statement(query, scope, start, end).with_only_columns(
        key.label("group_key"), c.channel, c.handling_type, *columns
    )
    return stmt.group_by(key, c.channel, c.handling_type)


def _summarize_counts(rows) -> list[dict]:
    """Rows of aggregate_statement → the rows `rates.summarize` gives for the same cases."""
    totals: dict = defaultdict(Counter)
    channels: dict = defaultdict(Counter)
    types: dict = defaultdict(Counter)
    for row in rows:
        values = row._mapping
        totals[row.group_key].update({name: values[name] for name in ("cases", *sum(RATE_COUNTS.values(), ()))})
        channels[row.group_key][row.channel] += row.cases
        types[row.group_key][row.handling_type or rates.UNCLASSIFIED] += row.cases
    return [
        {
            "group": key,
            "cases": totals[key]["cases"],
            "by_channel": dict(sorted(channels[key].items())),
            "by_handling_type": dict(sorted(types[key].items())),
        }
        | {rate: rates.Rate(totals[key][n], totals[key][d]).as_dict() for rate, (n, d) in RATE_COUNTS.items()}
        for key in sorted(totals, key=rates._group_key)
    ]


def _overall(groups: list[dict]) -> dict | None:
    if not groups:
        return None
    channels, types, counts = Counter(), Counter(), Counter()
    for g in groups:
        channels.update(g["by_channel"])
        types.update(g["by_handling_type"])
        for rate in RATE_COUNTS:
            counts[rate, 0] += g[rate]["numerator"]
            counts[rate, 1] += g[rate]["denominator"]
    return {
        "group": None,
        "cases": sum(g["cases"] for g in groups),
        "by_channel": dict(sorted(channels.items())),
        "by_handling_type": dict(sorted(types.items())),
    } | {rate: rates.Rate(counts[rate, 0], counts[rate, 1]).as_dict() for rate in RATE_COUNTS}


def stats(session: Session, query: dict, scope: dict, now: datetime) -> dict:
    if session.get_bind().dialect.name != "postgresql":
        return stats_in_python(session, query, scope, now)
    start, end = period_of(query, now)
    groups = _summarize_counts(session.execute(aggregate_statement(query, scope, now)))
    return {
        "period": {"name": query["period"], "from": start.isoformat(), "to": end.isoformat()},
        "group_by": query["group_by"],
        "overall": _overall(groups),
        "groups": groups,
    }


def stats_in_python(session: Session, query: dict, scope: dict, now: datetime) -> dict:
    """The same answer by loading every case and counting with `rates.summarize` (what other databases get;
    the tests compare the two on PostgreSQL)."""
    start, end = period_of(query, now)
    cases = [facts(c) for c in session.scalars(rows_statement(query, scope, start, end))]
    return {
        "period": {"name": query["period"], "from": start.isoformat(), "to": end.isoformat()},
        "group_by": query["group_by"],
        "overall": rates.summarize(cases, now)[0] if cases else None,
        "groups": rates.summarize(cases, now, query["group_by"]),
    }

"""Points' arithmetic and its ledger without a broker: caps, hours, rule versions, expiry (checked against
a first-in-first-out simulation), rankings, and a property test that no sequence of operations can make a
balance negative or different from the sum of its entries."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minqing.db import UnitOfWork, make_engine
from minqing.errors import Conflict
from minqing.migrate import upgrade
from services.points import awards, ledger, members, rewards, rulebook, rules
from services.points.models import PointEntry
from services.points.rules import Standard

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


# --- pure rules ----------------------------------------------------------------------------------
def test_hours_count_whole_half_hours_rounded_down():
    assert rules.hours_between(T0, T0 + timedelta(hours=2, minutes=20)) == 2.0
    assert rules.hours_between(T0, T0 + timedelta(hours=2, minutes=30)) == 2.5
    assert rules.hours_between(T0, T0 + timedelta(minutes=29)) == 0
    assert rules.hours_between(T0, T0 - timedelta(hours=1)) == 0


def test_standard_points_by_unit():
    assert rules.standard_points(Standard(2, "per_hour"), 2.5) == 5
    assert rules.standard_points(Standard(3, "per_hour"), 0.5) == 1  # floor(1.5)
    assert rules.standard_points(Standard(10, "per_activity"), 1) == 10
    assert rules.standard_points(Standard(5, "per_case"), 1) == 5


def test_the_tightest_cap_decides_and_no_cap_means_no_limit():
    std = Standard(5, "per_case", cap_day=8, cap_month=20, cap_year=100)
    assert rules.room_under_caps(std, {"day": 0, "month": 0, "year": 0}) == 8
    assert rules.room_under_caps(std, {"day": 3, "month": 18, "year": 40}) == 2
    assert rules.room_under_caps(std, {"day": 9, "month": 0, "year": 0}) == 0  # never negative
    assert rules.room_under_caps(Standard(5, "per_case"), {"day": 1000}) is None
    assert rules.within_caps(5, 2) == 2 and rules.within_caps(5, 0) == 0 and rules.within_caps(5, None) == 5


def test_cap_windows_are_local_days_months_and_years():
    late = datetime(2026, 1, 31, 17, 30, tzinfo=UTC)  # 01:30 on 1 February in Asia/Shanghai
    windows = rules.cap_windows(late)
    assert windows["day"][0].date() == date(2026, 2, 1)
    assert windows["month"][0].date() == date(2026, 2, 1) and windows["month"][1].date() == date(2026, 3, 1)
    assert windows["year"][0].date() == date(2026, 1, 1)
    december = rules.cap_windows(datetime(2026, 12, 15, tzinfo=UTC))["month"]
    assert december[1].date() == date(2027, 1, 1)


def test_competition_ranks_share_places_and_skip():
    ranked = rules.competition_ranks([("a", 9), ("b", 12), ("c", 9), ("d", 4)])
    assert ranked == [(1, "b", 12), (2, "a", 9), (2, "c", 9), (4, "d", 4)]


def test_expiry_cutoff_is_n_years_back_and_survives_29_february():
    assert rules.expiry_cutoff(date(2028, 2, 29), 1).date() == date(2027, 2, 28)
    assert rules.expiry_cutoff(date(2026, 11, 27), 2).date() == date(2024, 11, 27)


def test_expiring_takes_only_what_was_earned_before_the_cutoff_and_not_spent():
    cutoff = T0 + timedelta(days=10)
    history = [(T0, 30), (T0 + timedelta(days=1), -12), (T0 + timedelta(days=20), 50)]
    assert rules.expiring(history, cutoff, balance=68) == 18
    assert rules.expiring(history + [(cutoff + timedelta(days=1), -18)], cutoff, balance=50) == 0
    assert rules.expiring([(T0, 10)], T0, balance=10) == 0  # earned at the cutoff itself has not lapsed


def fifo_expiring(entries, cutoff):
    """Reference: lots consumed oldest first; what remains of lots earned before the cutoff lapses."""
    lots = []
    for when, points in entries:
        if points > 0:
            lots.append([when, points])
            continue
        debit = -points
        for lot in lots:
            take = min(lot[1], debit)
            lot[1] -= take
            debit -= take
        assert debit == 0
    return sum(amount for when, amount in lots if when < cutoff)


ops = st.lists(st.tuples(st.integers(1, 5), st.integers(-40, 60)), min_size=1, max_size=40)


@given(ops, st.integers(0, 200))
def test_expiring_matches_first_in_first_out(steps, cutoff_hours):
    entries, balance, when = [], 0, T0
    for gap, points in steps:
        when += timedelta(hours=gap)
        if points < 0 and balance + points < 0:
            continue  # the ledger refuses an overdraft
        entries.append((when, points))
        balance += points
    cutoff = T0 + timedelta(hours=cutoff_hours)
    lapsing = rules.expiring(entries, cutoff, balance)
    assert 0 <= lapsing <= balance
    assert lapsing == fifo_expiring(entries, cutoff)


def test_a_refund_gives_back_the_lots_the_redemption_took_not_fresh_credit():
    cutoff = T0 + timedelta(days=365)
    earned, spent, refunded = T0, T0 + timedelta(days=300), T0 + timedelta(days=400)
    history = [(earned, 10, "award", None), (spent, -10, "redemption", "redemption:r1")]
    history.append((refunded, 10, "refund", "redemption:r1"))
    assert rules.expiring(history, cutoff, balance=10) == 10  # earned a year before the cutoff: it lapses
    assert rules.unspent_lots(history) == [(earned, 10)]
    # a refund whose redemption is not on record (none in these books) stays fresh credit
    assert rules.expiring([(refunded, 10, "refund", "redemption:gone")], cutoff, balance=10) == 0


def unit_expiring(entries, cutoff):
    """Reference, one point at a time: a debit takes the oldest points; a refund puts back the very points its
    redemption took."""
    points, taken = [], {}
    for when, amount, kind, source in entries:
        if amount > 0:
            back = taken.pop(source, []) if kind == "refund" else []
            points += back + [when] * (amount - len(back))
            points.sort()
        else:
            taken_now, points = points[:-amount], points[-amount:]
            if kind == "redemption":
                taken[source] = taken_now
    return sum(1 for when in points if when < cutoff)


ledger_ops = st.lists(
    st.tuples(
        st.sampled_from(["award", "redeem", "correct", "expire", "refund"]), st.integers(1, 5), st.integers(1, 40)
    ),
    min_size=1,
    max_size=40,
)


def ledger_history(steps, cutoff_of=lambda when: when - timedelta(hours=100)):
    """A member's entries from random steps, refused overdrafts left out, expiry and refunds as the ledger
    posts them."""
    entries, balance, when, open_redemptions = [], 0, T0, []
    for n, (op, gap, amount) in enumerate(steps):
        when += timedelta(hours=gap)
        if op == "award":
            entry = (when, amount, "award", None)
        elif op == "refund":
            if not open_redemptions:
                continue
            source, price = open_redemptions.pop(amount % len(open_redemptions))
            entry = (when, price, "refund", source)
        elif op == "expire":
            lapsing = rules.expiring(entries, cutoff_of(when), balance)
            if not lapsing:
                continue
            entry = (when, -lapsing, "expiry", None)
        else:
            if amount > balance:
                continue  # the ledger refuses an overdraft
            kind, source = ("redemption", f"redemption:{n}") if op == "redeem" else ("correction", None)
            entry = (when, -amount, kind, source)
            if op == "redeem":
                open_redemptions.append((source, amount))
        entries.append(entry)
        balance += entry[1]
    return entries, balance


@given(ledger_ops, st.integers(0, 200))
def test_expiring_with_refunds_matches_point_by_point_first_in_first_out(steps, cutoff_hours):
    entries, balance = ledger_history(steps)
    cutoff = T0 + timedelta(hours=cutoff_hours)
    lapsing = rules.expiring(entries, cutoff, balance)
    assert 0 <= lapsing <= balance
    assert lapsing == unit_expiring(entries, cutoff)
    assert sum(amount for _, amount in rules.unspent_lots(entries)) == balance


@given(ledger_ops, st.integers(1, 40), st.integers(0, 200))
def test_a_redemption_cancelled_at_once_changes_no_expiry(steps, price, cutoff_hours):
    entries, balance = ledger_history(steps)
    if price > balance:
        return
    when = (entries[-1][0] if entries else T0) + timedelta(hours=1)
    spent = [(when, -price, "redemption", "redemption:x"), (when, price, "refund", "redemption:x")]
    cutoff = T0 + timedelta(hours=cutoff_hours)
    assert rules.expiring(entries + spent, cutoff, balance) == rules.expiring(entries, cutoff, balance)


# --- the ledger on a real (SQLite) database --------------------------------------------------------
@pytest.fixture
def uow(tmp_path):
    url = f"sqlite:///{tmp_path / 'points.db'}"
    upgrade("points", url)
    unit = UnitOfWork(make_engine(url))
    yield unit
    unit.engine.dispose()


def new_member(session, **extra):
    data = {"community": "maxian", "name": "林志华", "branch": "第一支部", "status": "retired"} | extra
    return members.register(session, data, T0)


def test_a_past_award_keeps_the_rule_version_it_was_earned_under(uow):
    with uow.transaction() as session:
        member = new_member(session)
        first = awards.grant(session, member, "suggestion_adopted", "case:1", 1, "采纳", T0, T0)
        rule = rulebook.get(session, "maxian", "suggestion_adopted", lock=True)
        rulebook.change(session, rule, {"points": 8}, "admin", T0 + timedelta(days=1))
        second = awards.grant(session, member, "suggestion_adopted", "case:2", 1, "采纳", T0, T0 + timedelta(days=2))
        assert (first.rule_version, first.points) == (1, 5)
        assert (second.rule_version, second.points) == (2, 8)
        entries = session.query(PointEntry).order_by(PointEntry.id).all()
        assert [(e.rule_version, e.points) for e in entries] == [(1, 5), (2, 8)]
        history = rulebook.view(session, rule, with_history=True)["history"]
        assert [(v["version"], v["points"]) for v in history] == [(1, 5), (2, 8)]
        # the same source again is the first award again, whatever the rule says now
        assert awards.grant(session, member, "suggestion_adopted", "case:1", 1, "采纳", T0, T0).id == first.id
        assert member.balance == 13


def test_an_approval_uses_the_version_the_work_was_done_under(uow):
    with uow.transaction() as session:
        member = new_member(session)
        pending = awards.grant(session, member, "night_patrol", "signup:1", 3.0, "巡逻", T0, T0, "staff")
        assert pending.status == "pending" and pending.requested == 6
        rule = rulebook.get(session, "maxian", "night_patrol", lock=True)
        rulebook.change(session, rule, {"points": 5}, "admin", T0)
        decided = awards.decide(session, pending, True, "staff", None, T0 + timedelta(hours=1))
        assert (decided.status, decided.points, decided.rule_version) == ("awarded", 6, 1)


def test_caps_apply_per_member_rule_and_local_day(uow):
    with uow.transaction() as session:
        member, other = new_member(session), new_member(session, name="陈美玲")
        given = [awards.grant(session, member, "home_visit", f"visit:{n}", 1, "走访", T0, T0).points for n in range(12)]
        assert given == [1] * 10 + [0, 0]  # 10 a day
        assert awards.grant(session, other, "home_visit", "visit:x", 1, "走访", T0, T0).points == 1
        tomorrow = T0 + timedelta(days=1)
        assert awards.grant(session, member, "home_visit", "visit:next", 1, "走访", tomorrow, tomorrow).points == 1
        assert member.balance == 11


def test_a_switched_off_rule_awards_nothing(uow):
    with uow.transaction() as session:
        member = new_member(session)
        rulebook.ensure_defaults(session, "maxian", T0)
        rulebook.change(session, rulebook.get(session, "maxian", "home_visit"), {"active": False}, "admin", T0)
        assert awards.grant(session, member, "home_visit", "visit:1", 1, "走访", T0, T0) is None


def test_the_ledger_is_append_only_through_the_orm_and_sql(uow):
    with uow.transaction() as session:
        member = new_member(session)
        entry = ledger.post(session, member, 5, "correction", "期初", "admin", T0)
    with pytest.raises(RuntimeError, match="append-only"), uow.transaction() as session:
        session.get(PointEntry, entry.id).points = 500
    with pytest.raises(Exception, match="append-only"), uow.transaction() as session:
        session.execute(PointEntry.__table__.delete())


operations = st.lists(
    st.tuples(st.sampled_from(["award", "redeem", "correct", "expire"]), st.integers(1, 50)), max_size=30
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_no_sequence_of_operations_breaks_the_books(uow, steps):
    with uow.transaction() as session:
        member = new_member(session)
        ledger.set_policy(session, "maxian", 1, "admin", T0)
        when = T0
        for kind, amount in steps:
            when += timedelta(days=45)
            try:
                if kind == "award":
                    ledger.post(session, member, amount, "award", "奖励", "system", when)
                elif kind == "redeem":
                    ledger.post(session, member, -amount, "redemption", "兑换", "member", when)
                elif kind == "correct":
                    ledger.post(session, member, -amount, "correction", "更正", "admin", when)
                else:
                    ledger.expire(session, "maxian", when.date(), when)
            except Conflict:
                pass  # refused overdraft: nothing written
            assert member.balance >= 0
            assert ledger.entries_sum(session, member.id) == member.balance
        assert ledger.mismatches(session) == []
        session.rollback()


def test_a_cancelled_redemption_s_points_lapse_when_they_would_have(uow):
    with uow.transaction() as session:
        member = new_member(session)
        ledger.set_policy(session, "maxian", 1, "admin", T0)
        ledger.post(session, member, 30, "award", "奖励", "system", T0)
        reward = rewards.add(session, {"community": "maxian", "name": "毛巾", "price": 30, "stock": 5}, T0)
        redemption = rewards.redeem(session, member, reward, 1, "member", T0 + timedelta(days=300))
        rewards.cancel(session, redemption, "staff", "缺货", T0 + timedelta(days=400))
        assert member.balance == 30
        lapsed = ledger.expire(session, "maxian", (T0 + timedelta(days=400)).date(), T0 + timedelta(days=400))
        assert lapsed["points"] == 30 and member.balance == 0  # earned more than a year ago: no second cycle
        again = ledger.expire(session, "maxian", (T0 + timedelta(days=401)).date(), T0 + timedelta(days=401))
        assert again["points"] == 0 and ledger.mismatches(session) == []

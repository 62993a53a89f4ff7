"""Polls and votes: one vote per household, exact thresholds (services/feedback/polls.py)."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.feedback.polls import PollRules, Result, VoteError, cast, parse_threshold, tally

OPENS = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
CLOSES = datetime(2024, 3, 8, 9, 0, tzinfo=UTC)
DURING = OPENS + timedelta(days=1)
MORE_THAN_2_3 = PollRules(threshold=Fraction(2, 3))
AT_LEAST_2_3 = PollRules(threshold=Fraction(2, 3), strictly_more=False)
MORE_THAN_80 = PollRules(threshold=Fraction(4, 5))
AT_LEAST_80 = PollRules(threshold=Fraction(4, 5), strictly_more=False)


def households(n: int) -> frozenset[str]:
    return frozenset(f"H{i:03d}" for i in range(n))


def ballots_of(yes: int = 0, no: int = 0, abstain: int = 0) -> dict[str, str]:
    options = ["yes"] * yes + ["no"] * no + ["abstain"] * abstain
    return {f"H{i:03d}": option for i, option in enumerate(options)}


def vote(ballots, household, option="yes", eligible=None, rules=MORE_THAN_2_3, now=DURING):
    eligible = households(10) if eligible is None else eligible
    return cast(ballots, household, option, eligible, rules, now, OPENS, CLOSES)


# --- cast -------------------------------------------------------------------------------------------------------


def test_cast_returns_new_dict_and_leaves_input_alone():
    before: dict[str, str] = {}
    after = vote(before, "H001", "yes")
    assert after == {"H001": "yes"}
    assert before == {}
    assert after is not before


def test_household_voting_twice_replaces_first_vote():
    ballots = vote({}, "H001", "yes")
    ballots = vote(ballots, "H001", "no")
    assert ballots == {"H001": "no"}
    result = tally(ballots, households(10), MORE_THAN_2_3)
    assert result.cast == 1
    assert result.counts == {"yes": 0, "no": 1, "abstain": 0}


def test_ineligible_household_is_rejected_and_ballots_unchanged():
    ballots = vote({}, "H001", "yes")
    snapshot = dict(ballots)
    with pytest.raises(VoteError, match="ineligible household"):
        vote(ballots, "OUTSIDER", "yes")
    assert ballots == snapshot


@pytest.mark.parametrize(
    "now, message",
    [
        (OPENS - timedelta(seconds=1), "not open"),
        (CLOSES, "not open"),  # the window is half-open: [opens_at, closes_at)
        (CLOSES + timedelta(days=1), "not open"),
    ],
)
def test_voting_outside_the_window_is_rejected(now, message):
    ballots = {"H002": "no"}
    with pytest.raises(VoteError, match=message):
        vote(ballots, "H001", "yes", now=now)
    assert ballots == {"H002": "no"}


def test_voting_at_exactly_opens_at_is_accepted():
    assert vote({}, "H001", "yes", now=OPENS) == {"H001": "yes"}
    assert vote({}, "H001", "yes", now=CLOSES - timedelta(microseconds=1)) == {"H001": "yes"}


def test_empty_window_is_rejected():
    with pytest.raises(VoteError, match="not open"):
        cast({}, "H001", "yes", households(3), MORE_THAN_2_3, OPENS, OPENS, OPENS)


def test_unknown_option_is_rejected():
    with pytest.raises(VoteError, match="unknown option"):
        vote({}, "H001", "maybe")
    two_options = PollRules(threshold=Fraction(1, 2), options=("yes", "no"))
    with pytest.raises(VoteError, match="unknown option"):
        vote({}, "H001", "abstain", rules=two_options)


def test_vote_error_is_a_value_error():
    assert issubclass(VoteError, ValueError)


# --- tally: thresholds ------------------------------------------------------------------------------------------


def test_tie_exactly_at_threshold_fails_more_than_and_passes_at_least():
    ballots = ballots_of(yes=2, no=1)
    eligible = households(3)
    strict = tally(ballots, eligible, MORE_THAN_2_3)
    inclusive = tally(ballots, eligible, AT_LEAST_2_3)
    assert strict.yes_share == inclusive.yes_share == Fraction(2, 3)
    assert not strict.passed
    assert inclusive.passed
    assert strict.reason.startswith("not passed:")
    assert inclusive.reason.startswith("passed:")


def test_pilot_survey_68_percent_passes_more_than_two_thirds():
    result = tally(ballots_of(yes=68, no=32), households(100), MORE_THAN_2_3)
    assert result.yes_share == Fraction(68, 100)
    assert result.passed


def test_pilot_vote_81_of_100_passes_more_than_80_percent():
    result = tally(ballots_of(yes=81, no=19), households(100), MORE_THAN_80)
    assert result.passed


def test_pilot_vote_80_of_100_fails_more_than_but_passes_at_least_80_percent():
    ballots = ballots_of(yes=80, no=20)
    assert not tally(ballots, households(100), MORE_THAN_80).passed
    assert tally(ballots, households(100), AT_LEAST_80).passed


def test_reason_example_from_the_spec():
    rules = PollRules(threshold=Fraction(4, 5), quorum=Fraction(1, 2))
    # 90 of 100 households vote: 68 yes, 12 no, 10 abstain -> 68 / 80 non-abstaining = 85% yes
    result = tally(ballots_of(yes=68, no=12, abstain=10), households(100), rules)
    assert result.yes_share == Fraction(85, 100)
    assert result.participation == Fraction(9, 10)
    assert result.passed
    assert result.reason == (
        "passed: 85.0% yes of votes cast, more than 80% required; participation 90.0% (quorum 50% met)"
    )


def test_reason_for_two_thirds_shows_the_fraction():
    result = tally(ballots_of(yes=2, no=1), households(3), MORE_THAN_2_3)
    assert result.reason == (
        "not passed: 66.7% yes of votes cast, more than 2/3 (66.7%) required; participation 100.0% (no quorum)"
    )


# --- tally: quorum, basis, abstentions --------------------------------------------------------------------------


def test_quorum_not_met_fails_even_with_all_yes():
    rules = PollRules(threshold=Fraction(1, 2), quorum=Fraction(1, 2))
    result = tally(ballots_of(yes=4), households(10), rules)
    assert result.yes_share == 1
    assert result.participation == Fraction(2, 5)
    assert not result.quorum_met
    assert not result.passed
    assert "quorum 50% not met" in result.reason


def test_quorum_exactly_met_counts_as_met():
    rules = PollRules(threshold=Fraction(1, 2), quorum=Fraction(1, 2))
    result = tally(ballots_of(yes=5), households(10), rules)
    assert result.quorum_met
    assert result.passed


def test_basis_eligible_versus_votes_cast():
    ballots = ballots_of(yes=6, no=1)  # 6 of 7 cast, 6 of 10 eligible
    eligible = households(10)
    by_cast = tally(ballots, eligible, PollRules(threshold=Fraction(2, 3)))
    by_eligible = tally(ballots, eligible, PollRules(threshold=Fraction(2, 3), basis="eligible"))
    assert by_cast.yes_share == Fraction(6, 7)
    assert by_cast.passed
    assert by_eligible.yes_share == Fraction(6, 10)
    assert not by_eligible.passed
    assert "of eligible households" in by_eligible.reason


def test_abstentions_count_for_participation_but_not_yes_share():
    rules = PollRules(threshold=Fraction(2, 3), quorum=Fraction(3, 5))
    result = tally(ballots_of(yes=3, no=1, abstain=2), households(10), rules)
    assert result.cast == 6
    assert result.counts == {"yes": 3, "no": 1, "abstain": 2}
    assert result.participation == Fraction(3, 5)
    assert result.quorum_met
    assert result.yes_share == Fraction(3, 4)
    assert result.passed


def test_abstentions_count_against_yes_share_with_eligible_basis():
    rules = PollRules(threshold=Fraction(1, 2), basis="eligible")
    result = tally(ballots_of(yes=5, abstain=5), households(10), rules)
    assert result.yes_share == Fraction(1, 2)
    assert not result.passed


def test_all_abstain_does_not_pass():
    result = tally(ballots_of(abstain=5), households(5), AT_LEAST_2_3)
    assert result.yes_share == 0
    assert not result.passed
    assert "no valid votes" in result.reason


def test_no_eligible_households():
    result = tally({}, frozenset(), PollRules(threshold=Fraction(1, 2), quorum=Fraction(1, 2)))
    assert result == Result(
        eligible=0,
        cast=0,
        counts={"yes": 0, "no": 0, "abstain": 0},
        participation=Fraction(0),
        yes_share=Fraction(0),
        quorum_met=False,
        passed=False,
        reason=result.reason,
    )


def test_ballots_of_households_no_longer_eligible_are_ignored():
    ballots = {"H000": "yes", "H001": "yes", "MOVED": "no"}
    result = tally(ballots, frozenset({"H000", "H001", "H002"}), MORE_THAN_2_3)
    assert result.cast == 2
    assert result.counts == {"yes": 2, "no": 0, "abstain": 0}
    assert result.passed


def test_every_option_present_in_counts():
    rules = PollRules(threshold=Fraction(1, 2), options=("yes", "no", "abstain", "defer"))
    assert tally({}, households(3), rules).counts == {"yes": 0, "no": 0, "abstain": 0, "defer": 0}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"threshold": Fraction(0)},
        {"threshold": Fraction(11, 10)},
        {"threshold": Fraction(1, 2), "basis": "households"},
        {"threshold": Fraction(1, 2), "quorum": Fraction(3, 2)},
        {"threshold": Fraction(1, 2), "options": ("approve", "reject")},
        {"threshold": Fraction(1, 2), "options": ("yes", "no", "no")},
    ],
)
def test_invalid_rules_are_rejected(kwargs):
    with pytest.raises(ValueError):
        PollRules(**kwargs)


# --- parse_threshold --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2/3", (Fraction(2, 3), True)),
        ("80%", (Fraction(4, 5), True)),
        ("0.8", (Fraction(4, 5), True)),
        ("1", (Fraction(1), True)),
        ("100%", (Fraction(1), True)),
        ("66.5%", (Fraction(133, 200), True)),
        ("more than 2/3", (Fraction(2, 3), True)),
        ("More Than  80%", (Fraction(4, 5), True)),
        ("> 2/3", (Fraction(2, 3), True)),
        (">0.8", (Fraction(4, 5), True)),
        ("at least 80%", (Fraction(4, 5), False)),
        (">= 2/3", (Fraction(2, 3), False)),
        (">=0.8", (Fraction(4, 5), False)),
        ("  at least 1/2  ", (Fraction(1, 2), False)),
    ],
)
def test_parse_threshold(text, expected):
    assert parse_threshold(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "2/0",
        "0",
        "0%",
        "0/3",
        "4/3",
        "120%",
        "1.5",
        "-0.5",
        "more than",
        "at least two thirds",
        "2/3%",
        "80 %%",
        "nan",
        "inf",
        "1e-1",
        "=> 2/3",
    ],
)
def test_parse_threshold_rejects_garbage_and_out_of_range(text):
    with pytest.raises(ValueError, match="invalid threshold"):
        parse_threshold(text)


def test_parse_threshold_feeds_poll_rules():
    threshold, strictly_more = parse_threshold("at least 80%")
    result = tally(ballots_of(yes=80, no=20), households(100), PollRules(threshold, strictly_more=strictly_more))
    assert result.passed


# --- properties -------------------------------------------------------------------------------------------------

HOUSEHOLDS = [f"H{i}" for i in range(8)]
OPTIONS = ("yes", "no", "abstain")

votes_strategy = st.lists(st.tuples(st.sampled_from(HOUSEHOLDS), st.sampled_from(OPTIONS)), max_size=30)
rules_strategy = st.builds(
    PollRules,
    threshold=st.fractions(min_value=Fraction(1, 100), max_value=1),
    basis=st.sampled_from(["votes_cast", "eligible"]),
    strictly_more=st.booleans(),
    quorum=st.none() | st.fractions(min_value=0, max_value=1),
)


@given(
    votes=votes_strategy,
    eligible=st.frozensets(st.sampled_from(HOUSEHOLDS)),
    rules=rules_strategy,
    data=st.data(),
)
def test_tally_is_order_independent_and_cast_is_one_per_household(votes, eligible, rules, data):
    ballots: dict[str, str] = {}
    for household, option in votes:
        if household not in eligible:
            with pytest.raises(VoteError):
                cast(ballots, household, option, eligible, rules, DURING, OPENS, CLOSES)
            continue
        before = tally(ballots, eligible, rules).cast
        already_voted = household in ballots
        ballots = cast(ballots, household, option, eligible, rules, DURING, OPENS, CLOSES)
        after = tally(ballots, eligible, rules).cast
        assert 0 <= after - before <= 1
        if already_voted:
            assert after == before
        else:
            assert after == before + 1
    assert tally(ballots, eligible, rules).cast == len(ballots) <= len(eligible)

    shuffled = dict(data.draw(st.permutations(list(ballots.items()))))
    assert tally(shuffled, eligible, rules) == tally(ballots, eligible, rules)


@given(votes=votes_strategy, rules=rules_strategy, data=st.data())
def test_final_ballots_do_not_depend_on_interleaving_across_households(votes, rules, data):
    eligible = frozenset(HOUSEHOLDS)
    # Any reordering that keeps each household's own votes in order gives the same final ballots.
    by_household: dict[str, list[str]] = {}
    for household, option in votes:
        by_household.setdefault(household, []).append(option)
    order = data.draw(st.permutations([household for household, _ in votes]))
    queues = {household: list(options) for household, options in by_household.items()}
    interleaved = [(household, queues[household].pop(0)) for household in order]

    def run(sequence):
        ballots: dict[str, str] = {}
        for household, option in sequence:
            ballots = cast(ballots, household, option, eligible, rules, DURING, OPENS, CLOSES)
        return ballots

    first, second = run(votes), run(interleaved)
    assert first == second
    assert tally(first, eligible, rules) == tally(second, eligible, rules)


@given(yes=st.integers(0, 50), no=st.integers(0, 50), abstain=st.integers(0, 50), rules=rules_strategy)
def test_tally_matches_exact_fraction_arithmetic(yes, no, abstain, rules):
    eligible = households(yes + no + abstain + 5)
    result = tally(ballots_of(yes=yes, no=no, abstain=abstain), eligible, rules)
    denominator = yes + no if rules.basis == "votes_cast" else len(eligible)
    share = Fraction(yes, denominator) if denominator else Fraction(0)
    above = share > rules.threshold if rules.strictly_more else share >= rules.threshold
    quorum_met = rules.quorum is None or Fraction(yes + no + abstain, len(eligible)) >= rules.quorum
    assert result.yes_share == share
    assert result.quorum_met == quorum_met
    assert result.passed == (quorum_met and denominator > 0 and above)
    assert sum(result.counts.values()) == result.cast == yes + no + abstain

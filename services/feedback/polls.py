"""Polls and votes among an estate's households: one vote per household, exact thresholds.

Pure functions only (no I/O, no framework). All shares are :class:`fractions.Fraction`, so a result that
sits exactly on the threshold is decided exactly: 2 "yes" of 3 votes fails "more than 2/3" and passes
"at least 2/3".

Conventions
-----------
* The option named ``"yes"`` is the approving option and must be among ``PollRules.options``.
* The option named ``"abstain"`` (when present) counts toward participation and the quorum, but is left out
  of the denominator of the yes share when ``basis == "votes_cast"``.
* ``basis == "eligible"`` divides the yes votes by every eligible household, whether or not it voted.
* The quorum is met when participation (votes cast / eligible households) is *at least* the quorum.
* A poll with no valid votes in the denominator (nobody voted, or everybody abstained) does not pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

__all__ = ["PollRules", "Result", "VoteError", "cast", "parse_threshold", "tally"]

YES = "yes"
ABSTAIN = "abstain"
BASES = ("votes_cast", "eligible")


class VoteError(ValueError):
    """A ballot that cannot be accepted (ineligible household, poll not open, unknown option)."""


@dataclass(frozen=True)
class PollRules:
    threshold: Fraction
    basis: str = "votes_cast"
    strictly_more: bool = True
    quorum: Fraction | None = None
    options: tuple[str, ...] = ("yes", "no", "abstain")

    def __post_init__(self) -> None:
        threshold = Fraction(self.threshold)
        if not 0 < threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        object.__setattr__(self, "threshold", threshold)
        if self.basis not in BASES:
            raise ValueError(f"basis must be one of {BASES}, got {self.basis!r}")
        if self.quorum is not None:
            quorum = Fraction(self.quorum)
            if not 0 <= quorum <= 1:
                raise ValueError(f"quorum must be in [0, 1], got {self.quorum}")
            object.__setattr__(self, "quorum", quorum)
        options = tuple(self.options)
        if len(set(options)) != len(options):
            raise ValueError(f"options must be distinct, got {options}")
        if YES not in options:
            raise ValueError(f"options must include {YES!r}, got {options}")
        object.__setattr__(self, "options", options)


@dataclass(frozen=True)
class Result:
    eligible: int
    cast: int
    counts: dict[str, int]
    participation: Fraction
    yes_share: Fraction
    quorum_met: bool
    passed: bool
    reason: str


def cast(
    ballots: dict[str, str],
    household: str,
    option: str,
    eligible: frozenset[str],
    rules: PollRules,
    now: datetime,
    opens_at: datetime,
    closes_at: datetime,
) -> dict[str, str]:
    """Return a new ballots dict with ``household``'s vote set to ``option`` (a repeat vote replaces).

    Raises :class:`VoteError` if the poll is not open at ``now`` (window is ``[opens_at, closes_at)``),
    the household is not eligible, or the option is unknown. ``ballots`` is never modified.
    """
    if not opens_at < closes_at:
        raise VoteError(
            f"poll not open: empty voting window (opens {opens_at.isoformat()}, closes {closes_at.isoformat()})"
        )
    if now < opens_at:
        raise VoteError(f"poll not open: voting opens at {opens_at.isoformat()} (now {now.isoformat()})")
    if now >= closes_at:
        raise VoteError(f"poll not open: voting closed at {closes_at.isoformat()} (now {now.isoformat()})")
    if household not in eligible:
        raise VoteError(f"ineligible household: {household!r} may not vote in this poll")
    if option not in rules.options:
        raise VoteError(f"unknown option: {option!r} (expected one of {', '.join(rules.options)})")
    new = dict(ballots)
    new[household] = option
    return new


def tally(ballots: dict[str, str], eligible: frozenset[str], rules: PollRules) -> Result:
    """Count the ballots of currently eligible households and decide the poll.

    Ballots of households no longer eligible, and ballots for an option not in ``rules.options``, are
    ignored and not counted in ``cast``.
    """
    counts = {option: 0 for option in rules.options}
    for household, option in ballots.items():
        if household in eligible and option in counts:
            counts[option] += 1
    n_eligible = len(eligible)
    n_cast = sum(counts.values())
    participation = Fraction(n_cast, n_eligible) if n_eligible else Fraction(0)

    yes = counts[YES]
    if rules.basis == "eligible":
        denominator = n_eligible
    else:
        denominator = n_cast - counts.get(ABSTAIN, 0)
    yes_share = Fraction(yes, denominator) if denominator else Fraction(0)

    quorum_met = rules.quorum is None or (n_eligible > 0 and participation >= rules.quorum)
    if rules.strictly_more:
        threshold_met = yes_share > rules.threshold
    else:
        threshold_met = yes_share >= rules.threshold
    passed = quorum_met and denominator > 0 and threshold_met

    return Result(
        eligible=n_eligible,
        cast=n_cast,
        counts=counts,
        participation=participation,
        yes_share=yes_share,
        quorum_met=quorum_met,
        passed=passed,
        reason=_reason(rules, passed, quorum_met, denominator, yes_share, participation),
    )


def _pct(value: Fraction, *, exact: bool = False) -> str:
    """``Fraction(17, 20)`` -> ``"85.0%"``; with ``exact``, whole percentages drop the decimal ("80%")."""
    percent = value * 100
    if exact and percent.denominator == 1:
        return f"{percent.numerator}%"
    tenths = math.floor(percent * 10 + Fraction(1, 2))  # round half up, exactly
    return f"{tenths // 10}.{tenths % 10}%"


def _threshold_text(threshold: Fraction) -> str:
    if (threshold * 100).denominator == 1:
        return _pct(threshold, exact=True)
    return f"{threshold.numerator}/{threshold.denominator} ({_pct(threshold)})"


def _reason(
    rules: PollRules,
    passed: bool,
    quorum_met: bool,
    denominator: int,
    yes_share: Fraction,
    participation: Fraction,
) -> str:
    verdict = "passed" if passed else "not passed"
    basis = "votes cast" if rules.basis == "votes_cast" else "eligible households"
    comparison = "more than" if rules.strictly_more else "at least"
    required = f"{comparison} {_threshold_text(rules.threshold)} required"
    if denominator:
        share = f"{_pct(yes_share)} yes of {basis}, {required}"
    else:
        share = f"no valid votes ({basis}), {required}"
    if rules.quorum is None:
        quorum = "no quorum"
    else:
        quorum = f"quorum {_pct(rules.quorum, exact=True)} {'met' if quorum_met else 'not met'}"
    return f"{verdict}: {share}; participation {_pct(participation)} ({quorum})"


_PREFIXES = (  # longest first so ">=" is not read as ">" followed by "=..."
    ("more than ", True),
    ("at least ", False),
    (">=", False),
    ("≥", False),
    (">", True),
)
_FRACTION = re.compile(r"(\d+)\s*/\s*(\d+)")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*%")
_DECIMAL = re.compile(r"\d+(?:\.\d+)?|\.\d+")


def parse_threshold(text: str) -> tuple[Fraction, bool]:
    """Parse ``"2/3"``, ``"80%"``, ``"0.8"``, optionally prefixed, into ``(threshold, strictly_more)``.

    ``"more than "`` / ``">"`` give ``strictly_more=True``; ``"at least "`` / ``">="`` give ``False``;
    bare input means ``strictly_more=True``. Raises ``ValueError`` on anything else or a value outside (0, 1].
    """
    if not isinstance(text, str):
        raise ValueError(f"threshold must be text such as '2/3', '80%' or '0.8', got {text!r}")
    body = " ".join(text.strip().lower().split())
    strictly_more = True
    for prefix, strict in _PREFIXES:
        if body.startswith(prefix):
            body = body[len(prefix) :].strip()
            strictly_more = strict
            break
    if match := _FRACTION.fullmatch(body):
        numerator, denominator = int(match[1]), int(match[2])
        if denominator == 0:
            raise ValueError(f"invalid threshold {text!r}: zero denominator")
        value = Fraction(numerator, denominator)
    elif match := _PERCENT.fullmatch(body):
        value = Fraction(match[1]) / 100
    elif _DECIMAL.fullmatch(body):
        value = Fraction(body)
    else:
        raise ValueError(
            f"invalid threshold {text!r}: expected e.g. '2/3', '80%', '0.8', "
            "optionally prefixed by 'more than', '>', 'at least' or '>='"
        )
    if not 0 < value <= 1:
        raise ValueError(f"invalid threshold {text!r}: must be greater than 0 and at most 1 (100%)")
    return value, strictly_more

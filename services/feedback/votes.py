"""Polls and votes stored: the scope's households are fixed as the electorate when a poll is created;
the counting rules are the pure functions of `polls`."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from minqing.errors import Conflict, Forbidden, InvalidInput, NotFound
from minqing.events import make_envelope
from minqing.outbox import add_event
from services.feedback import polls
from services.feedback.models import Poll, ResidentHousehold, Vote
from services.intake.directory import can_see


def rules_of(threshold: str, basis: str, quorum: str | None) -> polls.PollRules:
    level, strictly = polls.parse_threshold(threshold)
    needed = polls.parse_threshold(quorum)[0] if quorum else None
    return polls.PollRules(threshold=level, basis=basis, strictly_more=strictly, quorum=needed)


def create(session: Session, data: dict, households: list[str], created_by: str) -> Poll:
    try:
        rules_of(data["threshold"], data["basis"], data.get("quorum"))
    except ValueError as exc:
        raise InvalidInput(str(exc), {"threshold": [str(exc)]}) from None
    if data["closes_at"] <= data["opens_at"]:
        raise InvalidInput("a poll closes after it opens", {"closes_at": ["must be after opens_at"]})
    if not households:
        raise InvalidInput("no households live in those buildings", {"buildings": ["no households"]})
    poll = Poll(
        id=uuid.uuid4().hex,
        community=data["community"],
        title=data["title"],
        question=data["question"],
        scope_buildings=data["buildings"],
        eligible=sorted(households),
        threshold=data["threshold"],
        basis=data["basis"],
        quorum=data.get("quorum"),
        opens_at=data["opens_at"],
        closes_at=data["closes_at"],
        status="open",
        created_by=created_by,
    )
    session.add(poll)
    session.flush()
    return poll


def get_poll(session: Session, poll_id: str, scope: dict, lock: bool = False) -> Poll:
    """`lock` for closing: two closers (a person and the timer, or two copies) then close it once."""
    poll = session.get(Poll, poll_id, with_for_update=lock)
    if poll is None or not can_see(scope, poll.community):
        raise NotFound(f"poll {poll_id!r} not found")
    return poll


def link_household(session: Session, envelope: dict) -> None:
    """Keep accounts' newest link of a resident to their household (an older event never overwrites it)."""
    link = session.get(ResidentHousehold, envelope["data"]["resident"], with_for_update=True)
    if link is not None and link.version >= envelope["version"]:
        return
    if link is None:
        link = ResidentHousehold(resident=envelope["data"]["resident"])
        session.add(link)
    link.community, link.household, link.version = (
        envelope["community"],
        envelope["data"]["household"],
        envelope["version"],
    )


def own_household(session: Session, poll: Poll, data: dict, scope: dict) -> None:
    """A resident votes for the household their login is linked to, in that household's community only."""
    if scope["role"] != "resident":
        return
    link = session.get(ResidentHousehold, scope["sub"])
    if link is None or link.community != poll.community:
        raise Forbidden("link your login to your household first (POST /api/v1/me/household)")
    if data["household"] != link.household:
        raise Forbidden("a resident votes for their own household only")


def ballots(session: Session, poll: Poll) -> dict[str, str]:
    return dict(session.execute(select(Vote.household, Vote.option).where(Vote.poll_id == poll.id)).all())


def cast(session: Session, poll: Poll, data: dict, cast_by: str, now: datetime) -> dict:
    """One vote per household: a repeated vote replaces the earlier one."""
    if poll.status != "open":
        raise Conflict("the poll is closed")
    rules = rules_of(poll.threshold, poll.basis, poll.quorum)
    try:
        polls.cast(
            {}, data["household"], data["option"], frozenset(poll.eligible), rules, now, poll.opens_at, poll.closes_at
        )
    except polls.VoteError as exc:
        raise InvalidInput(str(exc), {"household" if "household" in str(exc) else "option": [str(exc)]}) from None
    values = {"option": data["option"], "cast_at": now, "cast_by": cast_by}
    changed = session.execute(
        update(Vote).where(Vote.poll_id == poll.id, Vote.household == data["household"]).values(**values)
    ).rowcount
    if not changed:
        session.execute(insert(Vote).values(poll_id=poll.id, household=data["household"], **values))
    return {"poll_id": poll.id, "household": data["household"], "option": data["option"], "replaced": bool(changed)}


def result_of(session: Session, poll: Poll) -> dict:
    result = polls.tally(
        ballots(session, poll), frozenset(poll.eligible), rules_of(poll.threshold, poll.basis, poll.quorum)
    )
    return {
        "eligible": result.eligible,
        "cast": result.cast,
        "counts": result.counts,
        "participation": round(float(result.participation), 4),
        "yes_share": round(float(result.yes_share), 4),
        "quorum_met": result.quorum_met,
        "passed": result.passed,
        "reason": result.reason,
    }


def close(session: Session, poll: Poll, now: datetime) -> Poll:
    if poll.status == "closed":
        return poll
    poll.status, poll.result = "closed", result_of(session, poll) | {"closed_at": now.isoformat()}
    add_event(
        session,
        make_envelope(
            "poll.closed",
            source="feedback",
            community=poll.community,
            subject=poll.id,
            version=1,
            time=now,
            data={
                "title": poll.title,
                "passed": poll.result["passed"],
                "yes_share": poll.result["yes_share"],
                "participation": poll.result["participation"],
                "reason": poll.result["reason"],
            },
        ),
    )
    return poll


def close_due(session: Session, now: datetime) -> int:
    # a poll another copy is closing right now is skipped, not closed (and announced) twice
    due = list(
        session.scalars(
            select(Poll).where(Poll.status == "open", Poll.closes_at <= now).with_for_update(skip_locked=True)
        )
    )
    for poll in due:
        close(session, poll, now)
    return len(due)


def view(poll: Poll, live: bool = False, session: Session | None = None) -> dict:
    result = poll.result if poll.status == "closed" or not live else result_of(session, poll) | {"provisional": True}
    return {
        "id": poll.id,
        "community": poll.community,
        "title": poll.title,
        "question": poll.question,
        "scope_buildings": poll.scope_buildings,
        "eligible_households": len(poll.eligible),
        "threshold": poll.threshold,
        "basis": poll.basis,
        "quorum": poll.quorum,
        "opens_at": poll.opens_at.isoformat(),
        "closes_at": poll.closes_at.isoformat(),
        "status": poll.status,
        "result": result,
    }

"""The case workflow as routing enforces it: which action is allowed from which state, and by whom.

Pure data and functions: the service asks `check(action, status)` before changing anything, and an
illegal step becomes a 409 problem that says what *is* allowed from the current state.
"""

from __future__ import annotations

from dataclasses import dataclass

from minqing.errors import Conflict

WORKING = ("assigned", "accepted", "in_progress")
REOPENABLE = ("resolved", "replied", "rated", "reopened")


@dataclass(frozen=True)
class Step:
    sources: tuple[str, ...]
    target: str
    event: str


STEPS: dict[str, Step] = {
    "classify": Step(("registered", "classified", "returned", "reopened"), "classified", "case.classified"),
    "assign": Step(("classified", "assigned", "returned", "reopened"), "assigned", "case.assigned"),
    "return": Step(("assigned", "accepted", "in_progress"), "returned", "case.returned"),
    "accept": Step(("assigned",), "accepted", "case.accepted"),
    "start": Step(("assigned", "accepted"), "in_progress", "case.started"),
    "request_supplement": Step(WORKING, "awaiting_supplement", "case.supplement_requested"),
    "supplement_received": Step(("awaiting_supplement",), "in_progress", "case.supplement_received"),
    "resolve": Step(WORKING, "resolved", "case.resolved"),
    # from `escalated`: staff redirect a transfer (a first one, or a reopened case sent back to its bureau) to
    # another bureau before it is accepted
    "escalate": Step(
        ("registered", "classified", "returned", "reopened", "escalated") + WORKING, "escalated", "case.escalated"
    ),
    "bureau_accept": Step(("escalated",), "bureau_accepted", "case.bureau_accepted"),
    "bureau_return": Step(("escalated", "bureau_accepted"), "returned", "case.bureau_returned"),
    "bureau_resolve": Step(("escalated", "bureau_accepted"), "resolved", "case.resolved"),
    "reopen": Step(REOPENABLE, "reopened", "case.reopened"),
    # a claimed project's completion answers every linked case that is still open, wherever it stands
    "resolve_by_project": Step(
        ("registered", "classified", "returned", "reopened", "awaiting_supplement") + WORKING,
        "resolved",
        "case.resolved",
    ),
}


# What a client may call, as the path segment after /api/v1/cases/{id}/, and which party calls it: `staff`
# (community staff), `handler` (the case's handler, or staff) or `bureau` (the bureau the case is with).
# `reopen` (feedback's event) and `resolve_by_project` (a project's completion) are not called on a case.
ENDPOINTS: dict[str, tuple[str, str]] = {
    "classify": ("classify", "staff"),
    "assign": ("assign", "staff"),
    "return": ("return", "staff"),
    "escalate": ("escalate", "staff"),
    "accept": ("accept", "handler"),
    "start": ("start", "handler"),
    "request_supplement": ("request-supplement", "handler"),
    "supplement_received": ("supplement-received", "handler"),
    "resolve": ("resolve", "handler"),
    "bureau_accept": ("bureau/accept", "bureau"),
    "bureau_return": ("bureau/return", "bureau"),
    "bureau_resolve": ("bureau/resolve", "bureau"),
}


def allowed_from(status: str) -> list[str]:
    return sorted(action for action, step in STEPS.items() if status in step.sources)


def callable_from(status: str, parties: set[str]) -> list[str]:
    """The endpoints (path segments) the given parties may call on a case in `status`, sorted."""
    return sorted(ENDPOINTS[a][0] for a in allowed_from(status) if a in ENDPOINTS and ENDPOINTS[a][1] in parties)


def check(action: str, status: str) -> Step:
    step = STEPS[action]
    if status not in step.sources:
        allowed = ", ".join(allowed_from(status)) or "nothing (the case is finished)"
        raise Conflict(f"cannot {action.replace('_', ' ')} a case that is {status}; allowed from {status}: {allowed}")
    return step


def check_version(current: int, expected: int | None) -> None:
    """Optimistic locking: a client that read version N may only change a case still at N."""
    if expected is not None and expected != current:
        raise Conflict(f"the case changed since you read it (version {expected}, now {current}); reload and retry")

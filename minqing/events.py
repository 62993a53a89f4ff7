"""The one event envelope (ARCHITECTURE.md rule 5) and the schema of every event's `data`.

A new event type is one schema here and one test. Producers call `make_envelope`, which validates
`data` before anything is written to an outbox; consumers call `load_envelope`, which validates again
(a message from a broken producer is parked in the dead-letter queue, never half-applied).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from marshmallow import Schema, ValidationError, fields, validate

from minqing.fields import StrictBool
from minqing.vocabulary import CHANNELS, FEEDBACK_METHODS, HANDLING_TYPES, SUPERVISION_KINDS, one_of


class Actor(Schema):
    id = fields.Str(required=True)
    role = fields.Str(load_default=None)
    name = fields.Str(load_default=None)


class Handler(Schema):
    id = fields.Str(required=True)
    kind = fields.Str(required=True, validate=one_of(("grid_member", "grid_team", "resident_unit", "bureau", "staff")))
    name = fields.Str(load_default=None)


class CaseState(Schema):
    """Routing's whole view of the case after the event: a consumer that sees a newer event first loses
    nothing by ignoring the older one."""

    reference = fields.Str(load_default=None)
    channel = fields.Str(load_default=None)
    grid = fields.Str(load_default=None)
    registered_at = fields.AwareDateTime(load_default=None)
    status = fields.Str(required=True)
    handling_type = fields.Str(load_default=None)
    deadline = fields.AwareDateTime(load_default=None)
    handler = fields.Nested(Handler, load_default=None)
    bureau = fields.Str(load_default=None)
    supervision_level = fields.Int(load_default=0)


class RoutingEvent(Schema):
    state = fields.Nested(CaseState, load_default=None)


class CaseRegistered(Schema):
    reference = fields.Str(required=True)
    channel = fields.Str(required=True, validate=one_of(CHANNELS))
    title = fields.Str(required=True)
    category = fields.Str(load_default=None)
    grid = fields.Str(load_default=None)
    building = fields.Str(load_default=None)
    registered_at = fields.AwareDateTime(required=True)
    description = fields.Str(load_default=None)
    reporter_user = fields.Str(load_default=None)  # the resident's user id when they registered it themselves
    reporter_phone = fields.Str(load_default=None)  # so accounts can text the reporter about their case
    proposer_member = fields.Str(load_default=None)  # a party member whose suggestion this is (points' member id)
    actor = fields.Nested(Actor, load_default=None)


class CaseClassified(RoutingEvent):
    handling_type = fields.Str(required=True, validate=one_of(HANDLING_TYPES))
    deadline = fields.AwareDateTime(load_default=None)
    reason = fields.Str(load_default=None)
    actor = fields.Nested(Actor, load_default=None)


class CaseAssigned(RoutingEvent):
    handler = fields.Nested(Handler, required=True)
    reason = fields.Str(load_default=None)
    actor = fields.Nested(Actor, load_default=None)


class CaseResolved(RoutingEvent):
    summary = fields.Str(required=True)
    outcome = fields.Str(load_default=None, validate=one_of(("adopted", "not_adopted"), allow_none=True))
    actor = fields.Nested(Actor, load_default=None)


class SuggestionAdopted(RoutingEvent):
    """A suggestion case resolved as adopted; points credits whoever proposed it."""

    reference = fields.Str(required=True)
    title = fields.Str(required=True)
    summary = fields.Str(required=True)
    proposer_user = fields.Str(load_default=None)
    proposer_member = fields.Str(load_default=None)
    actor = fields.Nested(Actor, load_default=None)


class CaseEscalated(RoutingEvent):
    bureau = fields.Str(required=True)
    reason = fields.Str(required=True)
    deadline = fields.AwareDateTime(load_default=None)
    actor = fields.Nested(Actor, load_default=None)


class CaseStep(RoutingEvent):
    """The smaller workflow steps: accepted, started, returned, supplement requested/received, bureau answers."""

    reason = fields.Str(load_default=None)
    deadline = fields.AwareDateTime(load_default=None)
    bureau = fields.Str(load_default=None)
    actor = fields.Nested(Actor, load_default=None)


class CaseDueSoon(RoutingEvent):
    deadline = fields.AwareDateTime(required=True)


class CaseOverdue(RoutingEvent):
    deadline = fields.AwareDateTime(required=True)
    supervision_level = fields.Int(load_default=1, validate=validate.Range(min=1))


class ReplySent(Schema):
    reply_id = fields.Str(required=True)
    method = fields.Str(required=True, validate=one_of(FEEDBACK_METHODS))
    content = fields.Str(required=True)
    actor = fields.Nested(Actor, load_default=None)


class CaseRated(Schema):
    satisfied = StrictBool(required=True)
    score = fields.Int(load_default=None, validate=validate.Range(min=1, max=5))
    comment = fields.Str(load_default=None)
    recorded_by = fields.Nested(Actor, load_default=None)
    handler_id = fields.Str(load_default=None)  # who handled the case, so points can credit a satisfied rating


class CaseClosed(Schema):
    reason = fields.Str(required=True, validate=one_of(("rated", "not_rated", "withdrawn", "merged", "other")))
    actor = fields.Nested(Actor, load_default=None)


class CaseReopened(Schema):
    reason = fields.Str(required=True)
    reopen_count = fields.Int(required=True, validate=validate.Range(min=1))
    actor = fields.Nested(Actor, load_default=None)


class CaseMerged(Schema):
    into = fields.Str(required=True)
    into_reference = fields.Str(required=True)
    actor = fields.Nested(Actor, load_default=None)


class HotIssueDetected(Schema):
    category = fields.Str(required=True)
    count = fields.Int(required=True)
    window_days = fields.Int(required=True)
    case_ids = fields.List(fields.Str(), required=True)
    title = fields.Str(load_default=None)


class HotIssueUpdated(HotIssueDetected):
    """A case joined a hot issue after it was detected. Carries the whole membership, which only grows, so
    its size is the issue's version: a copy keeps the largest list it has seen, in whatever order."""

    joined = fields.List(fields.Str(), load_default=list)


class CaseSupervised(Schema):
    supervision_id = fields.Str(required=True)
    kind = fields.Str(required=True, validate=one_of(SUPERVISION_KINDS))
    finding = fields.Str(required=True)
    due = fields.AwareDateTime(load_default=None)
    actor = fields.Nested(Actor, load_default=None)


class VisitRecorded(Schema):
    kind = fields.Str(required=True, validate=one_of(("home", "reception", "return")))
    grid = fields.Str(load_default=None)
    household = fields.Str(load_default=None)
    visitor = fields.Str(required=True)
    found_case = fields.Str(load_default=None)
    for_case = fields.Str(load_default=None)


class PollClosed(Schema):
    title = fields.Str(required=True)
    passed = StrictBool(required=True)
    yes_share = fields.Float(required=True)
    participation = fields.Float(required=True)
    reason = fields.Str(required=True)


class ProjectLinked(RoutingEvent):
    project_id = fields.Str(required=True)
    title = fields.Str(required=True)
    units = fields.List(fields.Str(), required=True)
    deadline = fields.Date(load_default=None)


class PersonalDataRead(Schema):
    """The gateway answered someone unmasked personal data (phones, addresses, rooms); intake records it
    in the audit trail (minqing/audit.py)."""

    actor = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    role = fields.Str(required=True, validate=validate.Length(min=1, max=20))
    method = fields.Str(required=True)
    path = fields.Str(required=True, validate=validate.Length(max=300))
    query = fields.Dict(load_default=dict)
    subjects = fields.List(fields.Str(), required=True, validate=validate.Length(max=500))


class NotificationSent(Schema):
    """accounts sent the reporter a message about the case; the timeline shows it (the phone masked)."""

    message_id = fields.Str(required=True)
    template = fields.Str(required=True)
    to = fields.Str(required=True)  # masked: 138****1234
    text = fields.Str(required=True)
    about = fields.Str(load_default=None)  # the event type the message tells of


class HouseholdLinked(Schema):
    """A resident's login (`resident`, their token's sub) belongs to a household of the directory; feedback lets
    them vote for it."""

    resident = fields.Str(required=True)
    household = fields.Str(required=True)
    confirmed_by = fields.Str(load_default=None)  # staff, when several households had the resident's phone


EVENT_SCHEMAS: dict[str, type[Schema]] = {
    "case.registered": CaseRegistered,
    "case.classified": CaseClassified,
    "case.assigned": CaseAssigned,
    "case.resolved": CaseResolved,
    "suggestion.adopted": SuggestionAdopted,
    "case.escalated": CaseEscalated,
    "case.overdue": CaseOverdue,
    "case.due_soon": CaseDueSoon,
    "case.accepted": CaseStep,
    "case.started": CaseStep,
    "case.returned": CaseStep,
    "case.supplement_requested": CaseStep,
    "case.supplement_received": CaseStep,
    "case.bureau_accepted": CaseStep,
    "case.bureau_returned": CaseStep,
    "reply.sent": ReplySent,
    "case.rated": CaseRated,
    "case.closed": CaseClosed,
    "case.reopened": CaseReopened,
    "case.merged": CaseMerged,
    "hot_issue.detected": HotIssueDetected,
    "hot_issue.updated": HotIssueUpdated,
    "case.project_linked": ProjectLinked,
    "poll.closed": PollClosed,
    "case.supervised": CaseSupervised,
    "visit.recorded": VisitRecorded,
    "personal_data.read": PersonalDataRead,
    "notification.sent": NotificationSent,
    "resident.household_linked": HouseholdLinked,
}


class Envelope(Schema):
    id = fields.Str(required=True, validate=validate.Length(min=8, max=64))
    type = fields.Str(required=True, validate=one_of(tuple(EVENT_SCHEMAS)))
    source = fields.Str(required=True)
    time = fields.AwareDateTime(required=True)
    community = fields.Str(required=True)
    subject = fields.Str(required=True)
    version = fields.Int(required=True, validate=validate.Range(min=1))
    data = fields.Dict(required=True)
    correlation_id = fields.Str(load_default=None)


def make_envelope(
    type: str,
    *,
    source: str,
    community: str,
    subject: str,
    version: int,
    data: dict,
    correlation_id: str | None = None,
    time: datetime | None = None,
) -> dict:
    """A JSON-ready envelope; raises ValidationError if `data` does not fit its type's schema."""
    if type not in EVENT_SCHEMAS:
        raise ValidationError({"type": [f"unknown event type {type!r}"]})
    schema = _schema(type)
    schema.load(schema.dump(data))  # round-trip so a producer cannot emit what consumers would reject
    return {
        "id": uuid.uuid4().hex,
        "type": type,
        "source": source,
        "time": (time or datetime.now(UTC)).astimezone(UTC).isoformat(),
        "community": community,
        "subject": subject,
        "version": version,
        "data": schema.dump(data),
        "correlation_id": correlation_id,
    }


def _schema(type_: str) -> Schema:
    # building a schema costs more than loading with it (nested schemas are built again each time), and
    # a loaded demo year or a busy consumer loads thousands; schemas hold no state between loads
    if type_ not in _SCHEMA_CACHE:
        _SCHEMA_CACHE[type_] = EVENT_SCHEMAS[type_]()
    return _SCHEMA_CACHE[type_]


_SCHEMA_CACHE: dict[str, Schema] = {}
_ENVELOPE = Envelope()


def load_envelope(body: dict) -> dict:
    """Validated envelope with `data` loaded by its type's schema (datetimes parsed)."""
    envelope = _ENVELOPE.load(body)
    envelope["data"] = _schema(envelope["type"]).load(envelope["data"])
    return envelope

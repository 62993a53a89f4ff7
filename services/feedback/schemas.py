"""Feedback's boundary: replies, ratings, polls and votes, statistics queries."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from minqing.fields import Pattern, StrictBool
from minqing.vocabulary import CHANNELS, FEEDBACK_METHODS, SUPERVISION_KINDS, one_of
from services.intake.schemas import CODE, SHORT_CODE, Idempotency, Scope, page_of, text  # noqa: F401


class Attachment(Schema):
    name = text(200)
    content_type = text(100)
    size = fields.Int(required=True, validate=validate.Range(min=0, max=50_000_000))
    url = fields.Url(load_default=None, require_tld=False)


class ReplyIn(Schema):
    method = fields.Str(required=True, validate=one_of(FEEDBACK_METHODS))
    content = text(5000)
    attachments = fields.List(fields.Nested(Attachment), load_default=list, validate=validate.Length(max=20))


class ReplyOut(Schema):
    id = fields.Str()
    case_id = fields.Str()
    method = fields.Str()
    content = fields.Str()
    attachments = fields.List(fields.Dict())
    replied_by = fields.Dict()
    replied_at = fields.AwareDateTime()


class RatingIn(Schema):
    satisfied = StrictBool(required=True)
    score = fields.Int(load_default=None, strict=True, validate=validate.Range(min=1, max=5))
    comment = text(2000, required=False, load_default=None)


class RatingOut(Schema):
    case_id = fields.Str()
    satisfied = StrictBool()
    score = fields.Int(allow_none=True)
    comment = fields.Str(allow_none=True)
    recorded_by = fields.Dict()
    via_callback = StrictBool()
    rated_at = fields.AwareDateTime()
    case_status = fields.Str()
    reopen_count = fields.Int()


class FeedbackOut(Schema):
    replies = fields.List(fields.Nested(ReplyOut))
    ratings = fields.List(fields.Nested(RatingOut))


class StatsQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(load_default=None, validate=SHORT_CODE)
    period = fields.Str(load_default="last_30_days", validate=validate.Length(max=20))
    group_by = fields.Str(load_default="community", validate=one_of(("community", "grid", "handler", "channel")))
    channel = fields.Str(load_default=None, validate=one_of(CHANNELS))


class Supervisor(Schema):
    type = fields.Str(required=True, validate=one_of(("deputy", "resident", "media", "panel", "staff")))
    name = text(120)


class SupervisionIn(Schema):
    community = fields.Str(required=True, validate=SHORT_CODE)
    kind = fields.Str(required=True, validate=one_of(SUPERVISION_KINDS))
    supervisor = fields.Nested(Supervisor, required=True)
    target_type = fields.Str(required=True, validate=one_of(("case", "handler", "grid", "community")))
    target_id = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    finding = text(5000)
    required_action = text(2000, required=False, load_default=None)
    due = fields.AwareDateTime(load_default=None)
    raises_urgency = StrictBool(load_default=False)


class SupervisionOut(Schema):
    id = fields.Str()
    community = fields.Str()
    kind = fields.Str()
    supervisor = fields.Dict()
    target_type = fields.Str()
    target_id = fields.Str()
    finding = fields.Str()
    required_action = fields.Str(allow_none=True)
    due = fields.AwareDateTime(allow_none=True)
    raises_urgency = StrictBool()
    status = fields.Str()
    recorded_by = fields.Str()
    recorded_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    closure = fields.Str(allow_none=True)


class SupervisionQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(load_default=None, validate=SHORT_CODE)
    kind = fields.Str(load_default=None, validate=one_of(SUPERVISION_KINDS))
    status = fields.Str(load_default=None, validate=one_of(("open", "closed")))
    target_type = fields.Str(load_default=None, validate=one_of(("case", "handler", "grid", "community")))
    target_id = fields.Str(load_default=None, validate=validate.Length(max=120))
    overdue = StrictBool(query=True, load_default=None)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Str(load_default=None, validate=validate.Length(max=200))


class CloseIn(Schema):
    closure = text(5000)


class VisitProblem(Schema):
    title = text(200)
    description = text(5000)
    category = fields.Str(load_default=None, validate=Pattern(r"^[a-z_]{2,40}$"))
    building = fields.Str(load_default=None, validate=CODE)


class VisitIn(Schema):
    community = fields.Str(required=True, validate=SHORT_CODE)
    visit_id = fields.Str(load_default=None, validate=validate.Length(max=32))  # a planned visit, now done
    kind = fields.Str(load_default="home", validate=one_of(("home", "reception", "return")))
    grid = fields.Str(load_default=None, validate=CODE)
    household = fields.Str(load_default=None, validate=validate.Length(max=80))
    for_case = fields.Str(load_default=None, validate=validate.Length(max=32))
    visited_at = fields.AwareDateTime(load_default=None)
    missed = StrictBool(load_default=False)
    notes = text(5000, required=False, load_default=None)
    problem = fields.Nested(VisitProblem, load_default=None)


class VisitPlanIn(Schema):
    grid = fields.Str(required=True, validate=CODE)
    planned_for = fields.AwareDateTime(required=True)
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=5000))
    visitor = fields.Str(load_default=None, validate=validate.Length(max=120))


class VisitOut(Schema):
    id = fields.Str()
    community = fields.Str()
    kind = fields.Str()
    grid = fields.Str(allow_none=True)
    household = fields.Str(allow_none=True)
    visitor = fields.Str(allow_none=True)
    status = fields.Str()
    planned_for = fields.AwareDateTime(allow_none=True)
    visited_at = fields.AwareDateTime(allow_none=True)
    notes = fields.Str(allow_none=True)
    for_case = fields.Str(allow_none=True)
    found_case = fields.Str(allow_none=True)


class VisitQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(required=True, validate=SHORT_CODE)
    kind = fields.Str(load_default=None, validate=one_of(("home", "reception", "return")))
    status = fields.Str(load_default=None, validate=one_of(("planned", "done", "missed")))
    grid = fields.Str(load_default=None, validate=CODE)
    for_case = fields.Str(load_default=None, validate=validate.Length(max=32))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=500))


class ReportQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(required=True, validate=SHORT_CODE)
    period = fields.Str(required=True, validate=validate.Length(max=20))


class PollIn(Schema):
    community = fields.Str(required=True, validate=SHORT_CODE)
    title = text(200)
    question = text(2000)
    buildings = fields.List(fields.Str(validate=CODE), required=True, validate=validate.Length(min=1, max=200))
    threshold = fields.Str(required=True, validate=validate.Length(min=1, max=20))
    basis = fields.Str(load_default="votes_cast", validate=one_of(("votes_cast", "eligible")))
    quorum = fields.Str(load_default=None, validate=validate.Length(max=20))
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)


class VoteIn(Schema):
    household = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    option = fields.Str(required=True, validate=validate.Length(min=1, max=20))


class PollOut(Schema):
    id = fields.Str()
    community = fields.Str()
    title = fields.Str()
    question = fields.Str()
    scope_buildings = fields.List(fields.Str())
    eligible_households = fields.Int()
    threshold = fields.Str()
    basis = fields.Str()
    quorum = fields.Str(allow_none=True)
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    status = fields.Str()
    result = fields.Dict(allow_none=True)


class VoteOut(Schema):
    poll_id = fields.Str()
    household = fields.Str()
    option = fields.Str()
    replaced = StrictBool()


class VisitPlanOut(Schema):
    planned = fields.List(fields.Nested(VisitOut))


# --- the rates -------------------------------------------------------------------------------------
class RateOut(Schema):
    value = fields.Float(allow_none=True, metadata={"description": "numerator / denominator; null when nothing counts"})
    numerator = fields.Int()
    denominator = fields.Int()


class GridCoverageOut(RateOut):
    grid = fields.Str()
    households = fields.Int()
    visited = fields.Int()


class CoverageOut(Schema):
    community = fields.Str()
    coverage = fields.Nested(RateOut)
    grids = fields.List(fields.Nested(GridCoverageOut))


class PeriodOut(Schema):
    name = fields.Str()
    from_ = fields.AwareDateTime(data_key="from")
    to = fields.AwareDateTime()


class RatesOut(Schema):
    group = fields.Str(allow_none=True, metadata={"description": "the community, grid, handler or channel; null: none"})
    cases = fields.Int()
    by_channel = fields.Dict(keys=fields.Str(), values=fields.Int())
    by_handling_type = fields.Dict(keys=fields.Str(), values=fields.Int())
    response_rate = fields.Nested(RateOut)
    on_time_rate = fields.Nested(RateOut)
    resolution_rate = fields.Nested(RateOut)
    satisfaction_rate = fields.Nested(RateOut)
    reopen_rate = fields.Nested(RateOut)


class StatsOut(Schema):
    period = fields.Nested(PeriodOut)
    group_by = fields.Str()
    overall = fields.Nested(RatesOut, allow_none=True)
    groups = fields.List(fields.Nested(RatesOut))
    visit_coverage = fields.Nested(CoverageOut, metadata={"description": "with `community`: the whole campaign's"})

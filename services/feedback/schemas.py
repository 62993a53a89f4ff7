"""Feedback's boundary: replies, ratings, polls and votes, statistics queries."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from minqing.vocabulary import CHANNELS, FEEDBACK_METHODS, one_of
from services.intake.schemas import CODE, Idempotency, Scope, text  # noqa: F401


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
    satisfied = fields.Bool(required=True, truthy={True}, falsy={False})  # JSON true or false only
    score = fields.Int(load_default=None, strict=True, validate=validate.Range(min=1, max=5))
    comment = text(2000, required=False, load_default=None)


class RatingOut(Schema):
    case_id = fields.Str()
    satisfied = fields.Bool()
    score = fields.Int(allow_none=True)
    comment = fields.Str(allow_none=True)
    recorded_by = fields.Dict()
    via_callback = fields.Bool()
    rated_at = fields.AwareDateTime()
    case_status = fields.Str()
    reopen_count = fields.Int()


class StatsQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(load_default=None, validate=CODE)
    period = fields.Str(load_default="last_30_days", validate=validate.Length(max=20))
    group_by = fields.Str(load_default="community", validate=one_of(("community", "grid", "handler", "channel")))
    channel = fields.Str(load_default=None, validate=one_of(CHANNELS))


class ReportQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(required=True, validate=CODE)
    period = fields.Str(required=True, validate=validate.Length(max=20))


class PollIn(Schema):
    community = fields.Str(required=True, validate=CODE)
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

"""Routing's boundary: roster, rules and limits, and the actions on a case."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from minqing.fields import Pattern, StrictBool
from minqing.vocabulary import HANDLING_TYPES, one_of
from services.intake.schemas import (  # noqa: F401
    CODE,
    PHONE,
    SHORT_CODE,
    Idempotency,
    PageQuery,
    Scope,
    masked_phone,
    page_of,
    text,
)

MEMBER_ROLES = ("grid_leader", "party_instructor", "policy_publicist", "info_officer", "member")
ORIGINS = ("community_staff", "unit", "retired", "property_company", "resident")
HANDLER_KINDS = ("grid_leader", "member", "unit", "bureau")


class MemberIn(Schema):
    id = fields.Str(required=True, validate=CODE)
    grid = fields.Str(load_default=None, validate=CODE)
    name = text(60)
    role = fields.Str(required=True, validate=one_of(MEMBER_ROLES))
    origin = fields.Str(load_default=None, validate=one_of(ORIGINS, allow_none=True))
    phone = fields.Str(load_default=None, validate=PHONE)
    shift = text(60, required=False, load_default=None)
    sub_area = text(120, required=False, load_default=None)


class MemberOut(MemberIn):
    community = fields.Str()
    phone = masked_phone()
    active = StrictBool()


class UnitIn(Schema):
    id = fields.Str(required=True, validate=CODE)
    name = text(120)
    party_org = text(120, required=False, load_default=None)
    contact_name = text(60, required=False, load_default=None)
    contact_phone = fields.Str(load_default=None, validate=PHONE)


class UnitOut(UnitIn):
    community = fields.Str()
    contact_phone = masked_phone()


class AdviserIn(Schema):
    id = fields.Str(required=True, validate=CODE)
    name = text(60)
    specialties = fields.List(fields.Str(validate=validate.Length(min=1, max=40)), load_default=list)
    phone = fields.Str(load_default=None, validate=PHONE)


class AdviserOut(AdviserIn):
    community = fields.Str()
    phone = masked_phone()


class BureauIn(Schema):
    code = fields.Str(required=True, validate=SHORT_CODE)
    name = text(120)
    contact_name = text(60, required=False, load_default=None)
    contact_phone = fields.Str(load_default=None, validate=PHONE)
    webhook_url = fields.Url(
        load_default=None, require_tld=False, schemes={"http", "https"}, validate=validate.Length(max=300)
    )
    days = fields.Int(load_default=10, validate=validate.Range(min=1, max=60))


class BureauListed(BureauIn):
    """A bureau as listed: no secret."""

    contact_phone = masked_phone()


class BureauOut(BureauListed):
    webhook_secret = fields.Str(allow_none=True)


class RuleIn(Schema):
    priority = fields.Int(load_default=100, validate=validate.Range(min=0, max=10000))
    category = fields.Str(load_default=None, validate=Pattern(r"^[a-z_]{2,40}$"))
    keywords = fields.List(fields.Str(validate=validate.Length(min=1, max=20)), load_default=list)
    handling_type = fields.Str(required=True, validate=one_of(HANDLING_TYPES))
    handler_kind = fields.Str(load_default="grid_leader", validate=one_of(HANDLER_KINDS))
    handler_ref = fields.Str(load_default=None, validate=validate.Length(max=60))
    committed_days = fields.Int(load_default=None, validate=validate.Range(min=1, max=15))


class RuleOut(RuleIn):
    id = fields.Int()
    community = fields.Str()


class RuleSet(Schema):
    rules = fields.List(fields.Nested(RuleIn), required=True, validate=validate.Length(max=200))


class LimitsIn(Schema):
    class Meta:
        unknown = EXCLUDE

    limits = fields.Dict(required=True)


class LimitsOut(Schema):
    community = fields.Str()
    limits = fields.Dict()


class RemovedOut(Schema):
    id = fields.Str()
    removed = StrictBool()


class Action(Schema):
    """Every case action: why, and the version the caller last saw (optimistic locking)."""

    reason = text(500, required=False, load_default=None)
    version = fields.Int(load_default=None, validate=validate.Range(min=1))


class ReturnIn(Action):
    reason = text(500)  # the method records why a case leaves its handler


class ClassifyIn(Action):
    handling_type = fields.Str(required=True, validate=one_of(HANDLING_TYPES))
    deadline = fields.Date(load_default=None)  # a committed case's promised date
    committed_days = fields.Int(load_default=None, validate=validate.Range(min=1, max=15))


class AssignIn(Action):
    handler = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    handler_kind = fields.Str(load_default="member", validate=one_of(("member", "unit", "grid_leader")))


class EscalateIn(Action):
    bureau = fields.Str(required=True, validate=SHORT_CODE)
    reason = text(500)


class ResolveIn(Action):
    summary = text(2000)
    outcome = fields.Str(load_default=None, validate=one_of(("adopted", "not_adopted"), allow_none=True))


class RoutingCaseOut(Schema):
    id = fields.Str()
    reference = fields.Str()
    community = fields.Str()
    status = fields.Str()
    handling_type = fields.Str(allow_none=True)
    deadline = fields.AwareDateTime(allow_none=True)
    handler_id = fields.Str(allow_none=True)
    handler_kind = fields.Str(allow_none=True)
    handler_name = fields.Str(allow_none=True)
    bureau = fields.Str(allow_none=True)
    supervision_level = fields.Int()
    version = fields.Int()
    allowed_actions = fields.List(
        fields.Str(),
        metadata={
            "description": "what the caller may call on the case now, as the path after /api/v1/cases/{id}/ "
            "(e.g. request-supplement, bureau/accept)"
        },
    )


class DeliveryOut(Schema):
    id = fields.Int()
    bureau = fields.Str()
    event_id = fields.Str()
    event_type = fields.Str()
    status = fields.Str()
    attempts = fields.List(fields.Dict())
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class AgendaIn(Schema):
    hot_issue = fields.Str(load_default=None, validate=validate.Length(max=32))
    title = text(200, required=False, load_default=None)


class MeetingIn(Schema):
    title = text(200)
    held_at = fields.AwareDateTime(required=True)
    attending_units = fields.List(fields.Str(validate=CODE), required=True, validate=validate.Length(min=1))
    agenda = fields.List(fields.Nested(AgendaIn), required=True, validate=validate.Length(min=1, max=50))
    minutes = text(20000, required=False, load_default=None)
    decisions = fields.List(fields.Str(validate=validate.Length(max=500)), load_default=list)


class AgendaOut(Schema):
    id = fields.Str()
    hot_issue_id = fields.Str(allow_none=True)
    title = fields.Str()
    case_ids = fields.List(fields.Str())
    status = fields.Str()


class MeetingOut(Schema):
    id = fields.Str()
    community = fields.Str()
    title = fields.Str()
    held_at = fields.AwareDateTime()
    attending_units = fields.List(fields.Str())
    minutes = fields.Str(allow_none=True)
    decisions = fields.List(fields.Str())
    agenda = fields.List(fields.Nested(AgendaOut))


class Milestone(Schema):
    title = text(200)
    due = fields.Date(required=True)


class ClaimIn(Schema):
    units = fields.List(fields.Str(validate=CODE), required=True, validate=validate.Length(min=1))
    owner = text(60)
    title = text(200, required=False, load_default=None)
    milestones = fields.List(fields.Nested(Milestone), load_default=list)
    deadline = fields.Date(load_default=None)


class CompleteIn(Schema):
    summary = text(2000)


class ProjectOut(Schema):
    id = fields.Str()
    community = fields.Str()
    title = fields.Str()
    units = fields.List(fields.Str())
    owner = fields.Str()
    milestones = fields.List(fields.Dict())
    deadline = fields.Date(allow_none=True)
    case_ids = fields.List(fields.Str())
    status = fields.Str()
    summary = fields.Str(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    resolved_cases = fields.List(fields.Str())


class HotIssueOut(Schema):
    id = fields.Str()
    community = fields.Str()
    category = fields.Str()
    title = fields.Str(allow_none=True)
    case_ids = fields.List(fields.Str())
    status = fields.Str()
    detected_at = fields.AwareDateTime()


# --- the holiday calendar (docs/calendar.md) -------------------------------------------------------------------
# a holiday's name as the notice writes it: no control characters, no blank ends (Pattern: a whole match)
HOLIDAY_NAME = Pattern(
    r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,38}[^\s\x00-\x1f\x7f])?\Z",
    error="must be 1–40 characters (the holiday's name, e.g. 春节), no control characters or blank ends",
)


class CalendarSpan(Schema):
    """A run of days of one holiday: ``from`` to ``to`` inclusive (``to`` defaults to ``from``)."""

    name = fields.Str(required=True, validate=HOLIDAY_NAME)
    start = fields.Date(required=True, data_key="from")
    to = fields.Date(load_default=None)


class CalendarIn(Schema):
    """A year's schedule as the State Council's notice gives it: the days off, and the weekend days worked."""

    notice = fields.Str(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "the notice it comes from, e.g. 国办发明电〔2026〕N号"},
    )
    holidays = fields.List(fields.Nested(CalendarSpan), required=True, validate=validate.Length(min=1, max=60))
    workdays = fields.List(
        fields.Nested(CalendarSpan),
        load_default=list,
        validate=validate.Length(max=30),
        metadata={"description": "adjusted working days (调休上班): Saturdays and Sundays that are worked"},
    )


class CalendarDayOut(Schema):
    date = fields.Date()
    kind = fields.Str(metadata={"description": "holiday (a day off) or workday (an adjusted working day, 调休上班)"})
    name = fields.Str()
    source = fields.Str(metadata={"description": "official (loaded notice), library (chinesecalendar) or statutory"})
    fixed_by_law = StrictBool(metadata={"description": "one of the days off 《全国年节及纪念日放假办法》 fixes"})


class CalendarOut(Schema):
    year = fields.Int()
    source = fields.Str(metadata={"description": "official, library or statutory (the law's holidays only)"})
    notice = fields.Str(allow_none=True)
    loaded_by = fields.Str(allow_none=True)
    loaded_at = fields.AwareDateTime(allow_none=True)
    days = fields.List(fields.Nested(CalendarDayOut))
    warnings = fields.List(fields.Str())

"""Points' boundary: member files, rules, activities, awards, the ledger, rewards and redemptions."""

from __future__ import annotations

from datetime import date, datetime

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from minqing.errors import InvalidInput
from minqing.fields import Pattern, StrictBool
from minqing.vocabulary import one_of
from services.intake.schemas import CODE, PHONE, SHORT_CODE, Idempotency, PageQuery, Scope, page_of, text  # noqa: F401
from services.points.rules import ENTRY_KINDS, MEMBER_STATUSES, UNITS

RULE_CODE = Pattern(r"^[a-z][a-z0-9_]{1,39}$", error="lower-case letters, digits and '_'")
ID = Pattern(r"^[A-Za-z0-9_-]{1,120}$", error="letters, digits, '-' or '_'")
POINTS = validate.Range(min=1, max=10_000)


def words(max_items: int = 20) -> fields.List:
    return fields.List(text(40), load_default=list, validate=validate.Length(max=max_items))


# --- member files ----------------------------------------------------------------------------------
class PartyMemberChange(Schema):
    name = text(60, required=False)
    gender = fields.Str(validate=one_of(("male", "female")), allow_none=True)
    birth_year = fields.Int(strict=True, validate=validate.Range(min=1900, max=2100), allow_none=True)
    phone = fields.Str(validate=PHONE, allow_none=True)
    user_id = fields.Str(validate=ID, allow_none=True)
    roster_id = fields.Str(validate=ID, allow_none=True)
    branch = text(120, required=False)
    unit = fields.Str(validate=CODE, allow_none=True)
    status = fields.Str(validate=one_of(MEMBER_STATUSES))
    joined_party = fields.Date(allow_none=True)
    professions = fields.List(text(40), validate=validate.Length(max=20))
    specialties = fields.List(text(40), validate=validate.Length(max=20))
    availability = fields.List(text(40), validate=validate.Length(max=20))
    active = StrictBool()


class PartyMemberIn(PartyMemberChange):
    community = fields.Str(required=True, validate=SHORT_CODE)
    name = text(60)
    branch = text(120)
    status = fields.Str(required=True, validate=one_of(MEMBER_STATUSES))
    professions = words()
    specialties = words()
    availability = words()


class PartyMemberOut(Schema):
    id = fields.Str()
    community = fields.Str()
    name = fields.Str()
    gender = fields.Str(allow_none=True)
    birth_year = fields.Int(allow_none=True)
    phone = fields.Str(allow_none=True)
    user_id = fields.Str(allow_none=True)
    roster_id = fields.Str(allow_none=True)
    branch = fields.Str()
    unit = fields.Str(allow_none=True)
    status = fields.Str()
    joined_party = fields.Str(allow_none=True)
    professions = fields.List(fields.Str())
    specialties = fields.List(fields.Str())
    availability = fields.List(fields.Str())
    active = StrictBool()
    balance = fields.Int()
    registered_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class PartyMemberQuery(PageQuery):
    community = fields.Str(required=True, validate=SHORT_CODE)
    specialty = fields.Str(load_default=None, validate=validate.Length(min=1, max=40))
    q = fields.Str(load_default=None, validate=validate.Length(min=1, max=60))
    branch = fields.Str(load_default=None, validate=validate.Length(max=120))
    status = fields.Str(load_default=None, validate=one_of(MEMBER_STATUSES))
    unit = fields.Str(load_default=None, validate=CODE)
    active = StrictBool(query=True, load_default=None)


# --- the ledger ------------------------------------------------------------------------------------
class EntryQuery(PageQuery):
    kind = fields.Str(load_default=None, validate=one_of(ENTRY_KINDS))


class EntryOut(Schema):
    id = fields.Int()
    kind = fields.Str()
    points = fields.Int()
    balance_after = fields.Int()
    reason = fields.Str()
    rule_code = fields.Str(allow_none=True)
    rule_version = fields.Int(allow_none=True)
    source = fields.Str(allow_none=True)
    actor = fields.Str()
    reverses = fields.Int(allow_none=True)
    created_at = fields.AwareDateTime()


class PointsOut(Schema):
    member = fields.Str()
    balance = fields.Int()
    earned = fields.Int()
    items = fields.List(fields.Nested(EntryOut))
    next_cursor = fields.Str(allow_none=True)


class CorrectionIn(Schema):
    reverses = fields.Int(strict=True, load_default=None, validate=validate.Range(min=1))
    points = fields.Int(
        strict=True, load_default=None, validate=validate.And(validate.Range(min=-10_000, max=10_000), lambda v: v != 0)
    )
    reason = text(500)


class ExpiryIn(Schema):
    community = fields.Str(required=True, validate=SHORT_CODE)
    years = fields.Int(strict=True, required=True, allow_none=True, validate=validate.Range(min=1, max=20))


class CommunityQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(required=True, validate=SHORT_CODE)


# --- rules -----------------------------------------------------------------------------------------
class PointRuleChange(Schema):
    name = text(120, required=False)
    points = fields.Int(strict=True, validate=POINTS)
    unit = fields.Str(validate=one_of(UNITS))
    cap_day = fields.Int(strict=True, allow_none=True, validate=POINTS)
    cap_month = fields.Int(strict=True, allow_none=True, validate=POINTS)
    cap_year = fields.Int(strict=True, allow_none=True, validate=validate.Range(min=1, max=1_000_000))
    needs_approval = StrictBool()
    active = StrictBool()
    note = fields.Str(allow_none=True, validate=validate.Length(max=1000))
    expected_version = fields.Int(strict=True, validate=validate.Range(min=1))

    @validates_schema
    def at_least_one_change(self, data, **kwargs):
        if not set(data) - {"expected_version"}:
            raise ValidationError("change at least one field", "_schema")


class PointRuleIn(PointRuleChange):
    community = fields.Str(required=True, validate=SHORT_CODE)
    code = fields.Str(required=True, validate=RULE_CODE)
    name = text(120)
    points = fields.Int(strict=True, required=True, validate=POINTS)
    unit = fields.Str(required=True, validate=one_of(UNITS))
    needs_approval = StrictBool(load_default=False)


class PointRuleOut(Schema):
    code = fields.Str()
    community = fields.Str()
    version = fields.Int()
    name = fields.Str()
    points = fields.Int()
    unit = fields.Str()
    cap_day = fields.Int(allow_none=True)
    cap_month = fields.Int(allow_none=True)
    cap_year = fields.Int(allow_none=True)
    needs_approval = StrictBool()
    active = StrictBool()
    note = fields.Str(allow_none=True)
    changed_by = fields.Str()
    valid_from = fields.AwareDateTime(allow_none=True)  # null: a default rule not used yet
    history = fields.List(fields.Dict())


# --- activities and awards ---------------------------------------------------------------------------
class ActivityIn(Schema):
    community = fields.Str(required=True, validate=SHORT_CODE)
    title = text(200)
    rule_code = fields.Str(required=True, validate=RULE_CODE)
    place = text(200)
    starts_at = fields.AwareDateTime(required=True)
    ends_at = fields.AwareDateTime(required=True)
    slots = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=10_000))
    description = fields.Str(load_default=None, validate=validate.Length(max=5000))


class ActivityOut(Schema):
    id = fields.Str()
    community = fields.Str()
    title = fields.Str()
    rule_code = fields.Str()
    place = fields.Str()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    slots = fields.Int()
    signed_up = fields.Int()
    description = fields.Str(allow_none=True)
    status = fields.Str()
    created_by = fields.Str()
    created_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)
    no_shows = fields.Int()
    signups = fields.List(fields.Dict())


class ActivityQuery(PageQuery):
    community = fields.Str(required=True, validate=SHORT_CODE)
    status = fields.Str(load_default=None, validate=one_of(("published", "closed", "cancelled")))
    rule_code = fields.Str(load_default=None, validate=RULE_CODE)


class SignupIn(Schema):
    member = fields.Str(required=True, validate=ID)


class AttendanceIn(SignupIn):
    at = fields.AwareDateTime(load_default=None)  # default: now; staff may enter a paper sign-in sheet later


class AwardOut(Schema):
    id = fields.Int()
    community = fields.Str()
    member_id = fields.Str()
    rule_code = fields.Str()
    rule_version = fields.Int()
    source = fields.Str()
    source_event = fields.Str(allow_none=True)
    quantity = fields.Float()
    requested = fields.Int()
    points = fields.Int()
    status = fields.Str()
    reason = fields.Str()
    earned_at = fields.AwareDateTime()
    decided_by = fields.Str(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    entry_id = fields.Int(allow_none=True)


class AwardQuery(PageQuery):
    community = fields.Str(required=True, validate=SHORT_CODE)
    status = fields.Str(load_default=None, validate=one_of(("pending", "awarded", "capped", "rejected", "reversed")))
    member = fields.Str(load_default=None, validate=ID)


class DecisionIn(Schema):
    approve = StrictBool(required=True)
    reason = fields.Str(load_default=None, validate=validate.Length(max=500))


# --- rewards and redemptions -------------------------------------------------------------------------
class RewardIn(Schema):
    community = fields.Str(required=True, validate=SHORT_CODE)
    name = text(120)
    description = fields.Str(load_default=None, validate=validate.Length(max=2000))
    price = fields.Int(strict=True, required=True, validate=validate.Range(min=1, max=1_000_000))
    stock = fields.Int(strict=True, required=True, validate=validate.Range(min=0, max=1_000_000))


class RewardChange(Schema):
    name = text(120, required=False)
    description = fields.Str(allow_none=True, validate=validate.Length(max=2000))
    price = fields.Int(strict=True, validate=validate.Range(min=1, max=1_000_000))
    active = StrictBool()
    stock_delta = fields.Int(strict=True, validate=validate.Range(min=-1_000_000, max=1_000_000))


class RewardOut(Schema):
    id = fields.Str()
    community = fields.Str()
    name = fields.Str()
    description = fields.Str(allow_none=True)
    price = fields.Int()
    stock = fields.Int()
    active = StrictBool()
    updated_at = fields.AwareDateTime()


class RewardQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(required=True, validate=SHORT_CODE)
    include_inactive = StrictBool(query=True, load_default=False)


class RedemptionIn(Schema):
    member = fields.Str(required=True, validate=ID)
    reward = fields.Str(required=True, validate=ID)
    quantity = fields.Int(strict=True, load_default=1, validate=validate.Range(min=1, max=100))


class RedemptionOut(Schema):
    id = fields.Str()
    community = fields.Str()
    member_id = fields.Str()
    reward_id = fields.Str()
    reward_name = fields.Str()
    quantity = fields.Int()
    points = fields.Int()
    status = fields.Str()
    requested_by = fields.Str()
    created_at = fields.AwareDateTime()
    picked_up_at = fields.AwareDateTime(allow_none=True)
    picked_up_by = fields.Str(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancel_reason = fields.Str(allow_none=True)
    balance = fields.Int()


class RedemptionQuery(PageQuery):
    community = fields.Str(required=True, validate=SHORT_CODE)
    status = fields.Str(load_default=None, validate=one_of(("reserved", "picked_up", "cancelled")))
    member = fields.Str(load_default=None, validate=ID)


class CancelIn(Schema):
    reason = fields.Str(load_default=None, validate=validate.Length(max=500))


# --- rankings and files ----------------------------------------------------------------------------
class RankingQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(required=True, validate=SHORT_CODE)
    period = fields.Str(required=True, validate=validate.Length(max=20))
    branch = fields.Str(load_default=None, validate=validate.Length(max=120))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


class FileQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    year = fields.Int(required=True, validate=validate.Range(min=2000, max=2100))
    format = fields.Str(load_default="json", validate=one_of(("json", "html", "xlsx")))


class RankingOut(Schema):
    community = fields.Str()
    branch = fields.Str(allow_none=True)
    period = fields.Str()
    from_ = fields.AwareDateTime(data_key="from", attribute="from")
    to = fields.AwareDateTime()
    items = fields.List(fields.Dict())


class ExpiryOut(Schema):
    community = fields.Str()
    years = fields.Int(allow_none=True)
    changed_by = fields.Str(allow_none=True)
    changed_at = fields.AwareDateTime(allow_none=True)


class FileMemberOut(Schema):
    id = fields.Str()
    name = fields.Str()
    community = fields.Str()
    branch = fields.Str()
    unit = fields.Str(allow_none=True)
    status = fields.Str()
    professions = fields.List(fields.Str())
    specialties = fields.List(fields.Str())
    phone = fields.Str(allow_none=True)


class FileItemOut(Schema):
    code = fields.Str()
    name = fields.Str()
    count = fields.Int()
    quantity = fields.Float()
    points = fields.Int()


class FileActivityOut(Schema):
    title = fields.Str()
    starts_at = fields.AwareDateTime()
    place = fields.Str()
    status = fields.Str()
    hours = fields.Float(allow_none=True)


class FileRedemptionOut(Schema):
    reward = fields.Str()
    quantity = fields.Int()
    points = fields.Int()
    status = fields.Str()
    at = fields.AwareDateTime()


class FileEntryOut(Schema):
    id = fields.Int()
    at = fields.AwareDateTime()
    kind = fields.Str()
    points = fields.Int()
    balance_after = fields.Int()
    reason = fields.Str()
    rule = fields.Str(allow_none=True)
    actor = fields.Str()


class AnnualFileOut(Schema):
    year = fields.Int()
    member = fields.Nested(FileMemberOut)
    opening_balance = fields.Int()
    closing_balance = fields.Int()
    current_balance = fields.Int()
    earned = fields.Int()
    totals = fields.Dict(keys=fields.Str(), values=fields.Int())
    by_item = fields.List(fields.Nested(FileItemOut))
    activities = fields.List(fields.Nested(FileActivityOut))
    redemptions = fields.List(fields.Nested(FileRedemptionOut))
    entries = fields.List(fields.Nested(FileEntryOut))


class NoBody(Schema):
    class Meta:
        unknown = EXCLUDE


def invalid_period(exc: ValueError) -> InvalidInput:
    return InvalidInput(str(exc), {"period": [str(exc)]})


def as_json(value):
    """Datetimes and dates as ISO 8601 all the way down (the annual file is plain nested data)."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value

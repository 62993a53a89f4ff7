"""Intake's boundary: what the gateway and RPC callers may send, and what they get back."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, pre_load, validate

from minqing.fields import Pattern, PeriodPage, StrictBool
from minqing.rpc import Idempotency, Scope  # noqa: F401  (re-exported: every service's boundary uses them)
from minqing.vocabulary import CASE_STATUSES, CHANNELS, HANDLING_TYPES, one_of

CODE = Pattern(r"^[a-z][a-z0-9_-]{1,59}$", error="must be lower-case letters, digits, '-' or '_'")
# communities, districts and bureaus: their columns hold 40 characters
SHORT_CODE_PATTERN = r"^[a-z][a-z0-9_-]{1,39}$"
SHORT_CODE = Pattern(SHORT_CODE_PATTERN, error="must be at most 40 lower-case letters, digits, '-' or '_'")
PHONE = Pattern(r"^\+?[0-9][0-9 -]{4,18}$", error="must be a phone number of digits (at most 20 characters)")


def text(max_len: int, required: bool = True, **kw) -> fields.Str:
    return fields.Str(required=required, validate=validate.Length(min=1, max=max_len), **kw)


def masked_phone() -> fields.Str:
    """A phone number in an answer: masked (138****1234) for the roles that do not work cases hands-on, so the
    input's pattern does not hold for it."""
    return fields.Str(allow_none=True, metadata={"description": "masked (138****1234) for most roles"})


# --- directory ---------------------------------------------------------------------------------
class CommunityIn(Schema):
    code = fields.Str(required=True, validate=SHORT_CODE)
    name = text(100)
    district = fields.Str(required=True, validate=SHORT_CODE)
    district_name = text(100, required=False, load_default=None)
    ref_prefix = fields.Str(load_default=None, validate=Pattern(r"^[A-Z]{2,4}$", error="must be 2-4 capital letters"))


class CommunityOut(Schema):
    code = fields.Str()
    name = fields.Str()
    district = fields.Str()
    ref_prefix = fields.Str()
    created_at = fields.AwareDateTime()


class GridIn(Schema):
    code = fields.Str(required=True, validate=CODE)
    name = text(100)
    leader_name = text(60, required=False, load_default=None)


class GridOut(GridIn):
    community = fields.Str()


class BuildingIn(Schema):
    code = fields.Str(required=True, validate=CODE)
    name = text(100)
    grid = fields.Str(required=True, validate=CODE)
    address = text(200, required=False, load_default=None)
    floors = fields.Int(load_default=None, validate=validate.Range(min=1, max=200))
    units = fields.Int(load_default=None, validate=validate.Range(min=1, max=50))


class BuildingOut(BuildingIn):
    community = fields.Str()


class HouseholdIn(Schema):
    code = fields.Str(required=True, validate=CODE)
    building = fields.Str(required=True, validate=CODE)
    unit = text(10, required=False, load_default=None)
    room = text(20)
    head_name = text(60, required=False, load_default=None)
    phone = fields.Str(load_default=None, validate=PHONE)
    size = fields.Int(load_default=None, validate=validate.Range(min=1, max=30))
    tags = fields.List(fields.Str(validate=validate.Length(max=40)), load_default=list)


class HouseholdOut(HouseholdIn):
    community = fields.Str()
    phone = masked_phone()
    # the room part masked like the room (maxian-b01-1-***) for the roles that see masked data
    code = fields.Str(metadata={"description": "the room part masked (maxian-b01-1-***) for most roles"})


class HouseholdBatch(Schema):
    items = fields.List(fields.Nested(HouseholdIn), required=True, validate=validate.Length(min=1, max=2000))


class ResidentUnitIn(Schema):
    code = fields.Str(required=True, validate=CODE)
    name = text(120)
    kind = text(40, required=False, load_default=None)
    party_org = text(120, required=False, load_default=None)
    contact_name = text(60, required=False, load_default=None)
    contact_phone = fields.Str(load_default=None, validate=PHONE)


class ResidentUnitOut(ResidentUnitIn):
    community = fields.Str()
    contact_phone = masked_phone()


# --- cases ---------------------------------------------------------------------------------------
class Reporter(Schema):
    name = text(60, required=False, load_default=None)
    phone = fields.Str(load_default=None, validate=PHONE)
    member = fields.Str(load_default=None, validate=Pattern(r"^[A-Za-z0-9_-]{1,32}$"))  # party member id


class ReporterOut(Reporter):
    phone = masked_phone()


class Location(Schema):
    address = text(200, required=False, load_default=None)
    building = fields.Str(load_default=None, validate=CODE)
    lat = fields.Float(load_default=None, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(load_default=None, validate=validate.Range(min=-180, max=180))


class CaseIn(Schema):
    community = fields.Str(required=True, validate=SHORT_CODE)
    channel = fields.Str(required=True, validate=one_of(CHANNELS))
    title = text(200)
    description = text(5000)
    category = fields.Str(load_default=None, validate=Pattern(r"^[a-z_]{2,40}$"))
    reporter = fields.Nested(Reporter, load_default=None)
    location = fields.Nested(Location, load_default=None)

    @pre_load
    def strip_text(self, data, **kwargs):
        if isinstance(data, dict):
            data = {
                k: (v.strip() if isinstance(v, str) and k in ("title", "description") else v) for k, v in data.items()
            }
        return data


class HandlerOut(Schema):
    id = fields.Str()
    kind = fields.Str()
    name = fields.Str()


class DuplicateOut(Schema):
    id = fields.Str()
    reference = fields.Str()
    title = fields.Str()
    score = fields.Float()


class TimelineOut(Schema):
    type = fields.Str()
    time = fields.AwareDateTime()
    actor = fields.Dict(allow_none=True)
    detail = fields.Dict()


class CaseOut(Schema):
    id = fields.Str()
    reference = fields.Str()
    community = fields.Str()
    channel = fields.Str()
    title = fields.Str()
    description = fields.Str()
    category = fields.Str(allow_none=True)
    status = fields.Str()
    handling_type = fields.Str(allow_none=True)
    deadline = fields.AwareDateTime(allow_none=True)
    handler = fields.Nested(HandlerOut, allow_none=True)
    bureau = fields.Str(allow_none=True)
    overdue = StrictBool()
    supervision_level = fields.Int()
    outcome = fields.Str(allow_none=True)
    satisfied = StrictBool(allow_none=True)
    reopen_count = fields.Int()
    merged_into = fields.Str(allow_none=True)
    reporter = fields.Nested(ReporterOut, allow_none=True)
    location = fields.Dict()
    possible_duplicates = fields.List(fields.Nested(DuplicateOut))
    registered_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    version = fields.Int()


class CaseDetailOut(CaseOut):
    timeline = fields.List(fields.Nested(TimelineOut))


class LedgerQuery(PeriodPage):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(load_default=None, validate=SHORT_CODE)
    status = fields.Str(load_default=None, validate=one_of(CASE_STATUSES))
    handling_type = fields.Str(load_default=None, validate=one_of(HANDLING_TYPES))
    channel = fields.Str(load_default=None, validate=one_of(CHANNELS))
    grid = fields.Str(load_default=None)
    handler = fields.Str(load_default=None)
    overdue = StrictBool(query=True, load_default=None)
    q = fields.Str(load_default=None, validate=validate.Length(min=1, max=100))


class PageQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Str(load_default=None, validate=validate.Length(max=200))


class FollowIn(Schema):
    community = fields.Str(required=True, validate=SHORT_CODE)
    reference = fields.Str(required=True, validate=Pattern(r"^[A-Z]{2,4}-\d{4}-\d{6}$"))


class MergeIn(Schema):
    into = fields.Str(required=True, validate=validate.Length(min=1, max=32))
    reason = text(500, required=False, load_default=None)


def page_of(schema: type[Schema]) -> type[Schema]:
    return Schema.from_dict(
        {"items": fields.List(fields.Nested(schema)), "next_cursor": fields.Str(allow_none=True)},
        name=f"{schema.__name__}Page",
    )

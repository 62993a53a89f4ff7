"""What goes in and out of the accounts service; the gateway validates requests with the same schemas."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from minqing.fields import Pattern, StrictBool
from minqing.vocabulary import ROLES, one_of

SHORT_CODE_PATTERN = r"^[a-z][a-z0-9_-]{1,39}$"
SHORT_CODE = Pattern(SHORT_CODE_PATTERN, error="must be at most 40 lower-case letters, digits, '-' or '_'")
COMMUNITY = Pattern(r"^(\*|[a-z][a-z0-9_-]{1,39})$", error="must be a community code, or '*' (district-wide)")
USERNAME = Pattern(r"^[a-z][a-z0-9._-]{2,59}$", error="must be 3 to 60 lower-case letters, digits, '.', '-' or '_'")
PHONE = Pattern(r"^\+?[0-9][0-9 -]{4,18}$", error="must be a phone number of digits (at most 20 characters)")
CODE = Pattern(r"^[0-9]{6}$", error="must be the six digits sent by SMS")
# the roles a person holds in the method; a resident signs in with a code and is never created by staff
STAFF_ACCOUNT_ROLES = tuple(r for r in ROLES if r != "resident")


def text(max_len: int, required: bool = True, **kw) -> fields.Str:
    return fields.Str(required=required, validate=validate.Length(min=1, max=max_len), **kw)


class Scope(Schema):
    sub = fields.Str(required=True)
    role = fields.Str(required=True, validate=one_of(ROLES))
    communities = fields.List(fields.Str(), required=True)
    bureau = fields.Str(load_default=None)


# --- sign-in --------------------------------------------------------------------------------------------
class LoginIn(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    password = fields.Str(required=True, validate=validate.Length(min=1, max=128), load_only=True)


class CodeIn(Schema):
    phone = fields.Str(required=True, validate=PHONE)


class CodeOut(Schema):
    expires_in = fields.Int(required=True)
    resend_after = fields.Int(required=True)


class VerifyIn(Schema):
    phone = fields.Str(required=True, validate=PHONE)
    code = fields.Str(required=True, validate=CODE)
    # the community a resident reports in; added to their account (optional: MINQING_RESIDENT_COMMUNITIES)
    community = fields.Str(load_default=None, validate=SHORT_CODE)


class RefreshIn(Schema):
    refresh_token = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class PasswordChangeIn(Schema):
    current_password = fields.Str(required=True, validate=validate.Length(min=1, max=128))
    new_password = fields.Str(required=True, validate=validate.Length(min=1, max=128))


class MeChange(Schema):
    sms_opt_out = StrictBool(required=True, metadata={"description": "true: no SMS about one's cases"})


class HouseholdRequest(Schema):
    community = fields.Str(required=True, validate=SHORT_CODE)


class HouseholdConfirm(Schema):
    household = fields.Str(required=True, validate=validate.Length(min=1, max=80))


class AccountOut(Schema):
    id = fields.Str(required=True)
    username = fields.Str(allow_none=True)
    display_name = fields.Str(required=True)
    role = fields.Str(required=True)
    communities = fields.List(fields.Str(), required=True)
    bureau = fields.Str(allow_none=True)
    phone = fields.Str(allow_none=True, metadata={"description": "masked: 138****1234"})
    roster_id = fields.Str(allow_none=True)
    member_id = fields.Str(allow_none=True)
    disabled = StrictBool()
    must_change_password = StrictBool()
    sms_opt_out = StrictBool()
    household = fields.Str(allow_none=True)
    household_community = fields.Str(allow_none=True)
    household_status = fields.Str(allow_none=True, metadata={"description": "pending (staff confirm) or confirmed"})
    household_candidates = fields.List(fields.Str())


class SessionOut(Schema):
    access_token = fields.Str(required=True)
    token_type = fields.Str(required=True)
    expires_in = fields.Int(required=True)
    refresh_token = fields.Str(required=True)
    refresh_expires_in = fields.Int(required=True)
    account = fields.Nested(AccountOut, required=True)


class DisableIn(Schema):
    class Meta:
        unknown = EXCLUDE


# --- administration ---------------------------------------------------------------------------------------
class AccountIn(Schema):
    username = fields.Str(required=True, validate=USERNAME)
    display_name = text(60)
    role = fields.Str(required=True, validate=one_of(STAFF_ACCOUNT_ROLES))
    communities = fields.List(fields.Str(validate=COMMUNITY), required=True, validate=validate.Length(max=100))
    bureau = fields.Str(load_default=None, validate=SHORT_CODE)
    phone = fields.Str(load_default=None, validate=PHONE)
    roster_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=120))
    member_id = fields.Str(load_default=None, validate=validate.Length(min=1, max=32))
    # none: one is generated and returned once, and must be changed at the first sign-in
    password = fields.Str(load_default=None, validate=validate.Length(min=1, max=128))

    @validates_schema
    def _claims(self, data, **kwargs):
        check_claims(data.get("role"), data.get("communities"), data.get("bureau"))


class AccountChange(Schema):
    display_name = text(60, required=False)
    role = fields.Str(validate=one_of(STAFF_ACCOUNT_ROLES))
    communities = fields.List(fields.Str(validate=COMMUNITY), validate=validate.Length(max=100))
    bureau = fields.Str(allow_none=True, validate=SHORT_CODE)
    phone = fields.Str(allow_none=True, validate=PHONE)
    roster_id = fields.Str(allow_none=True, validate=validate.Length(min=1, max=120))
    member_id = fields.Str(allow_none=True, validate=validate.Length(min=1, max=32))
    sms_opt_out = StrictBool()


class PasswordResetIn(Schema):
    password = fields.Str(load_default=None, validate=validate.Length(min=1, max=128))


class CreatedAccountOut(AccountOut):
    initial_password = fields.Str(metadata={"description": "shown once, when staff did not choose one"})


class AccountQuery(Schema):
    class Meta:
        unknown = EXCLUDE

    community = fields.Str(load_default=None, validate=SHORT_CODE)
    role = fields.Str(load_default=None, validate=one_of(ROLES))
    disabled = StrictBool(query=True, load_default=None)
    household_pending = StrictBool(query=True, load_default=None)
    q = fields.Str(load_default=None, validate=validate.Length(min=1, max=60))
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Str(load_default=None, validate=validate.Length(max=200))


class ImportIn(Schema):
    items = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=1000))


class AccountPage(Schema):
    items = fields.List(fields.Nested(AccountOut), required=True)
    next_cursor = fields.Str(allow_none=True, required=True)


def check_claims(role: str | None, communities: list | None, bureau: str | None) -> None:
    """What a token may claim (issue 12): only a district admin is district-wide; everyone else works for
    named communities, and a bureau handler for a bureau."""
    errors = {}
    if communities is not None:
        if "*" in communities and role != "district_admin":
            errors["communities"] = ["only a district admin may have '*' (every community)"]
        elif not communities and role not in (None, "resident"):
            errors["communities"] = ["name at least one community"]
    if role == "bureau_handler" and not bureau:
        errors["bureau"] = ["a bureau handler needs the bureau's code"]
    if bureau and role not in (None, "bureau_handler"):
        errors["bureau"] = ["only a bureau handler has a bureau"]
    if errors:
        raise ValidationError(errors)

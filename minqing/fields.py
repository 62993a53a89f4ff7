"""marshmallow pieces every boundary uses where the library's defaults let bad input through.

* `StrictBool`: marshmallow's Boolean tests membership in `truthy`/`falsy` sets, and since `1 == True` and
  `0 == False` in Python, even `truthy={True}` lets 1 and 0 in (a `satisfied: 0` became a dissatisfied
  rating). Only JSON `true`/`false` pass; a query string (always text) passes only `"true"`/`"false"`.
* `Pattern`: marshmallow's Regexp uses `re.match`, and `$` also matches before a final newline, so
  `^[a-z]+$` accepted `"maxian\\n"`. `Pattern` requires the whole value to match.
"""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema


class StrictBool(fields.Boolean):
    default_error_messages = {"invalid": "must be JSON true or false"}

    def __init__(self, *, query: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.query = query
        if query:
            self.error_messages = {**self.error_messages, "invalid": "must be true or false"}

    def _deserialize(self, value, attr, data, **kwargs) -> bool:
        if self.query and isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        if not self.query and isinstance(value, bool):  # `type(1) is int`, not bool: 0 and 1 stop here
            return value
        raise self.make_error("invalid", input=value)


class Pattern(validate.Regexp):
    """A Regexp that must match the whole value (`re.fullmatch`): no trailing newline slips past `$`."""

    def __call__(self, value):
        if not isinstance(value, str | bytes) or self.regex.fullmatch(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class PeriodPage(Schema):
    """A keyset page of a list filtered by a time range (`from`, `to`): the ledger, the audit trail."""

    class Meta:
        unknown = EXCLUDE

    from_ = fields.AwareDateTime(load_default=None, data_key="from")
    to = fields.AwareDateTime(load_default=None)
    limit = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = fields.Str(load_default=None, validate=validate.Length(max=200))

    @validates_schema
    def check_range(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] > data["to"]:
            raise ValidationError("must not be before 'from'", "to")

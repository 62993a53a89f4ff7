"""Every boolean at every boundary takes JSON true/false only (Python's 1 == True let `satisfied: 0` through as
a dissatisfied rating), and every code pattern matches the whole value (`$` let "maxian\\n" through)."""

import importlib
import inspect
from pathlib import Path

import pytest
from marshmallow import Schema, fields, validate

import services
from minqing.fields import Pattern, StrictBool

# every service's boundary (a new service's schemas are found too), the event schemas and the RPC envelope
SERVICES = Path(services.__file__).parent
MODULES = sorted(f"services.{p.parent.name}.schemas" for p in SERVICES.glob("*/schemas.py"))
MODULES += ["minqing.events", "minqing.rpc"]


def schema_classes():
    for name in MODULES:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Schema) and cls is not Schema and cls.__module__ == name:
                yield cls


def declared(kind):
    for cls in schema_classes():
        for name, field in cls._declared_fields.items():
            if isinstance(field, kind):
                yield cls, name, field


BOOLEANS = list(declared(fields.Boolean))
CODES = [
    (cls, name, v)
    for cls, name, field in declared(fields.String)
    for v in ([field.validate] if callable(field.validate) else field.validators or [])
    if isinstance(v, validate.Regexp)
]


def test_the_boundaries_have_booleans_and_patterns_to_check():
    assert {"services.intake.schemas", "services.points.schemas"} <= set(MODULES)
    assert len(BOOLEANS) >= 20 and len(CODES) >= 20


@pytest.mark.parametrize("cls,name,field", BOOLEANS, ids=[f"{c.__name__}.{n}" for c, n, _ in BOOLEANS])
def test_every_boolean_is_strict(cls, name, field):
    assert isinstance(field, StrictBool), f"{cls.__name__}.{name} is a plain marshmallow Boolean"
    schema = cls(partial=True)
    if field.query:  # a query string is text: exactly "true" or "false"
        assert schema.load({name: "true"})[name] is True and schema.load({name: "false"})[name] is False
        bad = [0, 1, "1", "0", "True", "yes", True]
    else:
        assert schema.load({name: True})[name] is True and schema.load({name: False})[name] is False
        bad = [0, 1, "true", "1", "false", 0.0, None if not field.allow_none else "null"]
    for value in bad:
        errors = schema.validate({name: value})
        assert name in errors, (cls.__name__, name, value)


@pytest.mark.parametrize("cls,name,validator", CODES, ids=[f"{c.__name__}.{n}" for c, n, _ in CODES])
def test_every_pattern_matches_the_whole_value(cls, name, validator):
    assert isinstance(validator, Pattern), f"{cls.__name__}.{name} uses re.match: '$' passes a final newline"


def test_a_trailing_newline_is_not_a_code():
    from services.intake.schemas import CODE, PHONE, SHORT_CODE, CommunityIn, LedgerQuery
    from services.points.schemas import ID, RULE_CODE

    for validator, good in [(SHORT_CODE, "maxian"), (CODE, "maxian-b21"), (PHONE, "13800001234")]:
        validator(good)
        with pytest.raises(Exception, match="must be"):
            validator(good + "\n")
    for validator, good in [(ID, "m-1"), (RULE_CODE, "night_patrol")]:
        validator(good)
        with pytest.raises(Exception):  # noqa: B017  (marshmallow's ValidationError; the message varies)
            validator(good + "\n")
    errors = CommunityIn().validate({"code": "maxian\n", "name": "马限", "district": "mawei\n", "ref_prefix": "MX\n"})
    assert {"code", "district", "ref_prefix"} <= set(errors)
    assert "community" in LedgerQuery().validate({"community": "maxian\n"})

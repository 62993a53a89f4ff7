from datetime import UTC, datetime

import pytest

from minqing import paging
from minqing.errors import InvalidInput
from services.intake.cases import format_reference
from services.intake.directory import default_prefix


def test_cursor_round_trip_and_garbage():
    cursor = paging.encode("2026-11-27T10:00:00+00:00", "abc")
    assert paging.decode(cursor, 2) == ["2026-11-27T10:00:00+00:00", "abc"]
    for bad in ("garbage!", paging.encode("only-one"), "W10"):
        with pytest.raises(InvalidInput):
            paging.decode(bad, 2)


def test_a_cursor_we_did_not_issue_is_invalid_input_whatever_it_holds():
    when = datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert paging.decode(paging.encode(when.isoformat(), "abc"), 2, (datetime.fromisoformat,)) == [when, "abc"]
    assert paging.decode(paging.encode(42), 1, (int,)) == [42]
    for bad, arity, kinds in (
        (paging.encode("yesterday", "abc"), 2, (datetime.fromisoformat,)),
        (paging.encode("x"), 1, (int,)),
        (paging.encode("2026-11-27T10:00:00+00:00", "a\x00b"), 2, ()),  # PostgreSQL refuses NUL in text
        (paging.encode("a\udc00"), 1, ()),  # a lone surrogate: no UTF-8 for it
    ):
        with pytest.raises(InvalidInput):
            paging.decode(bad, arity, kinds)


def test_reference_format():
    assert format_reference("MX", 2026, 1) == "MX-2026-000001"
    assert format_reference("MX", 2026, 123456) == "MX-2026-123456"
    assert default_prefix("maxian") == "MA" and default_prefix("x") == "XX"

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


def test_reference_format():
    assert format_reference("MX", 2026, 1) == "MX-2026-000001"
    assert format_reference("MX", 2026, 123456) == "MX-2026-123456"
    assert default_prefix("maxian") == "MA" and default_prefix("x") == "XX"

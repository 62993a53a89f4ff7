"""The RPC boundary: a database that is down becomes a 503 the client may retry, not a 500."""

import pytest
from sqlalchemy.exc import OperationalError

from minqing.errors import Conflict, Unavailable
from minqing.rpc import boundary


@boundary("test")
def failing(exc):
    raise exc


def test_a_lost_database_connection_is_unavailable_and_retryable():
    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))
    with pytest.raises(Unavailable) as caught:
        failing(lost)
    assert caught.value.status == 503 and "retry" in caught.value.detail


def test_rule_errors_and_bugs_pass_through_unchanged():
    with pytest.raises(Conflict):
        failing(Conflict("taken"))
    with pytest.raises(KeyError):
        failing(KeyError("bug"))

from datetime import UTC, datetime

import pytest
from marshmallow import ValidationError

from minqing.events import EVENT_SCHEMAS, load_envelope, make_envelope

LEDGER_EVENTS = (
    "case.classified",
    "case.assigned",
    "case.resolved",
    "case.escalated",
    "case.overdue",
    "reply.sent",
    "case.rated",
    "case.closed",
    "case.reopened",
)


def test_every_ledger_event_has_a_schema():
    assert set(LEDGER_EVENTS) <= set(EVENT_SCHEMAS)


def test_envelope_round_trip():
    deadline = datetime(2026, 12, 1, 9, tzinfo=UTC)
    env = make_envelope(
        "case.classified",
        source="routing",
        community="maxian",
        subject="c1",
        version=2,
        data={"handling_type": "committed", "deadline": deadline},
    )
    assert set(env) == {"id", "type", "source", "time", "community", "subject", "version", "data", "correlation_id"}
    loaded = load_envelope(env)
    assert loaded["data"]["deadline"] == deadline and loaded["time"].tzinfo is not None


@pytest.mark.parametrize(
    "type_,data",
    [
        ("case.classified", {"handling_type": "urgent"}),
        ("case.assigned", {}),
        ("reply.sent", {"reply_id": "r", "method": "carrier_pigeon", "content": "x"}),
        ("case.rated", {"satisfied": True, "score": 9}),
        ("hot_issue.updated", {"category": "parking", "count": 6, "window_days": 30}),  # no membership
        ("case.unknown", {}),
    ],
)
def test_producers_cannot_emit_what_consumers_reject(type_, data):
    with pytest.raises(ValidationError):
        make_envelope(type_, source="routing", community="maxian", subject="c1", version=2, data=data)


def test_consumer_rejects_broken_envelopes():
    env = make_envelope(
        "case.closed", source="feedback", community="m", subject="c", version=3, data={"reason": "rated"}
    )
    for broken in (
        {**env, "version": 0},
        {k: v for k, v in env.items() if k != "id"},
        {**env, "data": {"reason": "x"}},
    ):
        with pytest.raises(ValidationError):
            load_envelope(broken)

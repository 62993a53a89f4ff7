"""Messages to reporters at fixed instants, on SQLite: one per case, event and phone; retries; a crash mid-send."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from minqing.events import load_envelope, make_envelope
from minqing.outbox import OUTBOX
from services.accounts import messages
from services.accounts.models import Message, metadata

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
URL = "https://mq.example"


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with Session(engine) as s:
        yield s


def registered(phone="13800001234", at=T0):
    body = make_envelope(
        "case.registered",
        source="intake",
        community="maxian",
        subject="case-1",
        version=1,
        time=at,
        data={
            "reference": "MX-2026-000001",
            "channel": "hotline",
            "title": "电梯",
            "registered_at": at,
            "reporter_phone": phone,
        },
    )
    return load_envelope(body)


def replied(at):
    body = make_envelope(
        "reply.sent",
        source="feedback",
        community="maxian",
        subject="case-1",
        version=9,
        time=at,
        data={"reply_id": "r1", "method": "online", "content": "已修好"},
    )
    return load_envelope(body)


def test_one_message_per_case_event_and_phone(session):
    event = registered()
    first = messages.on_event(session, event, URL, T0)
    again = messages.on_event(session, event, URL, T0)
    assert first is again and session.scalar(select(Message.id).where(Message.id != first.id)) is None
    assert (first.phone, first.template, first.params) == (
        "+8613800001234",
        "case_registered",
        {"reference": "MX-2026-000001"},
    )
    reply = messages.on_event(session, replied(T0 + timedelta(hours=1)), URL, T0 + timedelta(hours=1))
    assert reply.params["link"] == "https://mq.example/cases/case-1/rate"


def test_an_event_about_an_unknown_case_waits_only_while_young(session):
    with pytest.raises(messages.CaseNotYetKnown):
        messages.on_event(session, replied(T0), URL, T0 + timedelta(seconds=5))
    assert messages.on_event(session, replied(T0), URL, T0 + timedelta(minutes=2)) is None


def test_a_case_without_a_phone_gets_no_message(session):
    assert messages.on_event(session, registered(phone=None), URL, T0) is None
    assert messages.on_event(session, replied(T0), URL, T0) is None


def test_failures_back_off_then_give_up_and_a_crash_mid_send_is_retried(session):
    message = messages.on_event(session, registered(), URL, T0)
    now = T0
    for delay in messages.RETRY_DELAYS:
        (claimed,) = messages.claim_due(session, now)
        assert messages.claim_due(session, now) == []  # `sending`: not claimed twice
        messages.mark_failed(session, claimed["id"], "timeout", now)
        assert message.status == "pending" and message.next_attempt_at == now + timedelta(seconds=delay)
        assert messages.claim_due(session, now + timedelta(seconds=delay - 1)) == []
        now += timedelta(seconds=delay)
    messages.claim_due(session, now)
    messages.mark_failed(session, message.id, "timeout", now)
    assert message.status == "failed" and message.attempts == len(messages.RETRY_DELAYS) + 1

    other = messages.on_event(session, replied(T0), URL, T0)
    messages.claim_due(session, T0)  # ... and the process dies before marking it
    assert messages.claim_due(session, T0 + messages.STUCK - timedelta(seconds=1)) == []
    (again,) = messages.claim_due(session, T0 + messages.STUCK)
    assert again["id"] == other.id
    messages.mark_sent(session, other.id, "reply.sent", T0 + messages.STUCK)
    assert other.status == "sent"
    (event,) = session.execute(select(OUTBOX.c.type, OUTBOX.c.body)).all()
    assert event.type == "notification.sent" and "138****1234" in event.body and "13800001234" not in event.body

"""Telling residents about their cases: events in, one SMS row each (the delivery table), sent after commit.

An event's message is written in the same transaction as the inbox claim of that event, and is unique per
case, event and phone; a sender claims due rows, sends outside any transaction, and marks each sent together
with the `notification.sent` event intake's timeline shows. A crash between sending and marking leaves the row
`sending`: it is sent again after `STUCK` (at least once; the provider's out-id is the row's id, so a duplicate
can be told apart), never lost.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from minqing.db import is_postgres
from minqing.events import make_envelope
from minqing.outbox import add_event
from services.accounts import phones, templates
from services.accounts.models import Account, CaseContact, Message

SOURCE = "accounts"
RETRY_DELAYS = (5, 30, 120, 600, 1800, 3600)  # seconds; then the message is `failed`
STUCK = timedelta(minutes=5)  # a row `sending` this long was cut off by a crash: send it again
YOUNG = timedelta(seconds=60)  # an event about a case not known yet waits (retried) only while this young


class CaseNotYetKnown(Exception):
    """An event about a case whose registration has not arrived yet (they travel on different queues)."""


def remember(session: Session, envelope: dict) -> None:
    """Keep the reporter's phone of a registered case (or that it has none)."""
    data = envelope["data"]
    if session.get(CaseContact, envelope["subject"]) is None:
        session.add(
            CaseContact(
                case_id=envelope["subject"],
                community=envelope["community"],
                reference=data["reference"],
                phone=phones.normalise(data["reporter_phone"]) if data.get("reporter_phone") else None,
            )
        )
        session.flush()


def params_for(envelope: dict, contact: CaseContact, public_url: str) -> dict:
    data, params = envelope["data"], {"reference": contact.reference}
    kind = envelope["type"]
    if kind == "case.assigned":
        params["handler"] = templates.short((data.get("handler") or {}).get("name") or "社区工作人员")
    elif kind == "case.resolved":
        params["summary"] = templates.short(data.get("summary"))
    elif kind == "reply.sent":
        params["link"] = f"{public_url}/cases/{contact.case_id}/rate"
    return params


def on_event(session: Session, envelope: dict, public_url: str, now: datetime) -> Message | None:
    """The message an event asks for, written to the delivery table; None when there is nobody to tell."""
    template = templates.EVENT_TEMPLATES.get(envelope["type"])
    if template is None:
        return None
    if envelope["type"] == "case.registered":
        remember(session, envelope)
    contact = session.get(CaseContact, envelope["subject"])
    if contact is None:
        if now - envelope["time"] < YOUNG:
            raise CaseNotYetKnown(envelope["subject"])
        return None  # a case registered before accounts listened (the demo's history): no phone to text
    if contact.phone is None:
        return None
    params = params_for(envelope, contact, public_url)
    opted_out = session.scalar(select(Account.sms_opt_out).where(Account.phone == contact.phone))
    existing = session.scalars(
        select(Message).where(
            Message.case_id == contact.case_id, Message.event_id == envelope["id"], Message.phone == contact.phone
        )
    ).first()
    if existing is not None:
        return existing
    message = Message(
        id=uuid.uuid4().hex,
        case_id=contact.case_id,
        event_id=envelope["id"],
        community=contact.community,
        phone=contact.phone,
        template=template,
        params=params,
        text=templates.render(template, params),
        status="skipped" if opted_out else "pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def claim_due(session: Session, now: datetime, limit: int = 50) -> list[dict]:
    """Mark due messages `sending` and return what to send; several copies share the work (SKIP LOCKED)."""
    stmt = (
        select(Message)
        .where(
            or_(
                (Message.status == "pending") & (Message.next_attempt_at <= now),
                (Message.status == "sending") & (Message.next_attempt_at <= now - STUCK),
            )
        )
        .order_by(Message.next_attempt_at)
        .limit(limit)
    )
    if is_postgres(session.get_bind()):
        stmt = stmt.with_for_update(skip_locked=True)
    claimed = []
    for message in session.scalars(stmt):
        message.status, message.attempts, message.next_attempt_at = "sending", message.attempts + 1, now
        claimed.append(
            {
                "id": message.id,
                "to": message.phone,
                "template": message.template,
                "params": dict(message.params),
                "text": message.text,
                "case_id": message.case_id,
                "event_id": message.event_id,
            }
        )
    return claimed


def mark_sent(session: Session, message_id: str, about: str | None, now: datetime) -> None:
    message = session.get(Message, message_id, with_for_update=True)
    if message is None or message.status != "sending":
        return  # another copy finished it after this one was presumed stuck
    message.status, message.sent_at, message.last_error = "sent", now, None
    if message.case_id:
        add_event(
            session,
            make_envelope(
                "notification.sent",
                source=SOURCE,
                community=message.community or "",
                subject=message.case_id,
                version=1,
                time=now,
                data={
                    "message_id": message.id,
                    "template": message.template,
                    "to": phones.masked(message.phone),
                    "text": message.text,
                    "about": about,
                },
            ),
        )


def mark_failed(session: Session, message_id: str, error: str, now: datetime) -> None:
    message = session.get(Message, message_id, with_for_update=True)
    if message is None or message.status != "sending":
        return
    message.last_error = error[:500]
    if message.attempts > len(RETRY_DELAYS):
        message.status = "failed"
        return
    message.status = "pending"
    message.next_attempt_at = now + timedelta(seconds=RETRY_DELAYS[message.attempts - 1])


ABOUT = {template: event for event, template in templates.EVENT_TEMPLATES.items()}

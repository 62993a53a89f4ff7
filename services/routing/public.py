"""What other bureaus see: CloudEvents 1.0 on the durable topic exchange `minqing.public`, and signed
Standard Webhooks for bureaus that cannot use AMQP. Documented for them in docs/public-events.md."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta

import requests
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from kombu import Connection, Exchange
from sqlalchemy import select
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from minqing.db import is_postgres
from services.routing.models import Bureau, RoutedCase, WebhookDelivery

log = logging.getLogger(__name__)
PUBLIC_EXCHANGE = Exchange("minqing.public", type="topic", durable=True)
PUBLIC_TYPES = ("case.escalated", "case.bureau_accepted", "case.bureau_returned", "case.resolved")
BACKOFF_SECONDS = (5, 30, 120, 600, 1800, 3600)  # then the delivery is marked failed


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def routing_key(type_: str, community: str, bureau: str | None) -> str:
    # transfers carry the bureau so each bureau binds only its own: case.escalated.<community>.<bureau>
    return f"{type_}.{community}.{bureau}" if type_ == "case.escalated" and bureau else f"{type_}.{community}"


def cloudevent(envelope: dict, case: RoutedCase, bureau: str | None) -> bytes:
    # status and deadline as of this event (its state snapshot), not as the case stands when published
    state = envelope["data"].get("state") or {}
    own = {k: v for k, v in envelope["data"].items() if k not in ("actor", "state", "deadline") and v is not None}
    data = {
        "case_id": case.id,
        "reference": case.reference,
        "community": case.community,
        "title": case.title,
        "category": case.category,
        "bureau": bureau,
        "status": state.get("status", case.status),
        "deadline": state.get("deadline"),
        "version": envelope["version"],
        **own,
    }
    event = CloudEvent(
        {
            "id": envelope["id"],
            "source": f"/minqing/{envelope['community']}/routing",
            "type": f"cn.minqing.{envelope['type']}",
            "subject": case.id,
            "time": envelope["time"],
            "datacontenttype": "application/json",
            "specversion": "1.0",
        },
        json.loads(json.dumps(data, ensure_ascii=False, default=lambda value: value.isoformat())),
    )
    return JSONFormat().write(event)


def is_public(envelope: dict, case: RoutedCase) -> bool:
    return envelope["type"] in PUBLIC_TYPES and bool(envelope["data"].get("bureau") or case.bureau)


def publish(amqp_uri: str, body: bytes, key: str) -> bool:
    """Publish with confirms and `mandatory`; False when no bureau queue is bound for the key."""
    returned = []
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer(on_return=lambda exc, *rest: returned.append(exc))
        producer.publish(
            body,
            exchange=PUBLIC_EXCHANGE,
            routing_key=key,
            content_type="application/cloudevents+json",
            content_encoding="utf-8",
            delivery_mode=2,
            mandatory=True,
            declare=[PUBLIC_EXCHANGE],
            retry=True,
        )
    return not returned


def schedule_webhook(session: Session, bureau_code: str, envelope: dict, body: bytes, now: datetime) -> None:
    bureau = session.get(Bureau, bureau_code)
    if bureau is None or not bureau.webhook_url:
        return
    session.add(
        WebhookDelivery(
            bureau=bureau.code,
            event_id=envelope["id"],
            event_type=envelope["type"],
            payload=body.decode(),
            status="pending",
            attempts=[],
            next_attempt_at=now,
            created_at=now,
        )
    )


def deliver_due(session: Session, now: datetime, batch: int = 20, timeout: float = 5.0) -> int:
    """Attempt every delivery that is due; each attempt is recorded with its outcome."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(batch)
    )
    if is_postgres(session.get_bind()):
        query = query.with_for_update(skip_locked=True)
    done = 0
    for delivery in session.scalars(query):
        bureau = session.get(Bureau, delivery.bureau)
        attempt = {"at": now.isoformat(), "url": bureau.webhook_url}
        try:
            signer = Webhook(bureau.webhook_secret)
            msg_id = f"msg_{delivery.event_id}"
            # the real clock, not the business one (minqing/clock.py): the receiver checks the signed timestamp
            # against its own real time to refuse replays, so it is security time even when a test or demo
            # runs the business at another instant
            signed_at = datetime.now(UTC)
            headers = {
                "content-type": "application/cloudevents+json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(signed_at.timestamp())),
                "webhook-signature": signer.sign(msg_id, signed_at, delivery.payload),
            }
            response = requests.post(
                bureau.webhook_url, data=delivery.payload.encode(), headers=headers, timeout=timeout
            )
            attempt["status"] = response.status_code
            ok = 200 <= response.status_code < 300
        except Exception as exc:  # any failure is recorded and retried, never lost
            attempt["error"] = f"{exc.__class__.__name__}: {exc}"[:300]
            ok = False
        delivery.attempts = [*delivery.attempts, attempt]
        if ok:
            delivery.status, delivery.next_attempt_at = "delivered", None
        elif len(delivery.attempts) > len(BACKOFF_SECONDS):
            delivery.status, delivery.next_attempt_at = "failed", None
        else:
            delivery.next_attempt_at = now + timedelta(seconds=BACKOFF_SECONDS[len(delivery.attempts) - 1])
        log.info("webhook %s to %s: %s", delivery.event_type, delivery.bureau, attempt)
        done += 1
    return done

"""What other bureaus see: CloudEvents 1.0 on the durable topic exchange `minqing.public`, and signed
Standard Webhooks for bureaus that cannot use AMQP. Documented for them in docs/public-events.md."""

from __future__ import annotations

import base64
import json
import logging
import secrets
from datetime import UTC, datetime, timedelta

import eventlet
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


LEASE = timedelta(seconds=60)  # above the request timeout: a copy that dies mid-attempt leaves it for this long


def claim_due(session: Session, now: datetime, batch: int = 20, lease: timedelta = LEASE) -> list[dict]:
    """Claim the deliveries that are due: each one's `next_attempt_at` moves to `now + lease`, so no other
    copy takes it meanwhile, and a copy that dies leaves it to be tried again when the lease runs out.
    Returns what sending needs, so the attempts run with no transaction open."""
    query = (
        select(WebhookDelivery, Bureau)
        .join(Bureau, Bureau.code == WebhookDelivery.bureau)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(batch)
    )
    if is_postgres(session.get_bind()):
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    claimed = []
    for delivery, bureau in session.execute(query).all():
        delivery.next_attempt_at = now + lease
        claimed.append(
            {
                "id": delivery.id,
                "lease": delivery.next_attempt_at,
                "event_id": delivery.event_id,
                "event_type": delivery.event_type,
                "bureau": bureau.code,
                "url": bureau.webhook_url,
                "secret": bureau.webhook_secret,
                "payload": delivery.payload,
            }
        )
    return claimed


def attempt(claim: dict, now: datetime, timeout: float = 5.0) -> tuple[dict, bool]:
    """One signed POST; (what happened, whether it counts as delivered). Redirects are not followed: the
    bureau registered one URL, and a 3xx is an answer like any other non-2xx (recorded, retried)."""
    result = {"at": now.isoformat(), "url": claim["url"]}
    try:
        msg_id = f"msg_{claim['event_id']}"
        # the real clock, not the business one (minqing/clock.py): the receiver checks the signed timestamp
        # against its own real time to refuse replays, so it is security time even when a test or demo runs
        # the business at another instant
        signed_at = datetime.now(UTC)
        headers = {
            "content-type": "application/cloudevents+json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": Webhook(claim["secret"]).sign(msg_id, signed_at, claim["payload"]),
        }
        response = requests.post(
            claim["url"], data=claim["payload"].encode(), headers=headers, timeout=timeout, allow_redirects=False
        )
        result["status"] = response.status_code
        return result, 200 <= response.status_code < 300
    except Exception as exc:  # any failure is recorded and retried, never lost
        result["error"] = f"{exc.__class__.__name__}: {exc}"[:300]
        return result, False


def record(session: Session, claim: dict, result: dict, ok: bool) -> None:
    """Keep the attempt; move the delivery on only if it is still under this claim (a copy that found the
    lease run out may have taken it since: its own record decides then)."""
    delivery = session.get(WebhookDelivery, claim["id"], with_for_update=True)
    delivery.attempts = [*delivery.attempts, result]
    if delivery.status != "pending" or delivery.next_attempt_at != claim["lease"]:
        return
    if ok:
        delivery.status, delivery.next_attempt_at = "delivered", None
    elif len(delivery.attempts) > len(BACKOFF_SECONDS):
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        at = datetime.fromisoformat(result["at"])
        delivery.next_attempt_at = at + timedelta(seconds=BACKOFF_SECONDS[len(delivery.attempts) - 1])


def deliver_due(transaction, now, batch: int = 20, timeout: float = 5.0) -> int:
    """Claim in one short transaction, POST in parallel with none open, record in another.

    `transaction` is a UnitOfWork's `transaction`; `now()` the clock (read again for each attempt)."""
    with transaction() as session:
        claims = claim_due(session, now(), batch)
    if not claims:
        return 0
    pool = eventlet.GreenPool(len(claims))
    results = list(pool.imap(lambda claim: attempt(claim, now(), timeout), claims))
    with transaction() as session:
        for claim, (result, ok) in zip(claims, results, strict=True):
            record(session, claim, result, ok)
            log.info("webhook %s to %s: %s", claim["event_type"], claim["bureau"], result)
    return len(claims)

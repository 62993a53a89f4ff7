"""List and replay dead-lettered event messages (`minqing dlq list|replay`)."""

from __future__ import annotations

import json

from kombu import Connection

from minqing.handlers import ATTEMPT_HEADER, DEFAULT_EXCHANGE, dead_letter_queue


def _peek(body: bytes) -> dict:
    try:
        envelope = json.loads(body)
        return {k: envelope.get(k) for k in ("id", "type", "subject", "community", "time")}
    except (ValueError, AttributeError):
        return {"raw": body[:200].decode("utf-8", "replace")}


def list_dead_letters(amqp_uri: str, queues: list[str], limit: int = 100) -> dict[str, list[dict]]:
    """Reads without consuming: messages are fetched unacked and all return to the queue on close."""
    result = {}
    with Connection(amqp_uri) as conn:
        for queue in queues:
            channel = conn.channel()
            try:
                dead_letter_queue(queue)(channel).declare()
                items = []
                while len(items) < limit:
                    message = channel.basic_get(dead_letter_queue(queue).name, no_ack=False)
                    if message is None:
                        break
                    headers = message.headers or {}
                    items.append(
                        {
                            **_peek(message.body),
                            "attempts": headers.get(ATTEMPT_HEADER),
                            "error": headers.get("x-minqing-error"),
                        }
                    )
                result[queue] = items
            finally:
                channel.close()  # unacked messages go back to the queue, in order
    return result


def replay(amqp_uri: str, queue: str, limit: int | None = None) -> int:
    """Move dead letters back to their handler's queue with a fresh retry budget. Returns how many."""
    moved = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        dlq = dead_letter_queue(queue)(channel)
        dlq.declare()
        producer = conn.Producer(channel=channel)
        while limit is None or moved < limit:
            message = channel.basic_get(dlq.name, no_ack=False)
            if message is None:
                break
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-minqing-")}
            producer.publish(
                message.body,
                exchange=DEFAULT_EXCHANGE,
                routing_key=queue,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
                headers=headers,
                delivery_mode=2,
            )
            channel.basic_ack(message.delivery_tag)  # only after the broker confirmed the republish
            moved += 1
        channel.close()
    return moved

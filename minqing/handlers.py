"""Event handlers that retry with back-off and then park the message in a dead-letter queue.

nameko 2.14's EventHandler acks and drops a message whose handler raised (requeue_on_error=False), or
loops it forever (True). Here a failure republishes the message, with publisher confirms, to a delay
queue `<queue>.retry.<n>` whose TTL dead-letters it back to the handler's queue; after the last delay it
goes to `<queue>.dlq`. Only after that publish is confirmed is the original acked, so a crash anywhere
in between redelivers instead of losing. `minqing dlq list|replay` works on the `.dlq` queues.
"""

from __future__ import annotations

import logging
import traceback

from kombu import Connection, Exchange, Queue
from nameko.events import EventHandler

from minqing import metrics

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-minqing-attempt"
DEFAULT_EXCHANGE = Exchange("", type="direct")


def dlq_name(queue_name: str) -> str:
    return f"{queue_name}.dlq"


def retry_queue(queue_name: str, level: int, delay_seconds: float) -> Queue:
    return Queue(
        f"{queue_name}.retry.{level}",
        exchange=DEFAULT_EXCHANGE,
        routing_key=f"{queue_name}.retry.{level}",
        durable=True,
        queue_arguments={
            "x-message-ttl": int(delay_seconds * 1000),
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue_name,
        },
    )


def dead_letter_queue(queue_name: str) -> Queue:
    return Queue(dlq_name(queue_name), exchange=DEFAULT_EXCHANGE, routing_key=dlq_name(queue_name), durable=True)


def republish(connection: Connection, message, queue: Queue, headers: dict) -> None:
    """Publish `message` unchanged (body, content type, headers + `headers`) to `queue`, confirmed."""
    producer = connection.Producer()
    producer.publish(
        message.body,
        exchange=DEFAULT_EXCHANGE,
        routing_key=queue.name,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        headers={**(message.headers or {}), **headers},
        delivery_mode=2,
        declare=[queue],
        retry=True,
        retry_policy={"max_retries": 5, "interval_start": 0.2, "interval_step": 0.5},
    )


class ReliableEventHandler(EventHandler):
    def setup(self):
        super().setup()
        self.delays = list(self.container.config.get("EVENT_RETRY_DELAYS", [0.5, 5, 30]))
        self.amqp_uri = self.container.config["AMQP_URI"]

    def start(self):
        # declare the DLQ up front so operators can list it before anything has failed
        with self._connection() as conn:
            dead_letter_queue(self.queue.name)(conn.default_channel).declare()
        super().start()

    def _connection(self) -> Connection:
        return Connection(self.amqp_uri, transport_options={"confirm_publish": True})

    def handle_message_processed(self, message, result=None, exc_info=None):
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            return
        attempt = int((message.headers or {}).get(ATTEMPT_HEADER, 0)) + 1
        error = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()[:2000]
        try:
            with self._connection() as conn:
                if attempt <= len(self.delays):
                    target = retry_queue(self.queue.name, attempt, self.delays[attempt - 1])
                    metrics.HANDLER_RETRIES.labels(self.queue.name).inc()
                else:
                    target = dead_letter_queue(self.queue.name)
                    metrics.DEAD_LETTERS.labels(self.queue.name).inc()
                republish(
                    conn,
                    message,
                    target,
                    {ATTEMPT_HEADER: attempt, "x-minqing-error": error, "x-minqing-queue": self.queue.name},
                )
            log.warning("event handler failed (attempt %s), sent to %s: %s", attempt, target.name, error)
        except Exception:
            # could not park it: give it back to the broker rather than lose it
            log.exception("could not republish failed message; requeueing")
            self.queue_consumer.requeue_message(message)
            return
        self.queue_consumer.ack_message(message)


event_handler = ReliableEventHandler.decorator

"""Keep a service alive when the broker goes away in the middle of an ack or an RPC reply.

nameko 2.14's QueueConsumer (under every RPC entrypoint, event handler and RPC reply listener) guards its
ack and requeue against amqp's own ConnectionError, but a broker that restarts mid-ack surfaces as the
socket's ConnectionResetError or BrokenPipeError. That escapes into the worker thread and nameko then kills
the whole container (seen in tests/faults under `rabbitmqctl stop_app`). Nothing is lost by ignoring it: an
unacknowledged message is redelivered once the consumer reconnects, and every handler is idempotent (the
inbox, idempotency keys).

An RPC reply is published after the handler has run; when the broker refuses it (kombu's OperationalError,
ECONNREFUSED while RabbitMQ restarts) nameko lets the error out of the worker and kills the container, which
took intake down in `make test-faults`. The reply cannot be delivered anyway (the caller's reply queue goes with
the broker): we log it, count it, and ack the request so its effect is not run twice; the caller times out and
retries (with its Idempotency-Key), and the consumer reconnects by itself. Events are not published by nameko
here but by the outbox relay, which already retries a refused publish, and a failed handler's republish to its
retry queue falls back to a requeue (minqing.handlers).

Imported for its effect by minqing.service and the gateway.
"""

from __future__ import annotations

import functools
import logging

from amqp.exceptions import AMQPError
from kombu.exceptions import KombuError
from nameko.messaging import QueueConsumer
from nameko.rpc import RpcConsumer

from minqing import metrics

log = logging.getLogger(__name__)


def _tolerant(method):
    if getattr(method, "minqing_tolerant", False):
        return method

    @functools.wraps(method)
    def wrapper(self, message):
        try:
            return method(self, message)
        except OSError as exc:
            log.warning("broker connection lost in %s (%s); the broker redelivers the message", method.__name__, exc)

    wrapper.minqing_tolerant = True
    return wrapper


QueueConsumer.ack_message = _tolerant(QueueConsumer.ack_message)
QueueConsumer.requeue_message = _tolerant(QueueConsumer.requeue_message)


def _reply_tolerant(method):
    if getattr(method, "minqing_tolerant", False):
        return method

    @functools.wraps(method)
    def wrapper(self, message, result, exc_info):
        try:
            return method(self, message, result, exc_info)
        except (KombuError, AMQPError, OSError) as exc:
            service = self.container.service_name
            log.warning("%s: could not send an RPC reply (%s); the caller times out and retries", service, exc)
            metrics.RPC_REPLIES_LOST.labels(service).inc()
            self.queue_consumer.ack_message(message)
            return result, exc_info

    wrapper.minqing_tolerant = True
    return wrapper


RpcConsumer.handle_result = _reply_tolerant(RpcConsumer.handle_result)

"""Keep a service alive when the broker goes away in the middle of an ack.

nameko 2.14's QueueConsumer (under every RPC entrypoint, event handler and RPC reply listener) guards its
ack and requeue against amqp's own ConnectionError, but a broker that restarts mid-ack surfaces as the
socket's ConnectionResetError or BrokenPipeError. That escapes into the worker thread and nameko then kills
the whole container (seen in tests/faults under `rabbitmqctl stop_app`). Nothing is lost by ignoring it: an
unacknowledged message is redelivered once the consumer reconnects, and every handler is idempotent (the
inbox, idempotency keys). Imported for its effect by minqing.service and the gateway.
"""

from __future__ import annotations

import functools
import logging

from kombu.exceptions import OperationalError
from nameko.messaging import QueueConsumer
from nameko.rpc import Responder

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


def _tolerant_reply(send_response):
    """An RPC's reply that cannot be published (the broker stopped while the call ran) would kill the whole
    container the same way (seen in tests/faults: routing died under `rabbitmqctl stop_app`). The caller
    gets no reply and times out (a 503 asking to retry with the same Idempotency-Key); the request,
    unacknowledged, is redelivered."""
    if getattr(send_response, "minqing_tolerant", False):
        return send_response

    @functools.wraps(send_response)
    def wrapper(self, result, exc_info):
        try:
            return send_response(self, result, exc_info)
        except (OSError, OperationalError) as exc:
            log.warning("broker connection lost sending an RPC reply (%s); the caller will time out", exc)
            return result, exc_info

    wrapper.minqing_tolerant = True
    return wrapper


Responder.send_response = _tolerant_reply(Responder.send_response)

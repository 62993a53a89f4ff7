"""Every service class of the platform and every event queue they consume.

nameko publishes events with `mandatory=False`: an event published before its consumer's queue exists
is dropped silently. So each publishing service declares the whole platform's event queues when it
starts (declaring is idempotent), and no event can be published to an exchange nobody is bound to yet.
"""

from __future__ import annotations

import importlib

from kombu import Connection, Queue
from nameko.standalone.events import get_event_exchange

SERVICE_CLASSES = {
    "intake": "services.intake.service:IntakeService",
    "routing": "services.routing.service:RoutingService",
    "feedback": "services.feedback.service:FeedbackService",
    "points": "services.points.service:PointsService",
    "accounts": "services.accounts.service:AccountsService",
    "gateway": "gateway.service:GatewayService",
}


def service_class(name: str):
    module, attr = SERVICE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), attr)


def event_handlers(service_cls) -> list[tuple[str, str, str]]:
    """(queue name, source service, event type) of each reliable event handler, named as nameko names them."""
    from minqing.handlers import ReliableEventHandler

    found = []
    for attr in dir(service_cls):
        for entrypoint in getattr(getattr(service_cls, attr), "nameko_entrypoints", ()):
            if isinstance(entrypoint, ReliableEventHandler):
                name = f"evt-{entrypoint.source_service}-{entrypoint.event_type}--{service_cls.name}.{attr}"
                found.append((name, entrypoint.source_service, entrypoint.event_type))
    return sorted(found)


def all_event_handlers() -> list[tuple[str, str, str]]:
    return [handler for name in SERVICE_CLASSES for handler in event_handlers(service_class(name))]


def handler_queues(service_cls) -> list[str]:
    return [name for name, _, _ in event_handlers(service_cls)]


def declare_all(amqp_uri: str) -> int:
    from minqing.handlers import dead_letter_queue

    handlers = all_event_handlers()
    with Connection(amqp_uri) as conn:
        channel = conn.default_channel
        for name, source, event_type in handlers:
            exchange = get_event_exchange(source, {})
            Queue(name, exchange=exchange, routing_key=event_type, durable=True, auto_delete=False)(channel).declare()
            dead_letter_queue(name)(channel).declare()
    return len(handlers)

"""Prometheus metrics shared by every service process (one registry per process)."""

from __future__ import annotations

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from werkzeug.wrappers import Response

RPC_CALLS = Counter("minqing_rpc_calls_total", "RPC calls handled", ["service", "method", "outcome"])
RPC_LATENCY = Histogram(
    "minqing_rpc_latency_seconds",
    "RPC handling time",
    ["service", "method"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
EVENTS_OUT = Counter("minqing_events_published_total", "events published by the outbox relay", ["service", "type"])
EVENTS_IN = Counter("minqing_events_consumed_total", "events consumed", ["service", "type", "outcome"])
OUTBOX_PENDING = Gauge("minqing_outbox_pending", "outbox rows not yet published", ["service"])
OUTBOX_LAG = Gauge("minqing_outbox_lag_seconds", "age of the oldest unpublished outbox row", ["service"])
DEAD_LETTERS = Counter("minqing_dead_letters_total", "event messages parked in a dead-letter queue", ["queue"])
HANDLER_RETRIES = Counter("minqing_handler_retries_total", "event handler failures sent for retry", ["queue"])
RPC_REPLIES_LOST = Counter("minqing_rpc_replies_lost_total", "RPC replies the broker refused", ["service"])
HTTP_REQUESTS = Counter("minqing_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "minqing_http_latency_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5),
)
CASES_OVERDUE = Gauge("minqing_cases_overdue", "open cases past their deadline", ["community"])
CASES_REGISTERED = Counter("minqing_cases_registered_total", "cases registered", ["community", "channel"])
SIGN_INS = Counter("minqing_sign_ins_total", "sign-in attempts (accounts)", ["method", "outcome"])
SMS_SENT = Counter("minqing_sms_total", "SMS handed to the provider (accounts)", ["template", "outcome"])
CALENDAR_FALLBACK = Gauge(
    "minqing_calendar_fallback",
    "1 if routing computes the year's working days from the statutory holidays alone (no notice loaded, no "
    "library data: adjusted working days unknown), 0 if from a notice; years from now to about 13 months on",
    ["year"],
)


def exposition(accept: str | None = None) -> tuple[bytes, str]:
    """The registry in the format the scraper's Accept header asks for (Prometheus text 0.0.4 by default,
    OpenMetrics if asked), as prometheus-client's own HTTP server would answer."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type


def response(request) -> Response:
    """The /metrics answer. A Response, not a (status, headers, body) tuple: nameko's http entrypoint
    only takes a str body, and the exposition is bytes (it answered 500 "Payload must be a string")."""
    body, content_type = exposition(request.headers.get("Accept"))
    return Response(body, status=200, content_type=content_type)

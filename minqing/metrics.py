"""Prometheus metrics shared by every service process (one registry per process)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

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


def exposition() -> tuple[bytes, str]:
    return generate_latest(), CONTENT_TYPE_LATEST

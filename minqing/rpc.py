"""The RPC boundary every service method goes through: validate, time, translate errors."""

from __future__ import annotations

import functools
import logging
import time

from amqp.exceptions import AMQPError
from kombu.exceptions import KombuError
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.exc import OperationalError

from minqing import metrics
from minqing.errors import MinqingError, Unavailable, from_validation
from minqing.vocabulary import ROLES, one_of

log = logging.getLogger(__name__)


class Scope(Schema):
    """Who is asking, as the gateway established from the token."""

    sub = fields.Str(required=True)
    role = fields.Str(required=True, validate=one_of(ROLES))
    communities = fields.List(fields.Str(), required=True)
    bureau = fields.Str(load_default=None)


class Idempotency(Schema):
    key = fields.Str(load_default=None, validate=validate.Length(max=200))
    fingerprint = fields.Str(load_default="")
    # whose key it is; the caller's `sub` unless a service names a shared space (e.g. a visit's case)
    principal = fields.Str(load_default=None, validate=validate.Length(max=120))


@functools.cache
def _instance(schema_class: type[Schema]) -> Schema:
    return schema_class()  # building a schema costs more than loading with it: once per class


def load(schema: Schema | type[Schema], payload, **kwargs):
    """marshmallow load that raises InvalidInput (a 422 at the gateway) naming the fields."""
    if isinstance(schema, type):
        schema = _instance(schema)
    try:
        return schema.load(payload if payload is not None else {}, **kwargs)
    except ValidationError as exc:
        raise from_validation(exc) from None


def boundary(service: str):
    """Decorates an @rpc method: metrics per call, and no unexpected exception leaks its internals."""

    def wrap(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            outcome = "ok"
            try:
                return fn(*args, **kwargs)
            except MinqingError:
                outcome = "rejected"
                raise
            except OperationalError as exc:
                # the database restarting, unreachable or a deadlock victim: the transaction rolled back, so a
                # retry is safe
                outcome = "unavailable"
                log.warning("%s.%s: database unavailable: %s", service, fn.__name__, str(exc).splitlines()[0])
                raise Unavailable("the database is unavailable or busy; retry with the same Idempotency-Key") from None
            except (KombuError, AMQPError) as exc:
                # the broker went away while this call asked another service (an RPC of its own): a 503 the
                # caller retries (writes with their Idempotency-Key), not a 500
                outcome = "unavailable"
                log.warning("%s.%s: broker unavailable: %s", service, fn.__name__, exc)
                raise Unavailable("the message broker is unavailable; retry with the same Idempotency-Key") from None
            except Exception:
                outcome = "error"
                log.exception("%s.%s failed", service, fn.__name__)
                raise
            finally:
                metrics.RPC_CALLS.labels(service, fn.__name__, outcome).inc()
                metrics.RPC_LATENCY.labels(service, fn.__name__).observe(time.perf_counter() - start)

        return wrapper

    return wrap

"""What every API endpoint does before and after its one RPC call: auth, roles, body parsing and
validation, idempotency keys, rate limits, masking, problems, metrics. Endpoints register here so the
OpenAPI document is generated from the same declarations that enforce them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import threading
import time
from dataclasses import dataclass, field

import eventlet
from kombu.exceptions import KombuError
from marshmallow import Schema, ValidationError
from nameko.exceptions import RemoteError
from werkzeug.wrappers import Request, Response

from gateway.auth import UNMASKED_ROLES, AuthError, Principal, mask
from gateway.problems import problem
from minqing import context, metrics
from minqing.errors import MinqingError
from minqing.events import make_envelope
from services.intake.schemas import SHORT_CODE_PATTERN

log = logging.getLogger(__name__)


@dataclass
class Route:
    method: str
    path: str
    summary: str
    roles: tuple[str, ...] | None  # None: no token needed
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    tags: tuple[str, ...] = ()
    many: bool = False
    idempotent: bool = field(default=False)
    media: tuple[str, ...] = ()  # other media types the answer may come in (files), besides JSON
    problems: tuple[int, ...] = ()  # statuses beyond the usual an endpoint without a token answers (sign-in)

    @functools.cached_property
    def body_schema(self) -> Schema:
        return self.body()  # building a schema costs more than loading with it: once per route

    @functools.cached_property
    def query_schema(self) -> Schema:
        return self.query()


ROUTES: list[Route] = []
# path parameters that name a community (or a bureau, or a rule: all short codes): anything else cannot exist
PATH_PATTERNS = {"code": SHORT_CODE_PATTERN, "community": SHORT_CODE_PATTERN}


class RateLimiter:
    """Token bucket per caller; in-process, so each gateway copy enforces its own share."""

    def __init__(self, per_minute: int):
        self.rate = per_minute / 60.0
        self.capacity = max(per_minute / 6.0, 1.0)  # bursts of up to 10 seconds' allowance
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> float:
        """0 if allowed, else seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                self.buckets[key] = (tokens, now)
                return (1 - tokens) / self.rate
            self.buckets[key] = (tokens - 1, now)
            return 0.0


class BadRequest(Exception):
    def __init__(self, status: int, detail: str, errors: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors = status, detail, errors


def read_json(request: Request, max_bytes: int) -> object:
    length = request.content_length
    if length is not None and length > max_bytes:
        raise BadRequest(413, f"request body is {length} bytes; the limit is {max_bytes}")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise BadRequest(413, f"request body exceeds {max_bytes} bytes")
    request.environ["minqing.raw_body"] = raw
    if not raw.strip():
        raise BadRequest(400, "request body is empty; send a JSON object")
    mimetype = request.mimetype or ""
    if mimetype and mimetype != "application/json" and not mimetype.endswith("+json"):
        raise BadRequest(415, f"send application/json, not {mimetype}")
    try:
        value = json.loads(raw.decode("utf-8"), parse_int=_bounded_int)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(400, f"request body is not valid UTF-8 JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:  # a number too long, arrays nested too deep
        raise BadRequest(400, f"request body is not JSON we accept: {str(exc) or 'nested too deep'}") from None
    if _depth(value) > MAX_DEPTH:
        raise BadRequest(400, f"request body is nested more than {MAX_DEPTH} levels deep")
    return value


# no field of the API is deeper or longer than these; a JSON bomb (a 5,000-digit integer, arrays nested
# 50,000 deep) is refused before any parser, validator or database spends its time on it
MAX_DEPTH = 20
MAX_INT_DIGITS = 30


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"an integer has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _depth(value) -> int:
    """How deeply containers nest (iteratively: the value may be as deep as the parser allowed)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            todo.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


UNSTORABLE = "must not contain NUL characters or unpaired surrogates"


def storable(text: str) -> bool:
    """Whether a database can store the text: PostgreSQL refuses NUL, UTF-8 refuses lone surrogates."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable(value, where: str = "") -> str | None:
    """Where in a parsed JSON value the first string (or key) is that no database can store, else None."""
    if isinstance(value, str):
        return None if storable(value) else where or "_schema"
    if isinstance(value, dict):
        for key, item in value.items():
            at = f"{where}.{key}" if where else str(key)
            found = at if not storable(key) else unstorable(item, at)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = unstorable(item, f"{where}.{i}" if where else str(i))
            if found:
                return found
    return None


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False, default=str),
        status=status,
        content_type="application/json; charset=utf-8",
        headers=headers,
    )


def masked(principal: Principal, payload):
    if isinstance(payload, dict) and isinstance(payload.get("items"), list):
        return {**payload, "items": [mask(principal, item) for item in payload["items"]]}
    if isinstance(payload, list):
        return [mask(principal, item) for item in payload]
    return mask(principal, payload) if isinstance(payload, dict) else payload


def endpoint(route: Route):
    """Wraps a gateway method `fn(self, call, **path_args)`; `call` carries the validated request."""
    ROUTES.append(route)

    def wrap(fn):
        @functools.wraps(fn)
        def handler(self, request: Request, **path_args):
            started = time.perf_counter()
            response = self._dispatch(route, fn, request, path_args)
            response.headers["X-Correlation-Id"] = context.current() or ""
            if route.roles is not None:  # what a token opens is someone's data: no cache may keep it
                response.headers.setdefault("Cache-Control", "no-store")
            metrics.HTTP_REQUESTS.labels(route.method, route.path, str(response.status_code)).inc()
            metrics.HTTP_LATENCY.labels(route.method, route.path).observe(time.perf_counter() - started)
            return response

        return handler

    return wrap


def client_address(request: Request) -> str:
    """The caller's address as the gateway's socket sees it (a proxy in front must be trusted explicitly)."""
    return request.remote_addr or "unknown"


@dataclass
class Call:
    principal: Principal | None
    body: dict | None
    query: dict
    idem: dict | None
    client: str = "unknown"

    @property
    def scope(self) -> dict:
        return self.principal.scope()


class Dispatcher:
    """Mixed into the gateway service: the request pipeline every endpoint shares."""

    def _dispatch(self, route: Route, fn, request: Request, path_args: dict) -> Response:
        try:
            call = self._prepare(route, request, path_args)
            with eventlet.Timeout(self.settings.rpc_timeout):
                payload = fn(self, call, **path_args)
            if isinstance(payload, Response):
                return payload
            if call.principal is not None:
                self._record_personal_read(route, call, request, payload)
                payload = masked(call.principal, payload)
            return json_response(payload, route.status)
        except BadRequest as exc:
            return problem(exc.status, exc.detail, exc.errors)
        except _RateLimited as exc:
            retry = str(max(1, math.ceil(exc.args[1])))
            return problem(429, exc.detail, headers={"Retry-After": retry})
        except AuthError as exc:
            return problem(401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="minqing"'})
        except MinqingError as exc:
            errors = getattr(exc, "errors", None)
            extra = {"headers": getattr(exc, "headers", None), "type": getattr(exc, "problem_type", None)}
            return problem(exc.status, exc.detail, errors, **extra)
        except eventlet.Timeout:
            log.error("%s %s: a service did not answer in %ss", route.method, route.path, self.settings.rpc_timeout)
            return problem(503, "a service did not answer in time; retry with the same Idempotency-Key")
        except (OSError, KombuError) as exc:
            log.error("%s %s: broker unavailable: %s", route.method, route.path, exc)
            return problem(503, "the message broker is unavailable; retry with the same Idempotency-Key")
        except RemoteError as exc:
            log.error("%s %s: remote error %s", route.method, route.path, exc)
            return problem(500, "internal error; quote the correlation id", correlation_id=context.current())
        except Exception:
            log.exception("%s %s failed", route.method, route.path)
            return problem(500, "internal error; quote the correlation id", correlation_id=context.current())

    def _record_personal_read(self, route: Route, call: Call, request: Request, payload) -> None:
        """Staff shown unmasked phones, addresses or rooms: an audit record, published before the answer
        leaves (no record, no answer: a failed publish is a 503 like any broker failure)."""
        principal = call.principal
        if route.method != "GET" or principal.role not in AUDITED_READERS:
            return
        items = _items(payload)
        subjects = [_subject(item) for item in items if _personal(item)]
        if not subjects:
            return
        communities = {item.get("community") for item in items if isinstance(item.get("community"), str)}
        community = communities.pop() if len(communities) == 1 else ""
        self._publish_read(call, route.path, request.path, subjects, community)

    def _publish_read(self, call: Call, route_path: str, path: str, subjects: list[str], community: str = "") -> None:
        """`personal_data.read` for intake's audit trail (minqing/audit.py)."""
        data = {
            "actor": call.principal.sub,
            "role": call.principal.role,
            "method": "GET",
            "path": path[:300],
            "query": call.query,
            "subjects": subjects[:500],
        }
        envelope = make_envelope(
            "personal_data.read",
            source="gateway",
            community=community,
            subject=route_path,
            version=1,
            data=data,
            correlation_id=context.current(),
        )
        self.audit_events("personal_data.read", envelope)

    def _prepare(self, route: Route, request: Request, path_args: dict) -> Call:
        principal = None
        if route.roles is not None:
            principal = self.settings.verifier.verify(request.headers.get("Authorization"))
            wait = self.settings.limiter.allow(principal.sub)
            if wait:
                raise _RateLimited(f"rate limit for {principal.sub!r} reached; retry later", wait)
            if principal.role not in route.roles:
                raise MinqingRoleError(f"role {principal.role!r} may not do this; allowed: {', '.join(route.roles)}")
        else:  # sign-in: no token yet, so the limit is per client address
            wait = self.settings.limiter.allow("address:" + client_address(request))
            if wait:
                raise _RateLimited("rate limit for this address reached; retry later", wait)
        for name, value in path_args.items():  # what no database could hold, or no code could be, does not exist
            pattern = PATH_PATTERNS.get(name, ".*")
            if isinstance(value, str) and not (storable(value) and re.fullmatch(pattern, value, re.DOTALL)):
                raise BadRequest(404, f"no such {name}: {value!r}")
        body = None
        if route.body is not None:
            raw = read_json(request, self.settings.max_body)
            if not isinstance(raw, dict):
                raise BadRequest(400, "request body must be a JSON object")
            where = unstorable(raw)
            if where:
                raise BadRequest(422, "the request has invalid fields", {where: [UNSTORABLE]})
            try:
                route.body_schema.load(raw)  # fail fast here; the service validates again at its boundary
            except ValidationError as exc:
                raise BadRequest(422, "the request has invalid fields", exc.messages) from None
            body = raw
        query = {}
        if route.query is not None:
            query = {k: v for k, v in request.args.items()}
            where = unstorable(query)
            if where:
                raise BadRequest(400, "the query has invalid parameters", {where: [UNSTORABLE]})
            try:
                route.query_schema.load(query)
            except ValidationError as exc:
                raise BadRequest(400, "the query has invalid parameters", exc.messages) from None
        idem = None
        key = request.headers.get("Idempotency-Key")
        if route.idempotent and key and principal is not None:
            if len(key) > 200:
                raise BadRequest(400, "Idempotency-Key must be at most 200 characters")
            raw = request.environ.get("minqing.raw_body", b"")
            digest = hashlib.sha256(route.method.encode() + request.path.encode() + b"\n" + raw).hexdigest()
            idem = {"key": key, "fingerprint": digest}
        return Call(principal, body, query, idem, client_address(request))


# who sees personal data unmasked (gateway/auth.py) and is recorded doing so; a resident sees only their own
AUDITED_READERS = UNMASKED_ROLES - {"resident"}
PERSONAL_KEYS = ("phone", "contact_phone", "room")


def _items(payload) -> list[dict]:
    if isinstance(payload, dict) and isinstance(payload.get("items"), list):
        payload = payload["items"]
    items = payload if isinstance(payload, list) else [payload]
    return [item for item in items if isinstance(item, dict)]


def _personal(item: dict) -> bool:
    """Whether masking (gateway/auth.py) would have hidden something of this item."""
    reporter, location, member = item.get("reporter"), item.get("location"), item.get("member")
    return bool(
        (isinstance(reporter, dict) and reporter.get("phone"))
        or (isinstance(member, dict) and member.get("phone"))
        or (isinstance(location, dict) and location.get("address"))
        or any(item.get(key) for key in PERSONAL_KEYS)
    )


def _subject(item: dict) -> str:
    return str(item.get("id") or item.get("code") or item.get("reference") or "?")[:120]


class _RateLimited(MinqingError):
    status = 429
    title = "Too many requests"


class MinqingRoleError(MinqingError):
    status = 403
    title = "Forbidden"

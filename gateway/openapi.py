"""OpenAPI 3 document generated from the routes the gateway registers and their marshmallow schemas."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from gateway.api import PATH_PATTERNS, ROUTES

PROBLEM_STATUSES = {
    400: "Malformed request or query",
    401: "No token, or an expired or forged one; at sign-in: wrong credentials, code or refresh token",
    403: "The caller's role may not do this; at sign-in: the account is disabled",
    404: "Not found, or in a community the caller may not see",
    409: "Conflict: duplicate, stale version, or an Idempotency-Key reused for another request",
    413: "Request body too large",
    415: "Not JSON",
    422: "Invalid fields (see `errors`)",
    429: "Rate limited (see Retry-After)",
}


class Problem(Schema):
    type = fields.Str(required=True)
    title = fields.Str(required=True)
    status = fields.Int(required=True)
    detail = fields.Str(required=True)
    errors = fields.Dict()
    correlation_id = fields.Str()


BINARY = {"type": "string", "format": "binary"}
CONVERTER = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")


def _path(path: str) -> str:
    return CONVERTER.sub(lambda m: "{" + m[3] + "}", path)


def _path_params(path: str) -> list[dict]:
    """werkzeug converters as OpenAPI: `<int:x>` an integer, `<any(a,b):x>` one of a and b, else a string."""
    params = []
    for converter, args, name in CONVERTER.findall(path):
        schema: dict = {"type": "string"}
        if converter == "int":
            schema = {"type": "integer", "minimum": 0}
        elif converter == "any":
            schema = {"type": "string", "enum": [a.strip() for a in args.split(",")]}
        elif name in PATH_PATTERNS:
            schema["pattern"] = PATH_PATTERNS[name]
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
    return params


def build(version: str = "0.1.0") -> dict:
    spec = APISpec(
        title="Minqing (民情) API",
        version=version,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "Community case intake, routing, feedback and points. See README.md."},
    )
    spec.components.schema("Problem", schema=Problem)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    paths: dict[str, dict] = {}
    for route in ROUTES:
        path = _path(route.path)
        op: dict = {"summary": route.summary, "tags": list(route.tags), "responses": {}}
        params = _path_params(route.path)
        if route.query is not None:
            params.append({"in": "query", "schema": route.query})
        if route.idempotent:
            params.append(
                {
                    "in": "header",
                    "name": "Idempotency-Key",
                    "required": False,
                    "schema": {"type": "string", "maxLength": 200},
                }
            )
        if params:
            op["parameters"] = params
        if route.body is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": route.body}}}
        ok: dict = {"description": "OK"}
        content: dict = {}
        if route.response is not None:
            schema = route.response(many=True) if route.many else route.response
            content["application/json"] = {"schema": schema}
        for media in route.media:  # files: an xlsx workbook, a page to print
            content[media] = {"schema": {"type": "string"} if media.startswith("text/") else BINARY}
        if content:
            ok["content"] = content
        op["responses"][str(route.status)] = ok
        if route.roles is not None:
            op["security"] = [{"bearer": []}]
            op["description"] = "Roles: " + ", ".join(route.roles)
            statuses = [401, 403, 429, *route.problems]
            if "{" in path or route.body is not None or route.query is not None:
                statuses += [404]  # what the path, the body or the query names (a community, a case) may not exist
            if route.body is not None:
                statuses += [409, 413, 415, 422, 400]
            if route.query is not None:
                statuses += [400, 422]  # 400: the query's syntax; 422: a cursor or period the service cannot use
            for status in sorted(set(statuses)):
                op["responses"][str(status)] = {
                    "description": PROBLEM_STATUSES[status],
                    "content": {"application/problem+json": {"schema": "Problem"}},
                }
        elif route.body is not None:  # sign-in: no token, but a body to check, and its own refusals
            for status in sorted({400, 413, 415, 422, 429, *route.problems}):
                op["responses"][str(status)] = {
                    "description": PROBLEM_STATUSES[status],
                    "content": {"application/problem+json": {"schema": "Problem"}},
                }
        if "{" in path or route.query is not None:
            # the HTTP server's own answer, before any endpoint runs: no body
            op["responses"]["414"] = {"description": "Request line (the path and query) longer than 8 KB"}
        paths.setdefault(path, {})[route.method.lower()] = op
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()

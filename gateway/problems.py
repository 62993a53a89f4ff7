"""RFC 7807 problem responses: the only shape an error leaves the gateway in."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


def problem(status: int, detail: str, errors: dict | None = None, headers: dict | None = None, **extra) -> Response:
    title = TITLES.get(status, "Error")
    body = {
        "type": "urn:minqing:problem:" + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        content_type="application/problem+json; charset=utf-8",
        headers=headers,
    )

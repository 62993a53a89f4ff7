"""Errors that cross the RPC boundary as themselves and become RFC 7807 problems at the gateway."""

from __future__ import annotations

from nameko.exceptions import deserialize_to_instance


class MinqingError(Exception):
    status = 400
    title = "Bad request"

    @property
    def detail(self) -> str:
        return str(self.args[0]) if self.args else self.title


@deserialize_to_instance
class NotFound(MinqingError):
    status = 404
    title = "Not found"


@deserialize_to_instance
class Conflict(MinqingError):
    status = 409
    title = "Conflict"


@deserialize_to_instance
class Forbidden(MinqingError):
    status = 403
    title = "Forbidden"


@deserialize_to_instance
class Unavailable(MinqingError):
    """A dependency (the database) is down for a moment: nothing was done, the same request can be retried."""

    status = 503
    title = "Service unavailable"


@deserialize_to_instance
class InvalidInput(MinqingError):
    """`args` = (detail, {field: [messages]}) so the gateway can list the fields."""

    status = 422
    title = "Validation failed"

    def __init__(self, detail: str, errors: dict | None = None):
        super().__init__(detail, errors or {})

    @property
    def errors(self) -> dict:
        return self.args[1]


def from_validation(exc) -> InvalidInput:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    return InvalidInput("the request has invalid fields", messages)


@deserialize_to_instance
class Refused(MinqingError):
    """A refused sign-in or token (401), or too many attempts (429 with Retry-After). `kind` becomes the
    problem's type (urn:minqing:problem:<kind>), so a client can tell a wrong password from a replayed
    refresh token; the detail never says whether an account exists."""

    title = "Unauthorized"

    def __init__(self, detail: str, kind: str = "invalid-credentials", status: int = 401, retry_after: int = 0):
        super().__init__(detail, kind, status, retry_after)

    @property
    def status(self) -> int:
        return int(self.args[2])  # nameko carries exception arguments across RPC as strings

    @property
    def problem_type(self) -> str:
        return "urn:minqing:problem:" + self.args[1]

    @property
    def headers(self) -> dict | None:
        return {"Retry-After": str(self.args[3])} if int(self.args[3]) else None

"""The correlation id that follows one request across HTTP → RPC → events → logs.

Nameko copies a worker's `context_data` into the headers of every RPC call and event it sends, and
back into the next worker's `context_data`; this provider puts it in a contextvar (greenlets carry their
own context) so domain code, the outbox and the log formatter can read it without extra parameters.
"""

from __future__ import annotations

import contextvars
import uuid

from nameko.extensions import DependencyProvider

KEY = "correlation_id"
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(KEY, default=None)


def current() -> str | None:
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex


class Correlation(DependencyProvider):
    def get_dependency(self, worker_ctx) -> str:
        # runs in the worker's greenthread before worker_setup; `context_data` is a copy, `data` is what
        # nameko forwards in outgoing headers
        cid = worker_ctx.data.get(KEY) or new_id()
        worker_ctx.data[KEY] = cid
        _current.set(cid)
        return cid

    def worker_teardown(self, worker_ctx):
        _current.set(None)

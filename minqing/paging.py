"""Keyset pagination cursors: opaque to clients, a (sort key, id) pair to us."""

from __future__ import annotations

import base64
import json

from minqing.errors import InvalidInput


def encode(*values) -> str:
    raw = json.dumps([str(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, arity: int, kinds: tuple = ()) -> list:
    """The values a cursor holds, each through its kind (`int`, `datetime.fromisoformat`; `str` where none is
    given). A cursor this API did not issue (not base64 JSON, the wrong number of values, a value its kind
    refuses, text no database can hold) is invalid input, never an error of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != arity or not all(isinstance(v, str) for v in values):
            raise ValueError
        for value in values:
            if "\x00" in value:
                raise ValueError
            value.encode("utf-8")  # a lone surrogate: UnicodeEncodeError, a ValueError
        kinds = tuple(kinds) + (str,) * (arity - len(kinds))
        return [kind(value) for kind, value in zip(kinds, values, strict=True)]
    except (ValueError, TypeError, OverflowError) as exc:
        raise InvalidInput("the cursor is not one this API issued", {"cursor": ["invalid cursor"]}) from exc


def page(rows: list, limit: int, key) -> dict:
    """`rows` fetched with `limit + 1`: the first `limit` and, if there were more, the cursor of the last
    one (`key(row)` gives the values it encodes)."""
    items = rows[:limit]
    more = len(rows) > limit and items
    return {"items": items, "next_cursor": encode(*key(items[-1])) if more else None}

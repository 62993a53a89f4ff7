"""Shared by the integration tests: a tiny API client and a typical case."""

import requests


class Api:
    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, token: str | None = "default", **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        tok = self.token if token == "default" else token
        if tok:
            headers["Authorization"] = f"Bearer {tok}"
        return requests.request(method, self.base + path, headers=headers, timeout=15, **kw)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json=json, **kw)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)


def case_body(**overrides):
    body = {
        "community": "maxian",
        "channel": "hotline",
        "title": "3号楼电梯故障，老人无法下楼",
        "description": "3号楼电梯已经停了两天，家里有八十多岁的老人，上下楼非常困难，请尽快派人维修。",
        "reporter": {"name": "王秀英", "phone": "13800001234"},
        "location": {"building": "maxian-b01", "address": "马限山小区3号楼2单元502"},
    }
    body.update(overrides)
    return body


def wait_for(predicate, timeout=10.0, interval=0.05):
    """Poll until `predicate()` is truthy (events take a moment to cross the broker); return its value."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")

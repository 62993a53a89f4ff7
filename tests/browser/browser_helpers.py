"""What the browser tests share: sizes, a small API client, waiting, Element Plus selects, signing in."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MINQING_CHROMIUM", "/usr/bin/chromium")
# the flags this machine needs: no sandbox as root, and no background calls to Google's hosts
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PC = {"width": 1440, "height": 900}
PHONE = {"width": 375, "height": 812}


class Api:
    """A small HTTP client with one token, for setting up what the browser then works on."""

    def __init__(self, base: str, token: str):
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None, token: str | None = None, **kw) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return requests.request(method, self.base + path, json=body, headers=headers, timeout=15, **kw)

    def get(self, path: str, **kw):
        r = self.call("GET", path, **kw)
        assert r.ok, r.text
        return r.json()

    def post(self, path: str, body=None, **kw):
        r = self.call("POST", path, body, **kw)
        assert r.ok, f"{path}: {r.status_code} {r.text}"
        return r.json() if r.content else None


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def sign_in(page, base: str, token: str) -> None:
    """Puts a minted token in the console's session (for tests about other things than signing in)."""
    page.goto(base + "/login")
    page.evaluate(
        "t => localStorage.setItem('minqing.session', JSON.stringify({access_token: t}))",
        token,
    )


def pick(page, label: str, option: str) -> None:
    """Chooses an option of an Element Plus select (its list is teleported to the body)."""
    page.get_by_role("combobox", name=label, exact=True).click(force=True)  # its placeholder lies on top
    page.locator(".el-select-dropdown__item:visible", has_text=option).first.click()


def sign_in_with_password(page, username: str, password: str) -> None:
    page.get_by_role("tab", name="工作人员登录").click()
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="登录", exact=True).first.click()


def sign_in_with_code(page, sms_log: Path, phone: str) -> None:
    """The resident's way in: a code by SMS, read here from the log notifier's file (var/sms.log)."""
    page.get_by_role("tab", name="居民验证码登录").click()
    page.locator("input[name=phone]").fill(phone)
    # the log may hold earlier codes for this phone (other tests share var/): wait for the one this click sends
    before = len(sms_codes(sms_log, "+86" + phone))
    page.get_by_role("button", name="获取验证码").click()
    code = wait_for(lambda: (codes := sms_codes(sms_log, "+86" + phone))[before:] and codes)[-1]
    page.locator("input[name=code]").fill(code)
    page.locator("#pane-resident").get_by_role("button", name="登录", exact=True).click()


def sms_codes(path: Path, phone: str) -> list[str]:
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [m["params"]["code"] for m in lines if m["to"] == phone and m["template"] == "sign_in_code"]

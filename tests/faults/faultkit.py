"""What the fault tests need: the platform as separate processes (so one can be killed with SIGKILL), a
steady load of writes by clients that retry the way a real client should (same Idempotency-Key until an
answer comes), and the books: what every service's database holds, read directly afterwards."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ("intake", "routing", "feedback", "points", "accounts", "gateway")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Platform:
    """Every service and the gateway as its own `python -m minqing.serve` process on the given databases."""

    def __init__(self, amqp_uri: str, db_urls: dict[str, str], var: Path, secret: str):
        self.var, self.port = var, free_port()
        self.env = os.environ | {
            "MINQING_AMQP_URI": amqp_uri,
            "MINQING_VAR_DIR": str(var),
            "MINQING_HTTP_PORT": str(self.port),
            "MINQING_JWT_SECRET": secret,
            "MINQING_RATE_LIMIT_PER_MINUTE": "0",
            "MINQING_LOG_LEVEL": "WARNING",
            # a database restart takes seconds: give handlers a minute of retries before the DLQ
            "MINQING_EVENT_RETRY_DELAYS": "0.5,1,2,4,8,15,30",
            "MINQING_OUTBOX_POLL_INTERVAL": "0.2",
            "MINQING_SCAN_INTERVAL": "1",
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
        for service, url in db_urls.items():
            self.env[f"MINQING_{service.upper()}_DB_URL"] = url
            self.env[f"MINQING_{service.upper()}_METRICS_PORT"] = str(free_port())
        self.env["MINQING_GATEWAY_METRICS_PORT"] = str(free_port())
        self.procs: dict[str, subprocess.Popen] = {}
        self.base = f"http://127.0.0.1:{self.port}"

    def start(self, name: str) -> None:
        log = open(self.var / f"{name}.log", "a")  # noqa: SIM115  the child writes to it until it ends
        command = [sys.executable, "-m", "minqing.serve", name]
        self.procs[name] = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=log)

    def start_all(self) -> None:
        for name in PROCESSES:
            self.start(name)
        self.wait_ready()

    def kill9(self, name: str) -> None:
        proc = self.procs[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def wait_ready(self, timeout: float = 120) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited:\n{self.logs(dead)}")
            try:
                if requests.get(self.base + "/readyz", timeout=3).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"not ready after {timeout}s:\n{self.logs(list(self.procs))}")

    def logs(self, names: list[str]) -> str:
        return "\n".join(f"--- {n}.log\n" + (self.var / f"{n}.log").read_text()[-4000:] for n in names)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


@dataclass
class Ledger:
    """What the clients were told: every write the platform accepted, by kind."""

    cases: dict[str, str] = field(default_factory=dict)  # idempotency key → case id
    steps: dict[str, list[str]] = field(default_factory=dict)  # case id → accepted workflow actions
    visits: dict[str, str] = field(default_factory=dict)  # key → visit id
    redemptions: dict[str, dict] = field(default_factory=dict)  # key → the redemption as answered
    outcomes: Counter = field(default_factory=Counter)  # what the clients saw, for the report
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    """A client that does what the API asks of one: on no answer, a 5xx or a 429 it retries the same
    request with the same Idempotency-Key (backing off), until it gets a definite answer or gives up."""

    def __init__(self, base: str, token: str, books: Ledger, give_up_after: float = 120):
        self.base, self.books, self.give_up_after = base, books, give_up_after
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def write(self, method: str, path: str, body: dict, key: str) -> requests.Response | None:
        started, delay = time.monotonic(), 0.2
        while time.monotonic() - started < self.give_up_after:
            try:
                r = self.session.request(
                    method, self.base + path, json=body, headers={"Idempotency-Key": key}, timeout=15
                )
                if r.status_code < 500 and r.status_code != 429:
                    with self.books.lock:
                        self.books.outcomes[f"{path.split('/')[3]} {r.status_code}"] += 1
                    return r
                outcome = f"retried after {r.status_code}"
            except requests.RequestException as exc:
                outcome = f"retried after {type(exc).__name__}"
            with self.books.lock:
                self.books.outcomes[outcome] += 1
            time.sleep(delay)
            delay = min(delay * 2, 3)
        with self.books.lock:
            self.books.outcomes["gave up"] += 1
        return None

    def get(self, path: str, **params) -> dict | None:
        try:
            r = self.session.get(self.base + path, params=params, timeout=10)
            return r.json() if r.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return None


class Load:
    """Registrations, workflow steps by the handler, home visits and redemptions, until stopped."""

    def __init__(self, platform: Platform, tokens: dict[str, str], member_id: str, reward_id: str):
        self.books, self.stop = Ledger(), threading.Event()
        self.staff = Client(platform.base, tokens["staff"], self.books)
        self.handler = Client(platform.base, tokens["handler"], self.books)
        self.member = Client(platform.base, tokens["member"], self.books)
        self.member_id, self.reward_id = member_id, reward_id
        self.threads = [
            threading.Thread(target=self._register, daemon=True),
            threading.Thread(target=self._work, daemon=True),
            threading.Thread(target=self._visit, daemon=True),
            threading.Thread(target=self._redeem, daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=180)

    def _register(self) -> None:
        rng = random.Random(7)
        while not self.stop.is_set():
            key = f"case-{uuid.uuid4().hex}"
            body = {
                "community": "maxian",
                "channel": rng.choice(["hotline", "online", "mailbox"]),
                "title": f"3号楼电梯故障 {rng.randint(1, 10**6)}",
                "description": "电梯停运，老人无法下楼",
                "category": "elevator",
                "location": {"building": "maxian-b01"},
                "reporter": {"name": "王秀英", "phone": "13800001234"},  # so accounts texts them
            }
            r = self.staff.write("POST", "/api/v1/cases", body, key)
            if r is not None and r.status_code == 201:
                with self.books.lock:
                    self.books.cases[key] = r.json()["id"]
            time.sleep(0.1)

    def _work(self) -> None:
        """The handler accepts and resolves what has been assigned to them (an update per step)."""
        while not self.stop.is_set():
            with self.books.lock:
                todo = [c for c in self.books.cases.values() if len(self.books.steps.get(c, [])) < 2]
            for case_id in todo[:5]:
                view = self.handler.get(f"/api/v1/cases/{case_id}/routing")
                if not view or view.get("status") not in ("assigned", "accepted"):
                    continue
                action = "accept" if view["status"] == "assigned" else "resolve"
                body = {"summary": "已修复电梯"} if action == "resolve" else {}
                r = self.handler.write("POST", f"/api/v1/cases/{case_id}/{action}", body, f"{action}-{case_id}")
                if r is not None and r.status_code == 200:
                    with self.books.lock:
                        self.books.steps.setdefault(case_id, []).append(action)
            time.sleep(0.2)

    def _visit(self) -> None:
        while not self.stop.is_set():
            key = f"visit-{uuid.uuid4().hex}"
            body = {"community": "maxian", "kind": "home", "grid": "maxian-g01", "notes": "入户走访"}
            r = self.handler.write("POST", "/api/v1/visits", body, key)
            if r is not None and r.status_code == 201:
                with self.books.lock:
                    self.books.visits[key] = r.json()["id"]
            time.sleep(0.25)

    def _redeem(self) -> None:
        while not self.stop.is_set():
            key = f"redeem-{uuid.uuid4().hex}"
            body = {"member": self.member_id, "reward": self.reward_id}
            r = self.member.write("POST", "/api/v1/redemptions", body, key)
            if r is not None and r.status_code == 201:
                with self.books.lock:
                    self.books.redemptions[key] = r.json()
            time.sleep(0.3)

"""Benchmark plumbing: a private platform (vhost, database, service processes), a closed-loop load driver,
CPU accounting per party from /proc, a PostgreSQL wait sampler and a py-spy summariser. Used by intake.py."""

from __future__ import annotations

import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
STOP = threading.Event()  # set on Ctrl-C so the client threads stop at once


def pct(values: list[float], q: float) -> float:
    """q-th percentile (nearest rank) of seconds, in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- CPU per party, in % of one core ---------------------------------------------------------------------
def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    ticks: Counter = Counter()
    named = {pid: name for name, pid in pids.items()}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm, fields = raw[raw.index("(") + 1 : raw.rindex(")")], raw[raw.rindex(")") + 2 :].split()
        group = named.get(int(entry)) or {"postgres": "postgres", "beam.smp": "rabbitmq"}.get(comm)
        if group:
            ticks[group] += int(fields[11]) + int(fields[12])  # utime + stime, all threads
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    ticks["machine"] = sum(cpu) - cpu[3] - cpu[4]  # everything but idle and iowait
    return {k: v / os.sysconf("SC_CLK_TCK") for k, v in ticks.items()} | {"t": time.monotonic()}


def cpu_usage(before: dict, after: dict) -> dict[str, int]:
    """% of one core per party; 'other' is what the rest of the machine (e.g. someone's test run) used."""
    elapsed = after["t"] - before["t"]
    usage = {k: round(100 * (after[k] - before.get(k, 0)) / elapsed) for k in after if k != "t"}
    return usage | {"other": usage["machine"] - sum(v for k, v in usage.items() if k != "machine")}


class WaitSampler:
    """Every 50 ms: how many of the database's connections wait on a lock, run, or sit idle in a transaction."""

    QUERY = """SELECT count(*) FILTER (WHERE wait_event_type = 'Lock'),
                      count(*) FILTER (WHERE state = 'active' AND wait_event_type IS DISTINCT FROM 'Lock'),
                      count(*) FILTER (WHERE state LIKE 'idle in transaction%%')
               FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"""

    def __init__(self, admin_url: str, db: str):
        self.admin_url, self.db, self.rows = admin_url, db, []
        self.done = threading.Event()

    def _run(self) -> None:
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with conn, conn.cursor() as cur:
            while not self.done.wait(0.05):
                cur.execute(self.QUERY, (self.db,))
                self.rows.append(cur.fetchone())
        conn.close()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> dict:
        self.done.set()
        self.thread.join()
        n = max(1, len(self.rows))
        names = ("waiting_on_lock", "active", "idle_in_transaction")
        return {"db_connections_avg": {k: round(sum(r[i] for r in self.rows) / n, 1) for i, k in enumerate(names)}}


def closed_loop(clients: list, duration: float, pids: dict[str, int], warmup: float = 2.0, probe=None) -> dict:
    """clients: (op, close) pairs, one thread each; op() does one request and returns None if it succeeded,
    else an error label. Counts what completes inside [warm-up end, warm-up end + duration]."""
    start = time.perf_counter()
    warm_until, stop_at = start + warmup, start + warmup + duration
    lats: list[list[float]] = [[] for _ in clients]
    errors: list[Counter] = [Counter() for _ in clients]

    def run(i: int) -> None:
        op, close = clients[i]
        try:
            while not STOP.is_set() and (t0 := time.perf_counter()) < stop_at:
                error = op()
                t1 = time.perf_counter()
                if warm_until <= t1 <= stop_at:
                    errors[i].update([error]) if error else lats[i].append(t1 - t0)
        finally:
            close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(clients))]
    for t in threads:
        t.start()
    time.sleep(max(0.0, warm_until - time.perf_counter()))
    before = cpu_snapshot(pids)
    if probe:
        probe.start()
    time.sleep(max(0.0, stop_at - time.perf_counter()))
    extra = probe.stop() if probe else {}
    cpu = cpu_usage(before, cpu_snapshot(pids))
    for t in threads:
        t.join()
    ok = [x for per in lats for x in per]
    return {
        "clients": len(clients),
        "ok": len(ok),
        "rate": round(len(ok) / duration, 1),
        "p50_ms": round(pct(ok, 50), 1),
        "p99_ms": round(pct(ok, 99), 1),
        "max_ms": round(1000 * max(ok, default=float("nan")), 1),
        "errors": dict(sum(errors, Counter())),
        "cpu_pct_of_core": cpu,
    } | extra


# --- the platform under test -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class Platform:
    """A private vhost and database, migrated and seeded, with intake and gateway running against them."""

    def __init__(self, pg_admin: str):
        run = secrets.token_hex(4)
        self.pg_admin, self.vhost, self.db = pg_admin, f"minqing-bench-{run}", f"minqing_bench_{run}"
        self.db_url = pg_admin.rsplit("/", 1)[0] + "/" + self.db
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{quote(self.vhost, safe='')}"
        self.var = Path(tempfile.mkdtemp(prefix="minqing-bench-"))
        self.port, self.secret = free_port(), secrets.token_urlsafe(32)
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = os.environ | {
            "MINQING_AMQP_URI": self.amqp_uri,
            "MINQING_INTAKE_DB_URL": self.db_url,
            "MINQING_VAR_DIR": str(self.var),
            "MINQING_HTTP_PORT": str(self.port),
            "MINQING_INTAKE_METRICS_PORT": str(free_port()),
            "MINQING_RATE_LIMIT_PER_MINUTE": "0",
            "MINQING_LOG_LEVEL": "WARNING",
            "MINQING_JWT_SECRET": self.secret,
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
        self.vhost_made = self.db_made = False

    def admin_sql(self, sql: str) -> None:
        conn = psycopg2.connect(self.pg_admin)
        conn.autocommit = True
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    def start(self) -> None:
        self.vhost_made = True
        rabbitmqctl("add_vhost", self.vhost)
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self.db_made = True
        self.admin_sql(f'CREATE DATABASE "{self.db}"')
        for args in (["migrate"], ["seed-demo", "--quiet"]):
            command = [sys.executable, "-m", "minqing.cli", *args]
            done = subprocess.run(command, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=300)
            if done.returncode:
                raise RuntimeError(f"minqing {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        for name in ("intake", "gateway"):
            log = open(self.var / f"{name}.log", "w")  # noqa: SIM115  the child writes to it until it stops
            command = [sys.executable, "-m", "minqing.serve", name]
            # own session: a Ctrl-C reaches only the bench, which then stops the services in order
            self.procs[name] = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=log,
                                                start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and all(p.poll() is None for p in self.procs.values()):
            if self.get("/readyz") == 200:
                return
            time.sleep(0.5)
        logs = "\n".join(f"--- {n}.log\n" + (self.var / f"{n}.log").read_text()[-3000:] for n in self.procs)
        raise RuntimeError(f"services did not become ready\n{logs}")

    def get(self, path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            return conn.getresponse().status
        except (OSError, http.client.HTTPException):
            return 0
        finally:
            conn.close()

    def pids(self) -> dict[str, int]:
        return {name: p.pid for name, p in self.procs.items()} | {"bench-client": os.getpid()}

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        undo = [
            (self.db_made, lambda: self.admin_sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')),
            (self.vhost_made, lambda: rabbitmqctl("delete_vhost", self.vhost)),
        ]
        for made, action in undo:
            try:
                if made:
                    action()
            except Exception as exc:  # keep cleaning up the rest
                print(f"cleanup failed: {exc}", file=sys.stderr)
        for log in self.var.glob("*.log"):
            if "Traceback" in log.read_text(errors="replace"):
                print(f"note: {log.name} had tracebacks:\n{log.read_text(errors='replace')[-2000:]}", file=sys.stderr)
        shutil.rmtree(self.var, ignore_errors=True)


# --- py-spy ----------------------------------------------------------------------------------------------
def spy(pid: int, seconds: int, out: Path) -> subprocess.Popen:
    """On-CPU stack samples at 100 Hz without pausing the process, as collapsed stacks."""
    pyspy = Path(sys.executable).parent / "py-spy"
    command = [str(pyspy if pyspy.exists() else "py-spy"), "record", "--nonblocking", "-r", "100"]
    command += ["-d", str(seconds), "-f", "raw", "-o", str(out), "-p", str(pid)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def top_frames(path: Path, seconds: int, n: int = 25) -> list[str]:
    """Self and inclusive shares of the on-CPU samples per function (line numbers folded together)."""
    own, inclusive, total = Counter(), Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f.rsplit(":", 1)[0] + ")" if f.endswith(")") else f for f in stack.split(";")]
        total += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            inclusive[frame] += int(count)
    lines = [f"{total} on-CPU samples = {total / (100 * seconds):.0%} of a core", "", "self (top):"]
    lines += [f"  {c / total:6.1%}  {f}" for f, c in own.most_common(n)] + ["", "inclusive (top):"]
    return lines + [f"  {c / total:6.1%}  {f}" for f, c in inclusive.most_common(2 * n)]

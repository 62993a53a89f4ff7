"""Benchmark plumbing: a private platform (vhost, database, service processes), closed- and open-loop load
drivers, a listener on a service's event exchange, CPU accounting per party from /proc, a PostgreSQL wait
sampler and a py-spy summariser. Used by intake.py and scale.py."""

from __future__ import annotations

import http.client
import json
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
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import psycopg2
from kombu import Connection, Consumer, Queue
from nameko.standalone.events import get_event_exchange

ROOT = Path(__file__).resolve().parent.parent
STOP = threading.Event()  # set on Ctrl-C so the client threads stop at once


def pct(values: list[float], q: float) -> float:
    """q-th percentile (nearest rank) of seconds, in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- CPU per party, in % of one core ---------------------------------------------------------------------
def cpu_snapshot(pids: dict[str, int]) -> dict:
    """CPU seconds so far: per process of interest (the named pids, PostgreSQL's, RabbitMQ's) and machine-wide."""
    procs, named, hz = {}, {pid: name for name, pid in pids.items()}, os.sysconf("SC_CLK_TCK")
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
            procs[int(entry)] = (group, (int(fields[11]) + int(fields[12])) / hz)  # utime + stime, all threads
    cpu = [int(x) / hz for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    # machine: everything but idle and iowait; irq: interrupts, e.g. the loopback network's softirq work
    return {"procs": procs, "machine": sum(cpu) - cpu[3] - cpu[4], "irq": cpu[5] + cpu[6], "t": time.monotonic()}


def cpu_usage(before: dict, after: dict) -> dict[str, int]:
    """% of one core per party between two snapshots (processes that exit in between are not counted);
    'other' is what the rest of the machine used, e.g. someone else's test run."""
    elapsed, usage = after["t"] - before["t"], Counter()
    for pid, (group, seconds) in after["procs"].items():
        usage[group] += seconds - before["procs"].get(pid, (group, 0.0))[1]
    usage = dict(usage) | {k: after[k] - before[k] for k in ("machine", "irq")}
    usage["other"] = usage["machine"] - sum(v for k, v in usage.items() if k != "machine")
    return {k: round(100 * v / elapsed) for k, v in usage.items()}


class WaitSampler:
    """Every 50 ms: the state of each connection to the database (`url`), and what those waiting on a lock wait
    for (pg_locks: 'transactionid' is a row lock held by another transaction, e.g. a counter row being updated)."""

    QUERY = """WITH l AS MATERIALIZED (SELECT pid, granted, locktype, relation FROM pg_locks WHERE NOT granted)
               SELECT a.state, string_agg(l.locktype || coalesce(' on ' || l.relation::regclass::text, ''), ',')
               FROM pg_stat_activity a LEFT JOIN l ON l.pid = a.pid
               WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() GROUP BY a.pid, a.state"""

    def __init__(self, url: str):
        self.url, self.samples = url, 0
        self.states, self.waiting = Counter(), Counter()
        self.done = threading.Event()

    def _run(self) -> None:
        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        with conn, conn.cursor() as cur:
            while not self.done.wait(0.05):
                cur.execute(self.QUERY)
                for state, waiting_for in cur.fetchall():
                    self.states["waiting_on_lock" if waiting_for else state] += 1
                    self.waiting[waiting_for] += 1 if waiting_for else 0
                self.samples += 1
        conn.close()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> dict:
        self.done.set()
        self.thread.join()
        n = max(1, self.samples)
        avg = [{k: round(v / n, 2) for k, v in c.most_common(5) if k and v} for c in (self.states, self.waiting)]
        return dict(zip(("db_connections_avg", "lock_waits"), avg, strict=True))


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
                try:
                    error = op()
                except Exception as exc:  # counted, not fatal: the run goes on
                    error = type(exc).__name__
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
        "p95_ms": round(pct(ok, 95), 1),
        "p99_ms": round(pct(ok, 99), 1),
        "max_ms": round(1000 * max(ok, default=float("nan")), 1),
        "errors": dict(sum(errors, Counter())),
        "cpu_pct_of_core": cpu,
    } | extra


def open_loop(send, rate: float, duration: float, pids: dict[str, int], warmup=1.0, workers=64, max_lag=30.0) -> dict:
    """Calls send(i) at a fixed arrival rate (the i-th due at start + i / rate, whether or not earlier calls have
    returned) from a pool of `workers` threads, for warm-up + duration seconds, then waits for the calls queued or
    in flight. A call that could not start within `max_lag` s of its due time is dropped, so an overloaded
    platform cannot stretch the run without bound. Returns each call's due time, the index of the first measured
    call, the dropped calls and CPU % per party while the measured calls were being issued."""
    total, measured_from = round(rate * (warmup + duration)), round(rate * warmup)
    start = time.perf_counter() + 0.05
    due, dropped = [start + i / rate for i in range(total)], []
    pool, before, cpu = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="open-loop"), None, {}

    def run(i: int) -> None:
        if STOP.is_set() or time.perf_counter() - due[i] > max_lag:
            dropped.append(i)
        else:
            send(i)

    try:
        for i, at in enumerate(due):
            if STOP.is_set():
                break
            if i == measured_from:
                before = cpu_snapshot(pids)
            time.sleep(max(0.0, at - time.perf_counter()))
            pool.submit(run, i)
        if before and not STOP.is_set():
            cpu = cpu_usage(before, cpu_snapshot(pids))
    except BaseException:  # Ctrl-C: drop the calls not started yet, wait only for those in flight
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)  # the calls queued behind busy workers still start, late (open loop)
    return {"due": due, "measured_from": measured_from, "dropped": sorted(dropped), "cpu": cpu}


class EventListener:
    """A private, exclusive queue bound to `<source>.events` with `routing_key` on the bench's vhost: the receive
    time (perf_counter) of the first event per envelope subject, without polling the HTTP API."""

    def __init__(self, amqp_uri: str, source: str, routing_key: str):
        self.amqp_uri, self.exchange, self.routing_key = amqp_uri, get_event_exchange(source, {}), routing_key
        self.seen: dict[str, float] = {}
        self.ready, self.done, self.error = threading.Event(), threading.Event(), None

    def _on_message(self, body, message) -> None:
        subject = body.get("subject") if isinstance(body, dict) else None
        if subject:
            self.seen.setdefault(subject, time.perf_counter())

    def _run(self) -> None:
        name = f"bench.listen.{self.routing_key}.{uuid.uuid4().hex[:8]}"
        queue = Queue(name, exchange=self.exchange, routing_key=self.routing_key, exclusive=True, auto_delete=True)
        try:
            with Connection(self.amqp_uri) as conn, Consumer(
                conn, [queue], callbacks=[self._on_message], accept=["json"], no_ack=True
            ):  # fmt: skip
                self.ready.set()
                while not self.done.is_set():
                    try:
                        conn.drain_events(timeout=0.2)
                    except TimeoutError:  # socket.timeout: nothing in the last 0.2 s
                        pass
        except Exception as exc:  # reported by start() or stop()
            self.error = exc
        finally:
            self.ready.set()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(30)
        if self.error or not self.thread.is_alive():
            raise RuntimeError(f"event listener failed: {self.error!r}")

    def stop(self) -> None:
        self.done.set()
        self.thread.join(10)


def queue_depths(amqp_uri: str) -> dict[str, int]:
    """Messages ready in every event handler's queue and dead-letter queue of the platform (non-zero only)."""
    from minqing.handlers import dlq_name
    from minqing.topology import all_event_handlers

    depths = {}
    with Connection(amqp_uri) as conn:
        channel = conn.default_channel
        for name, _, _ in all_event_handlers():
            for queue in (name, dlq_name(name)):
                try:
                    depths[queue] = channel.queue_declare(queue, passive=True).message_count
                except Exception:  # not declared (yet): nothing in it; the channel closed, open another
                    channel = conn.channel()
    return {k: v for k, v in depths.items() if v}


def settle(amqp_uri: str, timeout: float = 60) -> dict[str, int]:
    """Waits (up to `timeout` s) until no handler queue has messages waiting, twice in a row 0.5 s apart,
    so one measurement's backlog does not spill into the next. Returns what is left (dead letters stay)."""
    deadline, calm = time.monotonic() + timeout, 0
    while True:
        left = {k: v for k, v in queue_depths(amqp_uri).items() if not k.endswith(".dlq")}
        calm = 0 if left else calm + 1
        if calm >= 2 or time.monotonic() > deadline or STOP.is_set():
            return left
        time.sleep(0.5)


# --- the platform under test -------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


class Platform:
    """A private vhost and databases, migrated and seeded, with the services and the gateway running on them.

    `services` are the backend services to start (intake, and whatever else minqing.config.SERVICES lists);
    every service in SERVICES gets a database of its own: minqing_bench_<run> for intake,
    minqing_bench_<run>_<service> for the others."""

    def __init__(self, pg_admin: str, services: list[str], name: str | None = None, keep: bool = False):
        """`name`: databases named minqing_<name>[_<service>] instead of a fresh minqing_bench_<run>; with
        `keep` they outlive stop() (a loaded data set reused by later runs); the vhost is always private."""
        from minqing.config import SERVICES

        run = secrets.token_hex(4)
        self.pg_admin, self.services, self.vhost = pg_admin, services, f"minqing-bench-{run}"
        base, self.keep = f"minqing_{name}" if name else f"minqing_bench_{run}", keep
        self.dbs = {s: base + ("" if s == "intake" else f"_{s}") for s in SERVICES}
        self.db, self.db_url = self.dbs["intake"], self.url(self.dbs["intake"])
        self.amqp_uri = f"amqp://guest:guest@127.0.0.1:5672/{quote(self.vhost, safe='')}"
        self.var = Path(tempfile.mkdtemp(prefix="minqing-bench-"))
        self.port, self.secret = free_port(), secrets.token_urlsafe(32)
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = os.environ | {
            "MINQING_AMQP_URI": self.amqp_uri,
            "MINQING_VAR_DIR": str(self.var),
            "MINQING_HTTP_PORT": str(self.port),
            "MINQING_RATE_LIMIT_PER_MINUTE": "0",
            "MINQING_LOG_LEVEL": "WARNING",
            "MINQING_JWT_SECRET": self.secret,
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
        for service, db in self.dbs.items():
            self.env[f"MINQING_{service.upper()}_DB_URL"] = self.url(db)
            self.env[f"MINQING_{service.upper()}_METRICS_PORT"] = str(free_port())
        self.env["MINQING_GATEWAY_METRICS_PORT"] = str(free_port())
        self.vhost_made, self.dbs_made = False, []

    def url(self, db: str) -> str:
        return self.pg_admin.rsplit("/", 1)[0] + "/" + db

    def admin_sql(self, sql: str) -> None:
        conn = psycopg2.connect(self.pg_admin)
        conn.autocommit = True
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    def existing_dbs(self) -> list[str]:
        conn = psycopg2.connect(self.pg_admin)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (list(self.dbs.values()),))
                return sorted(row[0] for row in cur.fetchall())
        finally:
            conn.close()

    def prepare(self, create: bool = True, seed: bool = True) -> None:
        """The vhost, and the databases: created (`create`) or reused as they are, then migrated (alembic
        upgrade: a no-op when current) and, if `seed`, seeded with the demo."""
        if not self.vhost_made:
            self.vhost_made = True
            rabbitmqctl("add_vhost", self.vhost)
            rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        for db in self.dbs.values() if create else ():
            self.dbs_made.append(db)
            self.admin_sql(f'CREATE DATABASE "{db}"')
        for args in (["migrate"], ["seed-demo", "--quiet"])[: 2 if seed else 1]:
            command = [sys.executable, "-m", "minqing.cli", *args]
            done = subprocess.run(command, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=300)
            if done.returncode:
                raise RuntimeError(f"minqing {args[0]} failed:\n{done.stdout}\n{done.stderr}")

    def start(self, create: bool = True, seed: bool = True) -> None:
        """prepare(create, seed) unless done already, then start the services and the gateway."""
        if not self.vhost_made:
            self.prepare(create, seed)
        for name in [*self.services, "gateway"]:
            log = open(self.var / f"{name}.log", "w")  # noqa: SIM115  the child writes to it until it stops
            command = [sys.executable, "-m", "minqing.serve", name]
            # own session: a Ctrl-C reaches only the bench, which then stops the services in order
            self.procs[name] = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=log,
                                                start_new_session=True)  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and all(p.poll() is None for p in self.procs.values()):
            status, body = self.get("/readyz")
            checks = body.get("checks", {}) if isinstance(body, dict) else {}
            # ready, or ready as far as the services we started go (the gateway checks every service)
            if status == 200 or (checks and all(checks.get(s) == "ok" for s in ["broker", *self.services])):
                return
            time.sleep(0.5)
        logs = "\n".join(f"--- {n}.log\n" + (self.var / f"{n}.log").read_text()[-3000:] for n in self.procs)
        raise RuntimeError(f"services did not become ready\n{logs}")

    def get(self, path: str) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"null")
        except (OSError, http.client.HTTPException, ValueError):
            return 0, None
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
        self.procs = {}
        dropped = [] if self.keep else self.dbs_made
        undo = [lambda db=db: self.admin_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)') for db in dropped]
        if self.vhost_made:
            self.vhost_made = False
            undo.append(lambda: rabbitmqctl("delete_vhost", self.vhost))
        for action in undo:
            try:
                action()
            except Exception as exc:  # keep cleaning up the rest
                print(f"cleanup failed: {exc}", file=sys.stderr)
        for log in self.var.glob("*.log"):
            if "Traceback" in log.read_text(errors="replace"):
                print(f"note: {log.name} had tracebacks:\n{log.read_text(errors='replace')[-2000:]}", file=sys.stderr)
        shutil.rmtree(self.var, ignore_errors=True)


# --- py-spy ----------------------------------------------------------------------------------------------
def spy(pid: int, seconds: int, out: Path) -> subprocess.Popen | None:
    """On-CPU stack samples at 100 Hz without pausing the process, as collapsed stacks; None without py-spy."""
    pyspy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if not pyspy:
        return None
    command = [pyspy, "record", "--nonblocking", "-r", "100", "-d", str(seconds), "-f", "raw", "-o", str(out)]
    return subprocess.Popen([*command, "-p", str(pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


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

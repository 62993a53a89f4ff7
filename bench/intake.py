"""Intake benchmark: how many case registrations per second the platform takes, and at what latency.

What it measures, all in one run on this machine (client, services, RabbitMQ and PostgreSQL share its cores):

1. POST /api/v1/cases through the gateway (HTTP → nameko RPC over RabbitMQ → intake → PostgreSQL commit),
   closed loop with N keep-alive clients (threads + http.client) for --duration s after a 2 s warm-up:
   registrations/s, p50/p99/max latency, errors by status, and the CPU each party used.
2. register→visible: 20 samples at one client of POST-start until GET /api/v1/cases?q=<reference> lists it.
3. Baselines at the same concurrency: (a) raw kombu round trips — publish a persistent ~600-byte JSON
   message with publisher confirms to a durable queue, consume and ack it (closed loop per client);
   (b) raw PostgreSQL — one INSERT + COMMIT per row into a table as wide as a case row, one connection
   per thread. The ratios say how far the platform is from what the broker and the database allow.

It creates its own RabbitMQ vhost and PostgreSQL database, starts `minqing.serve intake` and `gateway` as
subprocesses, and removes all of it at the end (also on Ctrl-C or error). Writes bench/results-intake.json
and bench/results-intake.md. --profile also samples both services with py-spy under 8-client load.

    python bench/intake.py [--clients 1,8,32] [--duration 15] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
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
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg2
from kombu import Connection

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_RATE, TARGET_P99_MS, WARMUP = 300, 150, 2.0
STOP = threading.Event()  # set on Ctrl-C so the client threads stop at once

PLACES = "楼道 电梯 地下车库 单元门口 小区东门 垃圾分类点 绿化带 健身区 楼顶 自行车棚 消防通道 快递柜".split()
PROBLEMS = "灯不亮 漏水 堆放杂物 噪音扰民 门禁损坏 积水 异味明显 乱停车 墙皮脱落 监控失灵 充电插座坏了 井盖松动".split()
SENTENCES = """
已经持续一个多星期了，居民进出很不方便。
晚上十点以后尤其严重，老人孩子休息不好。
之前给物业打过电话，一直没有人来看。
下雨天情况更糟，地面很滑，担心有人摔倒。
楼里住着好几位行动不便的老人。
邻居们在群里讨论过，希望社区出面协调。
附近还有小学生每天经过，存在安全隐患。
我可以配合上门查看，白天家里有人。
上个月修过一次，没过几天又坏了。
麻烦网格员有空过来看一下现场情况。
""".split()


def case_body(rng: random.Random) -> dict:
    description = ""
    while len(description) < 40:
        description += rng.choice(SENTENCES)
    building = rng.randint(1, 60)
    return {
        "community": "maxian",
        "channel": "hotline",
        "title": f"{building}号楼{rng.choice(PLACES)}{rng.choice(PROBLEMS)}",
        "description": f"{building}号楼{rng.choice(PLACES)}{rng.choice(PROBLEMS)}，{description}"[:120],
        "location": {"building": f"maxian-b{building:02d}"},
    }


def pct(values: list[float], q: float) -> float:
    """q-th percentile in ms (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


# --- CPU accounting: % of one core per party, from /proc ----------------------------------------------
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
            ticks[group] += int(fields[11]) + int(fields[12])
    cpu = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    ticks["machine"] = sum(cpu) - cpu[3] - cpu[4]  # everything but idle and iowait
    return {k: v / os.sysconf("SC_CLK_TCK") for k, v in ticks.items()} | {"t": time.monotonic()}


def cpu_usage(before: dict, after: dict) -> dict[str, int]:
    elapsed = after["t"] - before["t"]
    return {k: round(100 * (after[k] - before.get(k, 0)) / elapsed) for k in after if k != "t"}


# --- the closed loop every measurement shares ----------------------------------------------------------
def closed_loop(clients: list, duration: float, pids: dict[str, int], warmup: float = WARMUP) -> dict:
    """clients: (op, close) pairs; op() does one request, returns None if it succeeded, else an error label.
    Counts what completes inside [warm-up end, warm-up end + duration]."""
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
                    (errors[i].update([error]) if error else lats[i].append(t1 - t0))
        finally:
            close()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(clients))]
    for t in threads:
        t.start()
    time.sleep(max(0.0, warm_until - time.perf_counter()))
    before = cpu_snapshot(pids)
    time.sleep(max(0.0, stop_at - time.perf_counter()))
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
    }


def http_client(port: int, token: str, seed: int):
    rng = random.Random(seed)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def op():
        nonlocal conn
        try:
            conn.request("POST", "/api/v1/cases", json.dumps(case_body(rng), ensure_ascii=False).encode(), headers)
            resp = conn.getresponse()
            resp.read()
            return None if resp.status == 201 else str(resp.status)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            return type(exc).__name__

    return op, lambda: conn.close()


def kombu_client(amqp_uri: str, queue: str, payload: dict):
    conn = Connection(amqp_uri, transport_options={"confirm_publish": True})
    simple = conn.SimpleQueue(queue)  # durable queue on a durable direct exchange

    def op():
        simple.put(payload, serializer="json", delivery_mode=2)
        simple.get(block=True, timeout=10).ack()

    def close():
        simple.close()
        conn.release()

    return op, close


PG_TABLE = """CREATE TABLE bench_rows (id varchar(32) PRIMARY KEY, community varchar(40) NOT NULL,
 reference varchar(32) NOT NULL, channel varchar(20) NOT NULL, title varchar(200) NOT NULL, description text NOT NULL,
 building varchar(60), grid varchar(60), status varchar(24) NOT NULL, registered_by varchar(120),
 registered_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, possible_duplicates json NOT NULL)"""


def pg_client(url: str, seed: int):
    rng, conn = random.Random(seed), psycopg2.connect(url)
    cur = conn.cursor()

    def op():
        body, now = case_body(rng), datetime.now(UTC)
        cur.execute(
            "INSERT INTO bench_rows VALUES (%s, %s, %s, 'hotline', %s, %s, %s, 'g1', 'registered', 'bench', %s, %s,"
            " '[]')",
            (
                uuid.uuid4().hex,
                "maxian",
                uuid.uuid4().hex[:14],
                body["title"],
                body["description"],
                body["location"]["building"],
                now,
                now,
            ),
        )
        conn.commit()

    return op, conn.close


# --- the platform under test ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Platform:
    """A private vhost + database, migrated and seeded, with intake and gateway running against them."""

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

    def _admin_sql(self, sql: str) -> None:
        conn = psycopg2.connect(self.pg_admin)
        conn.autocommit = True
        try:
            conn.cursor().execute(sql)
        finally:
            conn.close()

    def start(self) -> None:
        rabbitmqctl("add_vhost", self.vhost)
        self.vhost_made = True
        rabbitmqctl("set_permissions", "-p", self.vhost, "guest", ".*", ".*", ".*")
        self._admin_sql(f'CREATE DATABASE "{self.db}"')
        self.db_made = True
        for args in (["migrate"], ["seed-demo", "--quiet"]):
            done = subprocess.run(
                [sys.executable, "-m", "minqing.cli", *args],
                env=self.env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
            )
            if done.returncode:
                raise RuntimeError(f"minqing {args[0]} failed:\n{done.stdout}\n{done.stderr}")
        for name in ("intake", "gateway"):
            log = open(self.var / f"{name}.log", "w")  # noqa: SIM115  the child writes to it until it stops
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", "minqing.serve", name],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self.procs.values()):
                break
            if self.get("/readyz")[0] == 200:
                return
            time.sleep(0.5)
        logs = "\n".join(f"--- {n}.log\n" + (self.var / f"{n}.log").read_text()[-3000:] for n in self.procs)
        raise RuntimeError(f"services did not become ready\n{logs}")

    def get(self, path: str, token: str | None = None) -> tuple[int, dict | None]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
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
        for made, undo in (
            (self.db_made, lambda: self._admin_sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')),
            (self.vhost_made, lambda: rabbitmqctl("delete_vhost", self.vhost)),
        ):
            try:
                if made:
                    undo()
            except Exception as exc:  # keep cleaning up the rest
                print(f"cleanup failed: {exc}", file=sys.stderr)
        shutil.rmtree(self.var, ignore_errors=True)


def rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, timeout=60)


# --- measurements --------------------------------------------------------------------------------------
def visibility(port: int, token: str, samples: int = 20) -> dict:
    """POST a case, then poll the ledger for its reference: POST-start → first listing that shows it."""
    rng, conn = random.Random(99), http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    visible, polls, failed = [], [], 0
    for _ in range(samples):
        if STOP.is_set():
            break
        t0 = time.perf_counter()
        conn.request("POST", "/api/v1/cases", json.dumps(case_body(rng), ensure_ascii=False).encode(), headers)
        resp = conn.getresponse()
        case = json.loads(resp.read())
        if resp.status != 201:
            failed += 1
            continue
        query = urlencode({"community": "maxian", "q": case["reference"]})
        for n in range(1, 1001):  # at most ~10 s
            conn.request("GET", f"/api/v1/cases?{query}", headers=headers)
            resp = conn.getresponse()
            items = json.loads(resp.read()).get("items", []) if resp.status == 200 else []
            if any(item["id"] == case["id"] for item in items):
                visible.append(time.perf_counter() - t0)
                polls.append(n)
                break
            time.sleep(0.01)
        else:
            failed += 1
        time.sleep(0.05)
    conn.close()
    return {
        "samples": len(visible),
        "not_visible_or_failed": failed,
        "p50_ms": round(pct(visible, 50), 1),
        "p99_ms": round(pct(visible, 99), 1),
        "max_polls": max(polls, default=0),
    }


def profile(port: int, token: str, pids: dict[str, int], seconds: int = 10) -> dict:
    """py-spy (on-CPU samples, 100 Hz) of intake and gateway while 8 clients register cases."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    out = Path(tempfile.mkdtemp(prefix="minqing-bench-spy-"))
    spies = {
        name: subprocess.Popen(
            [
                pyspy,
                "record",
                "--nonblocking",
                "-r",
                "100",
                "-d",
                str(seconds),
                "-f",
                "raw",
                "-o",
                str(out / name),
                "-p",
                str(pids[name]),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name in ("intake", "gateway")
    }
    load = closed_loop([http_client(port, token, 7000 + i) for i in range(8)], seconds, pids, warmup=1)
    summary = {"load": load}
    for name, spy in spies.items():
        spy.wait(timeout=60)
        summary[name] = top_frames(out / name, seconds) if (out / name).exists() else ["py-spy failed"]
    shutil.rmtree(out, ignore_errors=True)
    return summary


def top_frames(path: Path, seconds: int, n: int = 25) -> list[str]:
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


# --- report --------------------------------------------------------------------------------------------
def markdown(results: dict) -> str:
    cpu_keys = ("intake", "gateway", "postgres", "rabbitmq", "bench-client", "machine")
    rows = [
        "| clients | reg/s | p50 ms | p99 ms | max ms | errors | kombu rt/s (p50/p99 ms) | PG commits/s (p99 ms) "
        "| reg ÷ kombu | reg ÷ PG | CPU % of a core: " + " / ".join(cpu_keys) + " |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    met = False
    for reg, mq, pg in zip(results["registrations"], results["kombu"], results["postgres"], strict=True):
        met |= reg["rate"] >= TARGET_RATE and reg["p99_ms"] < TARGET_P99_MS
        errors = ", ".join(f"{k}: {v}" for k, v in reg["errors"].items()) or "0"
        cpu = " / ".join(str(reg["cpu_pct_of_core"].get(k, 0)) for k in cpu_keys)
        rows.append(
            f"| {reg['clients']} | {reg['rate']} | {reg['p50_ms']} | {reg['p99_ms']} | {reg['max_ms']} "
            f"| {errors} | {mq['rate']} ({mq['p50_ms']}/{mq['p99_ms']}) | {pg['rate']} ({pg['p99_ms']}) "
            f"| {reg['rate'] / mq['rate']:.2f} | {reg['rate'] / pg['rate']:.2f} | {cpu} |"
        )
    vis = results["visibility"]
    rows += [
        "",
        f"register→visible in the ledger (1 client, {vis['samples']} samples): p50 {vis['p50_ms']} ms, "
        f"p99 {vis['p99_ms']} ms, at most {vis['max_polls']} poll(s); {vis['not_visible_or_failed']} failed",
        "",
        f"target: ≥ {TARGET_RATE} registrations/s with p99 < {TARGET_P99_MS} ms — "
        + ("MET" if met else "NOT met")
        + " (at any one concurrency level)",
    ]
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,8,32", help="comma-separated concurrency levels")
    parser.add_argument("--duration", type=float, default=15, help="measured seconds per level (after 2 s warm-up)")
    parser.add_argument("--baseline-duration", type=float, default=5, help="measured seconds per baseline level")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="admin URL")
    parser.add_argument("--profile", action="store_true", help="py-spy intake and gateway under 8 clients")
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    platform = Platform(args.pg_url)
    started = time.monotonic()
    try:
        platform.start()
        print(f"platform up in {time.monotonic() - started:.0f} s: vhost {platform.vhost}, database {platform.db}")
        from gateway.auth import mint

        token, pids = mint(platform.secret, "bench", "community_admin", ["maxian"]), platform.pids()
        results: dict = {"started": datetime.now(UTC).isoformat(), "args": vars(args), "cpus": os.cpu_count()}
        results["registrations"] = []
        for n in levels:
            clients = [http_client(platform.port, token, 1000 * n + i) for i in range(n)]
            results["registrations"].append(closed_loop(clients, args.duration, pids))
            print(f"registrations, {n} client(s): {results['registrations'][-1]}")
        results["visibility"] = visibility(platform.port, token)
        if args.profile:
            results["profile"] = profile(platform.port, token, pids)
            (HERE / "results-profile.txt").write_text(
                "\n".join(
                    [json.dumps(results["profile"]["load"])]
                    + [f"\n== {name}\n" + "\n".join(results["profile"][name]) for name in ("intake", "gateway")]
                )
                + "\n"
            )
        payload = {
            "args": [
                case_body(random.Random(1)),
                {"sub": "bench", "role": "community_admin", "communities": ["maxian"]},
                None,
            ],
            "kwargs": {},
        }
        results["kombu_payload_bytes"] = len(json.dumps(payload))
        results["kombu"] = []
        for n in levels:
            clients = [kombu_client(platform.amqp_uri, f"bench.kombu.{n}.{i}", payload) for i in range(n)]
            results["kombu"].append(closed_loop(clients, args.baseline_duration, pids, warmup=1))
            print(f"raw kombu round trips, {n} client(s): {results['kombu'][-1]}")
        with psycopg2.connect(platform.db_url) as conn, conn.cursor() as cur:
            cur.execute(
                PG_TABLE + "; CREATE INDEX ON bench_rows (community, registered_at, id);"
                " CREATE INDEX ON bench_rows (building, registered_at)"
            )
        results["postgres"] = []
        for n in levels:
            clients = [pg_client(platform.db_url, 5000 * n + i) for i in range(n)]
            results["postgres"].append(closed_loop(clients, args.baseline_duration, pids, warmup=1))
            print(f"raw PostgreSQL INSERT+COMMIT, {n} client(s): {results['postgres'][-1]}")
        table = markdown(results)
        print("\n" + table)
        (HERE / "results-intake.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        (HERE / "results-intake.md").write_text(
            f"# Intake benchmark ({results['started'][:19]}Z, {os.cpu_count()} CPUs, "
            f"{args.duration:g} s per level)\n\n{table}\n"
        )
        return 0
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        STOP.set()
        platform.stop()
        print(f"cleaned up (total {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())

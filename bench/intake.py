"""Intake benchmark: how many case registrations per second the platform takes, and at what latency.

    python bench/intake.py [--clients 1,8,32] [--duration 15] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
                           [--baseline-duration 5] [--services intake,...] [--assign-rates 20,50,100] [--profile]

Everything runs on this machine: the client, the services, RabbitMQ and PostgreSQL share its cores, so it
first waits (up to 60 s) for the machine to be idle, and reports what other load used meanwhile. It creates
a private RabbitMQ vhost and PostgreSQL databases, migrates and seeds the demo data, starts
`python -m minqing.serve <service>` for every backend service (minqing.config.SERVICES, or --services)
and the gateway, and removes all of it at the end, also on Ctrl-C or an error.

1. Registrations: POST /api/v1/cases (gateway → nameko RPC over RabbitMQ → intake → PostgreSQL commit),
   closed loop, N keep-alive clients (threads + http.client) for --duration s after a 2 s warm-up:
   registrations/s, p50/p99/max latency, errors by status, CPU per party (from /proc, % of one core;
   "other" is load from outside the benchmark) and how the intake's DB connections spend their time.
2. Register → visible: 20 samples at one client, POST start until GET /api/v1/cases?q=<reference> lists it.
   Register → assigned at a steady rate (--assign-rates, per second, each for --duration s after a 1 s warm-up;
   open loop: the i-th POST starts at i / rate whether or not earlier ones have returned, from up to 64
   connections): cases of category "elevator" in buildings maxian-b01..b60, which maxian's rules classify as
   committed and assign to the grid's leader (intake → case.registered → routing → case.assigned). The
   assignment is seen on a queue of the bench's own bound to the `routing.events` exchange (key case.assigned),
   matched by the envelope's subject to the POST response's id: POST start → event received, and how many
   were assigned within 30 s. Before each rate the platform's event queues are left to drain.
3. Baselines at the same concurrency, same vhost and database:
   (a) raw kombu round trip: publish a ~600-byte JSON message persistently with publisher confirms to a
       durable queue, consume it and ack (closed loop per client, one connection and queue each);
   (b) raw PostgreSQL: one INSERT + COMMIT per row into a table as wide as a case row (one connection each).
   The ratios say how far the platform is from what the broker and the database allow on this machine.
4. --profile: py-spy samples every service process for 10 s under 8 clients (bench/results-profile.txt).

Results: a table on stdout, bench/results-intake.md and bench/results-intake.json.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import psycopg2
from harness import (
    STOP,
    EventListener,
    Platform,
    WaitSampler,
    closed_loop,
    cpu_snapshot,
    cpu_usage,
    open_loop,
    pct,
    queue_depths,
    settle,
    spy,
    top_frames,
)
from kombu import Connection

from minqing.config import SERVICES

HERE = Path(__file__).resolve().parent
TARGET_RATE, TARGET_P99_MS = 300, 150
ASSIGN_WITHIN = 30  # s: a case not assigned by then counts as missed
SEEDS = itertools.count(1)  # every client of the run writes different cases

PLACES = "楼道 电梯 地下车库 单元门口 小区东门 垃圾分类点 绿化带 健身区 楼顶 自行车棚 消防通道 快递柜".split()
PROBLEMS = "灯不亮 漏水 堆放杂物 噪音扰民 门禁损坏 积水 异味明显 乱停车 墙皮脱落 监控失灵 充电插座坏了 井盖松动".split()
SENTENCES = """
已经持续一个多星期了，居民进出很不方便。 晚上十点以后尤其严重，老人孩子休息不好。 之前给物业打过电话，一直没有人来看。
下雨天情况更糟，地面很滑，担心有人摔倒。 楼里住着好几位行动不便的老人。 邻居们在群里讨论过，希望社区出面协调。
附近还有小学生每天经过，存在安全隐患。 我可以配合上门查看，白天家里有人。 上个月修过一次，没过几天又坏了。
麻烦网格员有空过来看一下现场情况。
""".split()


def case_body(rng: random.Random) -> dict:
    """A hotline case in one of maxian's 60 buildings; description 40-120 characters."""
    building = rng.randint(1, 60)
    description = f"{building}号楼{rng.choice(PLACES)}{rng.choice(PROBLEMS)}，"
    while len(description) < 40:
        description += rng.choice(SENTENCES)
    return {
        "community": "maxian",
        "channel": "hotline",
        "title": f"{building}号楼{rng.choice(PLACES)}{rng.choice(PROBLEMS)}",
        "description": description[:120],
        "location": {"building": f"maxian-b{building:02d}"},
    }


# --- one client of each kind: (op, close), op() → None or an error label ------------------------------------
def call(conn: http.client.HTTPConnection, method: str, path: str, headers: dict, body=None) -> tuple[object, dict]:
    """(HTTP status or the exception's name, JSON body); after an error the connection reopens by itself."""
    try:
        conn.request(method, path, body and json.dumps(body, ensure_ascii=False).encode(), headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    except (OSError, http.client.HTTPException, ValueError) as exc:
        conn.close()
        return type(exc).__name__, {}


def http_client(port: int, token: str):
    rng, conn = random.Random(next(SEEDS)), http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def op():
        status, _ = call(conn, "POST", "/api/v1/cases", headers, case_body(rng))
        return None if status == 201 else str(status)

    return op, conn.close


def kombu_client(amqp_uri: str, queue: str, payload: dict):
    conn = Connection(amqp_uri, transport_options={"confirm_publish": True})
    simple = conn.SimpleQueue(queue)  # a durable queue bound to a durable direct exchange

    def op():
        simple.put(payload, serializer="json", delivery_mode=2)  # returns once the broker confirmed it
        simple.get(block=True, timeout=10).ack()

    def close():
        simple.close()
        conn.release()

    return op, close


PG_TABLE = """CREATE TABLE bench_rows (id varchar(32) PRIMARY KEY, community varchar(40) NOT NULL,
 reference varchar(32) NOT NULL, channel varchar(20) NOT NULL, title varchar(200) NOT NULL, description text NOT NULL,
 building varchar(60), grid varchar(60), status varchar(24) NOT NULL, registered_by varchar(120),
 registered_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, possible_duplicates json NOT NULL);
CREATE INDEX ON bench_rows (community, registered_at, id); CREATE INDEX ON bench_rows (building, registered_at)"""
PG_INSERT = """INSERT INTO bench_rows VALUES
 (%s, 'maxian', %s, 'hotline', %s, %s, %s, 'maxian-g01', 'registered', 'bench', now(), now(), '[]')"""


def pg_client(url: str):
    rng, conn = random.Random(next(SEEDS)), psycopg2.connect(url)
    cur = conn.cursor()

    def op():
        body = case_body(rng)
        row = (
            uuid.uuid4().hex,
            uuid.uuid4().hex[:14],
            body["title"],
            body["description"],
            body["location"]["building"],
        )
        cur.execute(PG_INSERT, row)
        conn.commit()

    return op, conn.close


# --- measurements ----------------------------------------------------------------------------------------
def visibility(port: int, token: str, samples: int = 20) -> dict:
    """POST a case, then poll the ledger for its reference: POST start → first listing that shows it."""
    rng, conn = random.Random(next(SEEDS)), http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    visible, polls, failed = [], [], 0
    for _ in range(samples):
        if STOP.is_set():
            break
        t0 = time.perf_counter()
        status, case = call(conn, "POST", "/api/v1/cases", headers, case_body(rng))
        if status != 201:
            failed += 1
            continue
        query = urlencode({"community": "maxian", "q": case["reference"]})
        for n in range(1, 501):  # about 5 s at most
            status, page = call(conn, "GET", f"/api/v1/cases?{query}", headers)
            if status == 200 and any(item["id"] == case["id"] for item in page["items"]):
                visible.append(time.perf_counter() - t0)
                polls.append(n)
                break
            time.sleep(0.01)
        else:
            failed += 1
        time.sleep(0.05)  # a modest rate: about 10 registrations a second
    conn.close()
    p50, p99 = round(pct(visible, 50), 1), round(pct(visible, 99), 1)
    return {"samples": len(visible), "failed": failed, "p50_ms": p50, "p99_ms": p99, "max_polls": max(polls, default=0)}


def assignment(platform: Platform, token: str, rate: float, duration: float, pids: dict[str, int]) -> dict:
    """Open loop at `rate` registrations/s of elevator cases; POST start → case.assigned seen on routing.events."""
    left = settle(platform.amqp_uri)  # the previous measurement's backlog must not count against this one
    listener = EventListener(platform.amqp_uri, "routing", "case.assigned")
    listener.start()
    rng = random.Random(next(SEEDS))
    bodies = [case_body(rng) | {"category": "elevator"} for _ in range(round(rate * (duration + 1)))]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    local, conns, posts = threading.local(), [], {}  # posts: i → (POST start, POST end, status, case id)

    def send(i: int) -> None:
        if STOP.is_set():
            return
        if not hasattr(local, "conn"):
            local.conn = http.client.HTTPConnection("127.0.0.1", platform.port, timeout=ASSIGN_WITHIN)
            conns.append(local.conn)
        t0 = time.perf_counter()
        status, case = call(local.conn, "POST", "/api/v1/cases", headers, bodies[i])
        posts[i] = (t0, time.perf_counter(), status, case.get("id") if status == 201 else None)

    try:
        loop = open_loop(send, rate, duration, pids, max_lag=ASSIGN_WITHIN)
        scheduled, first = loop["due"], loop["measured_from"]
        # wait for the stragglers: each case gets ASSIGN_WITHIN s from its POST start, and no more
        wanted = {case_id: t0 for t0, _, _, case_id in posts.values() if case_id}
        deadline = max(wanted.values(), default=time.perf_counter()) + ASSIGN_WITHIN
        while not STOP.is_set() and time.perf_counter() < deadline and not wanted.keys() <= listener.seen.keys():
            time.sleep(0.1)
    finally:
        listener.stop()
        for conn in conns:
            conn.close()
    measured = [posts[i] for i in range(first, len(scheduled)) if i in posts]  # the POSTs started
    ok = [(i, t0, t1, case_id) for i, (t0, t1, _, case_id) in posts.items() if i >= first and case_id]
    seen = listener.seen
    assigned = [seen[case_id] - t0 for _, t0, _, case_id in ok if case_id in seen]
    from_schedule = [seen[case_id] - scheduled[i] for i, _, _, case_id in ok if case_id in seen]

    def ms(values: list[float], q: float) -> float:
        return round(pct(values, q), 1)

    return {
        "target_rate": rate,
        "sent": len(measured),
        # completed per second over the span they took (longer than `duration` if the platform fell behind)
        "rate": round(len(ok) / max(duration, max((t1 for _, _, t1, _ in ok), default=0) - scheduled[first]), 1),
        "not_sent_late": sum(1 for i in loop["dropped"] if i >= first),
        "posted_ok": len(ok),
        "post_errors": dict(Counter(str(status) for _, _, status, case_id in measured if not case_id)),
        "post_p50_ms": ms([t1 - t0 for _, t0, t1, _ in ok], 50),
        "post_p99_ms": ms([t1 - t0 for _, t0, t1, _ in ok], 99),
        "max_send_lag_ms": round(1000 * max((t0 - scheduled[i] for i, t0, _, _ in ok), default=0), 1),
        "assigned": len(assigned),
        "assigned_within_30s": sum(1 for x in assigned if x <= ASSIGN_WITHIN),
        "p50_ms": ms(assigned, 50),
        "p99_ms": ms(assigned, 99),
        "max_ms": round(1000 * max(assigned, default=float("nan")), 1),
        "from_schedule_p99_ms": ms(from_schedule, 99),
        "backlog_before": left,
        "cpu_pct_of_core": loop["cpu"],
    }


def profile(port: int, token: str, pids: dict[str, int], seconds: int = 10) -> str:
    out = Path(tempfile.mkdtemp(prefix="minqing-bench-spy-"))
    spies = {name: spy(pid, seconds, out / name) for name, pid in pids.items() if name != "bench-client"}
    load = closed_loop([http_client(port, token) for _ in range(8)], seconds, pids, warmup=0.5)
    report = [f"py-spy, {seconds} s at 100 Hz, under: {json.dumps(load)}"]
    for name, process in spies.items():
        if process:
            process.wait(timeout=60)
        lines = top_frames(out / name, seconds) if (out / name).exists() else ["no samples: is py-spy installed?"]
        report += ["", f"== {name}", *lines]
        (out / name).unlink(missing_ok=True)
    out.rmdir()
    return "\n".join(report) + "\n"


# --- report ----------------------------------------------------------------------------------------------
def markdown(results: dict) -> str:
    cpu_keys = [*results["processes"], "postgres", "rabbitmq", "bench-client", "irq", "other", "machine"]
    rows = [
        "| clients | reg/s | p50 ms | p99 ms | max ms | errors | kombu rt/s (p50/p99 ms) | PG commits/s (p99 ms) "
        "| reg ÷ kombu | reg ÷ PG | intake DB conns: lock-wait / active / idle-in-tx "
        "| CPU % of a core: " + " / ".join(cpu_keys) + " |",
        "|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    met = False
    for reg, mq, pg in zip(results["registrations"], results["kombu"], results["postgres"], strict=True):
        met |= reg["rate"] >= TARGET_RATE and reg["p99_ms"] < TARGET_P99_MS
        errors = ", ".join(f"{k}: {v}" for k, v in reg["errors"].items()) or "0"
        conns = " / ".join(
            str(reg["db_connections_avg"].get(k, 0)) for k in ("waiting_on_lock", "active", "idle in transaction")
        )
        cpu = " / ".join(str(reg["cpu_pct_of_core"].get(k, 0)) for k in cpu_keys)
        rows.append(
            f"| {reg['clients']} | {reg['rate']} | {reg['p50_ms']} | {reg['p99_ms']} | {reg['max_ms']} | {errors} "
            f"| {mq['rate']} ({mq['p50_ms']}/{mq['p99_ms']}) | {pg['rate']} ({pg['p99_ms']}) "
            f"| {reg['rate'] / mq['rate']:.3f} | {reg['rate'] / pg['rate']:.3f} | {conns} | {cpu} |"
        )
    rows.append("")
    for reg in results["registrations"]:
        cpu = reg["cpu_pct_of_core"]
        ms = {k: 10 * cpu.get(k, 0) / max(reg["rate"], 0.1) for k in [*results["processes"], "postgres", "rabbitmq"]}
        rows.append(
            f"- CPU per registration at {reg['clients']} client(s): "
            + ", ".join(f"{k} {v:.1f} ms" for k, v in ms.items())
            + f"; together {sum(ms.values()):.1f} ms, so {results['cpus']} cores allow at most "
            f"{1000 * results['cpus'] / max(sum(ms.values()), 0.1):.0f} reg/s"
        )
    for reg in results["registrations"]:
        if reg["lock_waits"]:
            rows.append(f"- {reg['clients']} clients, intake DB connections waiting, by lock: {reg['lock_waits']}")
    vis = results["visibility"]
    return "\n".join(rows + [
        f"- register → visible in the ledger (1 client, {vis['samples']} samples): p50 {vis['p50_ms']} ms, "
        f"p99 {vis['p99_ms']} ms; visible at the first poll: {vis['max_polls'] == 1}; failed: {vis['failed']}",
        f"- machine busy before the run (outside load): {results['machine_busy_before_pct']}% of a core",
        f"- target: ≥ {TARGET_RATE} registrations/s with p99 < {TARGET_P99_MS} ms at one concurrency level: "
        + ("MET" if met else "NOT MET"),
    ])  # fmt: skip


def assignment_markdown(results: dict) -> str:
    """The "register → assigned (steady rate)" section, beside the raw kombu round trip at one client."""
    cpu_keys = [*results["processes"], "postgres", "rabbitmq", "bench-client", "other", "machine"]
    rows = [
        "## register → assigned (steady rate)",
        "",
        'Open loop, category "elevator" in maxian-b01..b60 → rule: committed, assigned to the grid leader. '
        f"Clock: POST start → case.assigned received on the bench's own queue on routing.events; "
        f"{results['args']['duration']:g} s per rate after a 1 s warm-up.",
        "",
        "| target /s | done /s | POST ok | POST errors | POST p50/p99 ms | assigned ≤ 30 s | p50 ms | p99 ms | max ms "
        "| p99 from schedule ms | max send lag ms | CPU % of a core: " + " / ".join(cpu_keys) + " |",
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for a in results["assignment"]:
        late = {f"not sent, > {ASSIGN_WITHIN} s late": a["not_sent_late"]} if a["not_sent_late"] else {}
        errors = ", ".join(f"{k}: {v}" for k, v in (a["post_errors"] | late).items()) or "0"
        cpu = " / ".join(str(a["cpu_pct_of_core"].get(k, 0)) for k in cpu_keys)
        rows.append(
            f"| {a['target_rate']:g} | {a['rate']} | {a['posted_ok']} | {errors} "
            f"| {a['post_p50_ms']}/{a['post_p99_ms']} | {a['assigned_within_30s']} of {a['posted_ok']} "
            f"| {a['p50_ms']} | {a['p99_ms']} | {a['max_ms']} "
            f"| {a['from_schedule_p99_ms']} | {a['max_send_lag_ms']} | {cpu} |"
        )
    rows.append("")
    if results.get("kombu"):
        mq = results["kombu"][0]
        rows.append(
            f"- baseline, raw kombu publish → consume round trip ({mq['clients']} client, confirmed, persistent): "
            f"p50 {mq['p50_ms']} ms, p99 {mq['p99_ms']} ms"
            + "".join(
                f"; at {a['target_rate']:g}/s register → assigned p50 = {a['p50_ms'] / max(mq['p50_ms'], 0.01):.0f}"
                f"× that round trip"
                for a in results["assignment"]
            )
        )
    for a in results["assignment"]:
        if a["backlog_before"]:
            rows.append(f"- at {a['target_rate']:g}/s, queues not yet drained when it started: {a['backlog_before']}")
    if results.get("dead_letters"):
        rows.append(f"- dead letters after the run: {results['dead_letters']}")
    return "\n".join(rows)


def quiet_machine(wait: float = 60, busy_pct: int = 30) -> int:
    """Waits (up to `wait` s) until the machine is nearly idle; returns how busy it was, in % of a core."""
    deadline = time.monotonic() + wait
    while True:
        before = cpu_snapshot({})
        time.sleep(1)
        busy = cpu_usage(before, cpu_snapshot({}))["machine"]
        if busy < busy_pct or time.monotonic() > deadline:
            return busy
        print(f"waiting for the machine to quieten down: {busy}% of a core busy")


def interrupted(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="1,8,32", help="comma-separated concurrency levels")
    parser.add_argument("--duration", type=float, default=15, help="measured seconds per level (after 2 s warm-up)")
    parser.add_argument("--baseline-duration", type=float, default=5, help="measured seconds per baseline level")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="an admin URL")
    parser.add_argument("--services", help=f"backend services to start (default: all of {','.join(SERVICES)})")
    parser.add_argument("--assign-rates", default="20,50,100", help="register → assigned: registrations/s, '' for none")
    parser.add_argument("--profile", action="store_true", help="py-spy every service process under 8 clients")
    args = parser.parse_args()
    levels = [int(x) for x in args.clients.split(",")]
    signal.signal(signal.SIGTERM, interrupted)
    results: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "args": vars(args)}
    results |= {"cpus": os.cpu_count(), "machine_busy_before_pct": quiet_machine()}
    services = args.services.split(",") if args.services else list(SERVICES)
    results["processes"] = [*services, "gateway"]
    platform, started = Platform(args.pg_url, services), time.monotonic()
    try:
        print(
            f"setting up: vhost {platform.vhost}, database {platform.db}, processes {', '.join(results['processes'])}"
        )
        platform.start()
        print(f"platform up in {time.monotonic() - started:.0f} s")
        from gateway.auth import mint

        token, pids = mint(platform.secret, "bench", "community_admin", ["maxian"]), platform.pids()
        results["registrations"] = []
        for n in levels:
            clients = [http_client(platform.port, token) for _ in range(n)]
            probe = WaitSampler(platform.db_url)
            results["registrations"].append(closed_loop(clients, args.duration, pids, probe=probe))
            print(f"registrations, {n} client(s): {results['registrations'][-1]}")
        results["visibility"] = visibility(platform.port, token)
        results["assignment"] = []
        for rate in [float(x) for x in args.assign_rates.split(",") if x.strip()]:
            results["assignment"].append(assignment(platform, token, rate, args.duration, pids))
            print(f"register → assigned at {rate:g}/s: {results['assignment'][-1]}")
        results["dead_letters"] = {k: v for k, v in queue_depths(platform.amqp_uri).items() if k.endswith(".dlq")}
        if args.profile:
            (HERE / "results-profile.txt").write_text(profile(platform.port, token, pids))
        scope = {"sub": "bench", "role": "community_admin", "communities": ["maxian"]}
        payload = {"args": [case_body(random.Random(1)), scope, None], "kwargs": {}}  # like the RPC's
        results["kombu_payload_bytes"], results["kombu"] = len(json.dumps(payload)), []
        for n in levels:
            clients = [kombu_client(platform.amqp_uri, f"bench.kombu.{n}.{i}", payload) for i in range(n)]
            results["kombu"].append(closed_loop(clients, args.baseline_duration, pids, warmup=1))
            print(f"raw kombu round trips, {n} client(s): {results['kombu'][-1]}")
        with psycopg2.connect(platform.db_url) as conn, conn.cursor() as cur:
            cur.execute(PG_TABLE)
        results["postgres"] = []
        for n in levels:
            clients = [pg_client(platform.db_url) for _ in range(n)]
            results["postgres"].append(closed_loop(clients, args.baseline_duration, pids, warmup=1))
            print(f"raw PostgreSQL INSERT+COMMIT, {n} client(s): {results['postgres'][-1]}")
        table = markdown(results)
        if results["assignment"]:
            table += "\n\n" + assignment_markdown(results)
        print("\n" + table)
        (HERE / "results-intake.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
        title = f"# Intake benchmark, {results['started']}: {results['cpus']} CPUs, {args.duration:g} s per level, "
        title += "processes " + ", ".join(results["processes"])
        (HERE / "results-intake.md").write_text(f"{title}\n\n{table}\n")
        return 0
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        STOP.set()
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        platform.stop()
        print(f"cleaned up: vhost, database, processes (total {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())

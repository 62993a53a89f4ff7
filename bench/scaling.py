"""Scaling by copies: how many events a second copy of a service adds.

Starts the platform on a private vhost and PostgreSQL databases (bench/harness.py), then for routing and for
points, with 1 and then 2 copies of the service: publishes a burst of events to the service's queue as fast as
the broker confirms them and times until the service's database shows every one handled —

* routing: `case.registered` for demo buildings → classified and assigned by the rules (2 decisions each);
* points: `visit.recorded` by roster members who have member files → one award each.

Beside them, the raw broker baseline of the same run: persistent, confirmed kombu publishes consumed by a plain
kombu consumer. Results go to bench/results-scaling.md and .json.

    .venv/bin/python bench/scaling.py [--events 2000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
from kombu import Connection, Consumer, Queue
from nameko.standalone.events import get_event_exchange

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Platform, free_port  # noqa: E402

from minqing.events import make_envelope  # noqa: E402

OUT = Path(__file__).resolve().parent


def routing_events(n: int, run: str) -> list[dict]:
    now = datetime.now(UTC)
    return [
        make_envelope(
            "case.registered",
            source="intake",
            community="maxian",
            subject=f"{run}{i:08d}",
            version=1,
            time=now,
            data={
                "reference": f"MX-2099-{i:06d}",
                "channel": "hotline",
                "title": "楼下垃圾无人清运",
                "description": "垃圾桶满了两天",
                "category": "sanitation",
                "grid": f"maxian-g0{1 + i % 9}",
                "building": None,
                "registered_at": now,
            },
        )
        for i in range(n)
    ]


def points_events(n: int, run: str) -> list[dict]:
    visitors = [f"maxian-g0{g}-{role}" for g in range(1, 10) for role in ("leader", "party_instructor")]
    return [
        make_envelope(
            "visit.recorded",
            source="feedback",
            community="maxian",
            subject=f"{run}{i:08d}",
            version=1,
            data={"kind": "home", "visitor": visitors[i % len(visitors)]},
        )
        for i in range(n)
    ]


def publish(amqp_uri: str, source: str, envelopes: list[dict]) -> float:
    exchange = get_event_exchange(source, {})
    started = time.perf_counter()
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for envelope in envelopes:
            producer.publish(
                envelope, exchange=exchange, routing_key=envelope["type"], serializer="json", delivery_mode=2
            )
    return time.perf_counter() - started


def count(db_url: str, sql: str, run: str) -> int:
    conn = psycopg2.connect(db_url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, (run + "%",))
            return cur.fetchone()[0]
    finally:
        conn.close()


TARGETS = {
    "routing": ("intake", routing_events, "SELECT count(*) FROM decisions WHERE case_id LIKE %s", 2),
    "points": ("feedback", points_events, "SELECT count(*) FROM awards WHERE source LIKE 'visit:' || %s", 1),
}


def burst(platform: Platform, service: str, n: int) -> dict:
    source, make, sql, per_event = TARGETS[service]
    run = uuid.uuid4().hex[:8]
    db_url = platform.url(platform.dbs[service])
    envelopes = make(n, run)
    started = time.perf_counter()
    publish_s = publish(platform.amqp_uri, source, envelopes)
    while count(db_url, sql, run) < n * per_event:
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"{service}: not all {n} events handled in 600 s")
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    return {"events": n, "seconds": round(elapsed, 2), "per_s": round(n / elapsed, 1), "publish_s": round(publish_s, 2)}


def copy(platform: Platform, service: str) -> subprocess.Popen:
    env = platform.env | {f"MINQING_{service.upper()}_METRICS_PORT": str(free_port())}
    log = open(platform.var / f"{service}-copy.log", "w")  # noqa: SIM115  the child writes until it stops
    return subprocess.Popen([sys.executable, "-m", "minqing.serve", service], env=env, stdout=log, stderr=log)


def consumers(vhost: str, queue: str) -> int:
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "consumers", "--no-table-headers"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return next((int(n) for name, n in (line.split() for line in out.splitlines() if line.strip()) if name == queue), 0)


def raw_broker(amqp_uri: str, n: int) -> dict:
    queue = Queue(f"bench-raw-{uuid.uuid4().hex[:6]}", durable=True, auto_delete=True)
    body = points_events(1, "raw")[0]
    got = 0

    def on_message(body, message):
        nonlocal got
        got += 1
        message.ack()

    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        started = time.perf_counter()
        producer = conn.Producer()
        for _ in range(n):
            producer.publish(body, routing_key=queue.name, declare=[queue], serializer="json", delivery_mode=2)
        with Connection(amqp_uri) as consumer_conn, Consumer(consumer_conn, [queue], callbacks=[on_message]):
            while got < n:
                consumer_conn.drain_events(timeout=10)
        elapsed = time.perf_counter() - started
    return {"events": n, "seconds": round(elapsed, 2), "per_s": round(n / elapsed, 1)}


QUEUES = {
    "routing": "evt-intake-case.registered--routing.on_case_registered",
    "points": "evt-feedback-visit.recorded--points.on_visit_recorded",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=2000, help="events per burst")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    # only the services under test: the events are synthetic, so intake's ledger has no such cases and would
    # spend the cores retrying routing's answers about them
    platform = Platform(args.pg_url, ["routing", "points"])
    results: dict = {"events": args.events, "when": datetime.now(UTC).isoformat(timespec="seconds")}
    try:
        print("starting the platform (migrate, demo data, services)…", flush=True)
        platform.start()
        results["raw kombu"] = raw_broker(platform.amqp_uri, args.events)
        print(f"raw kombu publish → consume: {results['raw kombu']}", flush=True)
        for service in ("routing", "points"):
            burst(platform, service, 200)  # warm-up: caches, connection pools
            one = burst(platform, service, args.events)
            extra = copy(platform, service)
            deadline = time.monotonic() + 60
            while consumers(platform.vhost, QUEUES[service]) < 2 and time.monotonic() < deadline:
                time.sleep(0.5)
            burst(platform, service, 200)
            two = burst(platform, service, args.events)
            extra.terminate()
            extra.wait(timeout=30)
            results[service] = {"1 copy": one, "2 copies": two, "speed-up": round(two["per_s"] / one["per_s"], 2)}
            print(f"{service}: 1 copy {one['per_s']}/s, 2 copies {two['per_s']}/s", flush=True)
    finally:
        platform.stop()
    (OUT / "results-scaling.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    raw = results["raw kombu"]["per_s"]
    lines = [
        f"# Scaling by copies ({results['when']}, {args.events} events per burst, this 2-core machine)",
        "",
        "| service | events | 1 copy /s | 2 copies /s | speed-up | raw kombu /s | 2 copies ÷ raw |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for service in ("routing", "points"):
        r = results[service]
        lines.append(
            f"| {service} | {args.events} | {r['1 copy']['per_s']} | {r['2 copies']['per_s']} | {r['speed-up']}× "
            f"| {raw} | {r['2 copies']['per_s'] / raw:.3f} |"
        )
    (OUT / "results-scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Reads at scale and redemption: the ledger and the stats over 1,000,000 cases, and points redemptions under
concurrent clients, each beside raw PostgreSQL doing the same work in the same run.

    python bench/scale.py [--cases 1000000] [--keep [--name NAME]] [--reuse NAME] [--load-only]
                          [--duration 6] [--redeem-clients 1,8,32] [--explain] [--profile] [--only ledger,stats,redeem]

Loading (bench/scale_data.py): a private set of databases minqing_<NAME> (intake), minqing_<NAME>_routing,
_feedback, _points, migrated and seeded with the demo, then 1,000,000 cases over three years and 24
communities written with COPY into intake's ledger and feedback's copy of the cases (a tqdm bar shows it).
`--keep` keeps them (NAME defaults to scale_<random>; the name is printed); `--reuse NAME` measures on a set
loaded before (migrated first, so a new index migration is applied to it); without either they are dropped.

Measuring: intake, feedback, points and the gateway run as processes on those databases (a private RabbitMQ
vhost, removed at the end); each request goes client → gateway → RPC → service → PostgreSQL. Before each
measurement the bench waits (up to 60 s) for the machine to be idle and records how busy it was.

1. Ledger: `GET /api/v1/cases?community=maxian&limit=50` (maxian: the biggest community, ~120,000 cases)
   with one filter at a time (status, channel, grid, handler, overdue, a month's date range, q for a common
   word, for a rare phrase and for a reference, a cursor 50,000 cases deep) and a district admin's
   unfiltered first page; each request draws its values at random. Baseline: the SQL the service issues
   (ledger.list_statement compiled for PostgreSQL) run with psycopg2 with the same values, and a single-row
   primary-key SELECT.
2. Stats: `GET /api/v1/stats` grouped by community (district-wide), grid, handler and channel (maxian),
   over a month, a quarter and a year. Baseline: the SQL the feedback service issues for it, run directly.
3. Redemption: `POST /api/v1/redemptions` with an Idempotency-Key, N members with balances and one reward
   with stock, closed loop with 1, 8 and 32 clients; baseline: the same statements in one transaction
   (idempotency look-up, member, reward, guarded balance UPDATE, ledger entry, guarded stock UPDATE,
   redemption, idempotency row, COMMIT) straight on PostgreSQL at the same concurrency.

p50/p95/p99 are nearest-rank percentiles of the requests completed in the measured window (1 client for
reads: latency, not throughput). Results: bench/results-scale.md and bench/results-scale.json; --explain adds
EXPLAIN (ANALYZE, BUFFERS) of every read's SQL to bench/results-scale-explain.txt; --profile samples intake,
feedback and the gateway with py-spy during the reads (bench/results-scale-profile-{ledger,stats}.txt).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import psycopg2
import scale_data
from harness import STOP, Platform, closed_loop, spy, top_frames
from intake import interrupted, quiet_machine

HERE = Path(__file__).resolve().parent
SERVICES = ["intake", "feedback", "points"]
TARGETS_MS = {"ledger": 50, "stats": 300}  # p95 at 1,000,000 cases
BIG = "maxian"


# --- requests: an HTTP client and a raw SQL client per operation -----------------------------------------------
def http_client(port: int, token: str, paths: list[str], method: str = "GET", bodies=None, fresh: bool = False):
    """One keep-alive connection, as a browser or a proxy keeps one; `fresh`: a new connection per request."""
    conn, rng = http.client.HTTPConnection("127.0.0.1", port, timeout=60), random.Random(secrets.randbits(32))
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def op():
        if fresh:
            conn.close()
        extra = {}
        body = None
        if bodies:
            body = json.dumps(bodies(rng)).encode()
            extra = {"Idempotency-Key": uuid.uuid4().hex}
        try:
            conn.request(method, rng.choice(paths) if paths else "/api/v1/redemptions", body, headers | extra)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            return type(exc).__name__
        return None if resp.status in (200, 201) else str(resp.status)

    return op, conn.close


def sql_client(url: str, statements: list[tuple[str, dict]]):
    conn, rng = psycopg2.connect(url), random.Random(secrets.randbits(32))
    conn.autocommit = True
    cur = conn.cursor()

    def op():
        sql, params = rng.choice(statements)
        cur.execute(sql, params)
        cur.fetchall()

    return op, conn.close


def compile_pg(statement) -> tuple[str, dict]:
    from sqlalchemy.dialects.postgresql import psycopg2 as pg

    dialect = pg.dialect()
    dialect._backslash_escapes = False  # standard_conforming_strings is on, as SQLAlchemy finds when it connects
    compiled = statement.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return str(compiled), dict(compiled.params)


def measure(name: str, kind: str, clients_http, clients_sql, duration: float, pids, busy: int) -> dict:
    http_result = closed_loop(clients_http, duration, pids, warmup=1.0)
    sql_result = closed_loop(clients_sql, duration, pids, warmup=0.5) if clients_sql else None
    row = {"operation": name, "kind": kind, "http": http_result, "sql": sql_result, "machine_busy_pct": busy}
    print(f"{name}: p50 {http_result['p50_ms']} p95 {http_result['p95_ms']} p99 {http_result['p99_ms']} ms"
          + (f" | SQL p50 {sql_result['p50_ms']} p95 {sql_result['p95_ms']} ms" if sql_result else "")
          + (f" | errors {http_result['errors']}" if http_result["errors"] else ""))  # fmt: skip
    return row


# --- the workloads ---------------------------------------------------------------------------------------------
def ledger_workloads(intake_url: str, meta: dict, rng: random.Random) -> list[tuple[str, dict, list[dict]]]:
    """(name, scope, list of query-string dicts) per ledger operation; values drawn from the loaded data."""
    with psycopg2.connect(intake_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT code FROM grids WHERE community = %s ORDER BY code", (BIG,))
        grids = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT handler_id FROM cases WHERE community = %s AND handler_id IS NOT NULL GROUP BY 1 "
            "ORDER BY count(*) DESC LIMIT 40",
            (BIG,),
        )
        handlers = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT reference FROM cases WHERE community = %s ORDER BY random() LIMIT 200", (BIG,))
        references = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT registered_at, id FROM cases WHERE community = %s ORDER BY registered_at DESC, id DESC "
            "OFFSET 50000 LIMIT 200",
            (BIG,),
        )
        deep = [r for r in cur.fetchall()]
    from minqing import paging

    now = datetime.fromisoformat(meta["now"])
    months = [now - timedelta(days=30 * k) for k in range(1, 34)]

    def month_range(start: datetime) -> dict:
        return {"from": start.isoformat(), "to": (start + timedelta(days=30)).isoformat()}

    base = {"community": BIG, "limit": 50}
    staff = {"sub": "bench", "role": "community_admin", "communities": [BIG], "bureau": None}
    district = {"sub": "bench", "role": "district_admin", "communities": ["*"], "bureau": None}
    statuses_open = ["in_progress", "escalated", "awaiting_supplement", "accepted", "assigned", "registered"]
    return [
        ("first page", staff, [base]),
        ("first page, a new connection per request", staff, [base]),
        ("status (open ones)", staff, [base | {"status": s} for s in statuses_open]),
        ("status=closed", staff, [base | {"status": "closed"}]),
        ("channel", staff, [base | {"channel": c} for c in scale_data.CHANNEL_WEIGHTS]),
        ("grid", staff, [base | {"grid": g} for g in grids]),
        ("handler", staff, [base | {"handler": h} for h in handlers]),
        ("overdue=true", staff, [base | {"overdue": "true"}]),
        ("date range (a month)", staff, [base | month_range(m) for m in months]),
        ("q common word (漏水)", staff, [base | {"q": "漏水"}]),
        ("q rare phrase", staff, [base | {"q": scale_data.RARE_PHRASE}]),
        ("q reference", staff, [base | {"q": r} for r in references]),
        ("cursor 50,000 deep", staff, [base | {"cursor": paging.encode(t.isoformat(), i)} for t, i in deep]),
        ("district, no filter", district, [{"limit": 50}]),
        ("district, status=escalated", district, [{"limit": 50, "status": "escalated"}]),
    ]


def stats_workloads(meta: dict) -> list[tuple[str, dict, list[dict]]]:
    now = datetime.fromisoformat(meta["now"]).astimezone(scale_data.TZ)
    last_month = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    quarter = (now.month - 1) // 3  # the last full quarter
    last_quarter = f"{now.year}-Q{quarter}" if quarter else f"{now.year - 1}-Q4"
    last_year = str(now.year - 1)
    district = {"sub": "bench", "role": "district_admin", "communities": ["*"], "bureau": None}
    out = []
    for period_name, period in (("month", last_month), ("quarter", last_quarter), ("year", last_year)):
        out.append((f"by community, district, {period_name} ({period})", district,
                    [{"period": period, "group_by": "community"}]))  # fmt: skip
        for group in ("grid", "handler", "channel"):
            out.append((f"by {group}, {BIG}, {period_name} ({period})", district,
                        [{"community": BIG, "period": period, "group_by": group}]))  # fmt: skip
    return out


def ledger_sql(scope: dict, queries: list[dict], now: datetime) -> list[tuple[str, dict]]:
    from minqing.rpc import load
    from services.intake import ledger
    from services.intake import schemas as s

    return [compile_pg(ledger.list_statement(load(s.LedgerQuery, q), scope, now)) for q in queries]


def stats_sql(scope: dict, queries: list[dict], now: datetime) -> list[tuple[str, dict]]:
    from minqing.rpc import load
    from services.feedback import schemas as s
    from services.feedback import statistics

    out = []
    for q in queries:
        query = load(s.StatsQuery, q)
        if hasattr(statistics, "aggregate_statement"):  # the SQL the service runs on PostgreSQL
            out.append(compile_pg(statistics.aggregate_statement(query, scope, now)))
        else:
            start, end = statistics.period_of(query, now)
            out.append(compile_pg(statistics.rows_statement(query, scope, start, end)))
    return out


def explain(url: str, statements: list[tuple[str, str, dict]]) -> str:
    out = []
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        for name, sql, params in statements:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            out += [f"== {name}", cur.mogrify(sql, params).decode(), "", *(r[0] for r in cur.fetchall()), ""]
    return "\n".join(out)


# --- redemption ----------------------------------------------------------------------------------------------
def redemption_setup(points_url: str, members: int, now: datetime) -> tuple[list[str], str]:
    """`members` new members of maxian with 1,000,000 points each (an opening correction in the ledger, so
    the books balance) and a new reward priced 10 with 10,000,000 in stock."""
    tag = secrets.token_hex(3)
    ids = [f"bench-{tag}-{i:05d}" for i in range(members)]
    reward = f"bench-{tag}-reward"
    with psycopg2.connect(points_url) as conn, conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO members (id, community, name, branch, status, professions, specialties, availability,
               search_text, active, balance, registered_at, updated_at)
               VALUES (%s, %s, %s, '第一党支部', 'serving', '[]', '[]', '[]', '', true, 1000000, %s, %s)""",
            [(m, BIG, f"党员{i}", now, now) for i, m in enumerate(ids)],
        )
        cur.executemany(
            """INSERT INTO point_entries (member_id, community, kind, points, balance_after, reason, source, actor,
               created_at) VALUES (%s, %s, 'correction', 1000000, 1000000, 'bench opening balance', 'admin',
               'bench', %s)""",
            [(m, BIG, now) for m in ids],
        )
        cur.execute(
            """INSERT INTO rewards (id, community, name, price, stock, active, created_at, updated_at)
               VALUES (%s, %s, '环保购物袋', 10, 10000000, true, %s, %s)""",
            (reward, BIG, now, now),
        )
    return ids, reward


def raw_redeem_client(points_url: str, member_ids: list[str], reward: str):
    """The redemption's statements, in the service's order, in one transaction per redemption."""
    conn, rng = psycopg2.connect(points_url), random.Random(secrets.randbits(32))
    cur = conn.cursor()

    def op():
        member, key, rid, at = rng.choice(member_ids), uuid.uuid4().hex, uuid.uuid4().hex, datetime.now(UTC)
        cur.execute("SELECT fingerprint, response FROM idempotency_keys WHERE principal = %s AND key = %s",
                    ("bench", key))  # fmt: skip
        cur.execute("SELECT * FROM members WHERE id = %s", (member,))
        cur.fetchone()
        cur.execute("SELECT * FROM rewards WHERE id = %s", (reward,))
        cur.fetchone()
        cur.execute("UPDATE members SET balance = balance + -10 WHERE id = %s AND balance >= 10 RETURNING balance",
                    (member,))  # fmt: skip
        balance = cur.fetchone()[0]
        cur.execute(
            """INSERT INTO point_entries (member_id, community, kind, points, balance_after, reason, source, actor,
               created_at) VALUES (%s, %s, 'redemption', -10, %s, '兑换 环保购物袋 ×1', %s, 'bench', %s)
               RETURNING id""",
            (member, BIG, balance, f"redemption:{rid}", at),
        )
        cur.execute(
            "UPDATE rewards SET stock = stock - 1, updated_at = %s WHERE id = %s AND active AND stock >= 1 "
            "RETURNING stock",
            (at, reward),
        )
        cur.execute(
            """INSERT INTO redemptions (id, community, member_id, reward_id, reward_name, quantity, points, status,
               requested_by, created_at) VALUES (%s, %s, %s, %s, '环保购物袋', 1, 10, 'reserved', 'bench', %s)""",
            (rid, BIG, member, reward, at),
        )
        cur.execute("SAVEPOINT idem")
        cur.execute(
            "INSERT INTO idempotency_keys (principal, key, fingerprint, response, created_at) "
            "VALUES (%s, %s, %s, %s, %s)",
            ("bench", key, "f" * 64, "{}", at),
        )
        cur.execute("RELEASE SAVEPOINT idem")
        conn.commit()

    return op, conn.close


# --- report ------------------------------------------------------------------------------------------------
def markdown(results: dict) -> str:
    lines = [
        "| operation | p50 ms | p95 ms | p99 ms | n | baseline: same SQL direct p50 / p95 ms | ratio p95 ÷ SQL p95 "
        "| target | met? |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for kind in ("ledger", "stats"):
        for row in results.get(kind, []):
            h, q = row["http"], row["sql"]
            target = TARGETS_MS[kind]
            ratio = f"{h['p95_ms'] / q['p95_ms']:.1f}×" if q and q["p95_ms"] else "–"
            base = f"{q['p50_ms']} / {q['p95_ms']}" if q else "–"
            met = "yes" if h["p95_ms"] < target and not h["errors"] else "**no**"
            lines.append(
                f"| {kind}: {row['operation']} | {h['p50_ms']} | {h['p95_ms']} | {h['p99_ms']} | {h['ok']} | {base} "
                f"| {ratio} | p95 < {target} ms | {met} |"
            )
    if results.get("pk_baseline"):
        pk = results["pk_baseline"]
        lines.append(
            f"| baseline: one case by primary key (psycopg2) | {pk['p50_ms']} | {pk['p95_ms']} | {pk['p99_ms']} "
            f"| {pk['ok']} | – | – | – | – |"
        )
    if results.get("redemptions"):
        lines += [
            "",
            "| redemption clients | redemptions/s | p50 ms | p95 ms | p99 ms | errors | raw PG same transaction: "
            "commits/s (p50 / p99 ms) | ÷ raw PG | machine busy before % |",
            "|---:|---:|---:|---:|---:|---|---:|---:|---:|",
        ]
        for row in results["redemptions"]:
            h, q = row["http"], row["sql"]
            errors = ", ".join(f"{k}: {v}" for k, v in h["errors"].items()) or "0"
            lines.append(
                f"| {h['clients']} | {h['rate']} | {h['p50_ms']} | {h['p95_ms']} | {h['p99_ms']} | {errors} "
                f"| {q['rate']} ({q['p50_ms']} / {q['p99_ms']}) | {h['rate'] / q['rate']:.3f} "
                f"| {row['machine_busy_pct']} |"
            )
    busy = [r["machine_busy_pct"] for k in ("ledger", "stats", "redemptions") for r in results.get(k, [])]
    load = results["load"]
    lines += [
        "",
        f"- data: {load['cases']:,} cases over {scale_data.YEARS} years in {len(load['per_community'])} "
        f"communities ({BIG}: {load['per_community'].get(BIG, 0):,}), loaded {load['now'][:10]} in "
        f"{load['seconds']['total']:.0f} s ({load['seconds']}); databases {results['databases']}",
        f"- machine busy before each measurement (other load, % of one core, after waiting up to 60 s for it to "
        f"quieten): min {min(busy, default=0)}, max {max(busy, default=0)}; load average at the start "
        f"{results['loadavg_start']}",
        f"- reads: 1 client, {results['args']['duration']:g} s per operation after a 1 s warm-up; raw SQL likewise",
        "- every read is one keep-alive connection (as a browser or a proxy keeps one) except 'a new connection per "
        "request'; the two agree since the gateway sets TCP_NODELAY (before it, Nagle's algorithm and the client's "
        "delayed ACK added ~40 ms to every kept-alive answer: bench/PROFILE-scale.md)",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the databases loaded here (see --name)")
    parser.add_argument("--name", help="databases minqing_NAME[_service] (default scale_<random>)")
    parser.add_argument("--reuse", metavar="NAME", help="measure on databases minqing_NAME* loaded before")
    parser.add_argument("--load-only", action="store_true", help="load and stop (with --keep)")
    parser.add_argument("--duration", type=float, default=6, help="measured seconds per read operation")
    parser.add_argument("--redeem-clients", default="1,8,32")
    parser.add_argument("--redeem-duration", type=float, default=10)
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--only", default="ledger,stats,redeem", help="which measurements")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every read's SQL")
    parser.add_argument("--profile", action="store_true", help="py-spy the services during the stats reads")
    parser.add_argument("--out", default="results-scale", help="file name stem in bench/")
    parser.add_argument("--quiet-wait", type=float, default=60, help="s to wait for an idle machine, at most")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres", help="an admin URL")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, interrupted)
    only = set(args.only.split(","))
    name = args.reuse or args.name or f"scale_{secrets.token_hex(3)}"
    platform = Platform(args.pg_url, SERVICES, name=name, keep=bool(args.keep or args.reuse))
    results: dict = {"started": datetime.now(UTC).isoformat(timespec="seconds"), "args": vars(args),
                     "cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
                     "databases": sorted(platform.dbs.values())}  # fmt: skip
    started = time.monotonic()
    intake_url, feedback_url = platform.url(platform.dbs["intake"]), platform.url(platform.dbs["feedback"])
    points_url = platform.url(platform.dbs["points"])
    try:
        if args.reuse:
            missing = set(platform.dbs.values()) - set(platform.existing_dbs())
            if missing or not (meta := scale_data.read_meta(intake_url)):
                raise SystemExit(f"--reuse {name}: no loaded data set (missing: {sorted(missing) or 'the meta row'})")
            print(f"reusing {name}: {meta['cases']:,} cases loaded {meta['now'][:10]}; migrating")
            platform.prepare(create=False, seed=False)
        else:
            if platform.existing_dbs():
                raise SystemExit(f"databases minqing_{name}* exist already: --reuse {name}, or drop them")
            print(f"creating, migrating and seeding {sorted(platform.dbs.values())}")
            platform.prepare(create=True, seed=True)
            print(f"platform databases ready in {time.monotonic() - started:.0f} s; loading {args.cases:,} cases")
            meta = scale_data.load(intake_url, feedback_url, args.cases, datetime.now(UTC))
            scale_data.save_meta(intake_url, meta)
            print(f"loaded in {meta['seconds']['total']:.0f} s: {meta['seconds']}")
            if args.keep:
                print(f"kept: reuse with --reuse {name}")
        results["load"] = meta
        if args.load_only:
            return 0
        platform.start()
        print(f"services up ({', '.join(SERVICES)}, gateway) after {time.monotonic() - started:.0f} s")
        from gateway.auth import mint

        pids, now = platform.pids(), datetime.now(UTC)
        tokens = {
            "community_admin": mint(platform.secret, "bench", "community_admin", [BIG]),
            "district_admin": mint(platform.secret, "bench", "district_admin", ["*"]),
        }
        rng, explained = random.Random(7), []
        for kind, workloads, path, to_sql, url in (
            ("ledger", ledger_workloads(intake_url, meta, rng) if "ledger" in only else [], "/api/v1/cases",
             ledger_sql, intake_url),
            ("stats", stats_workloads(meta) if "stats" in only else [], "/api/v1/stats", stats_sql, feedback_url),
        ):  # fmt: skip
            results[kind] = []
            spies, spy_dir, spied_from = {}, Path(tempfile.mkdtemp(prefix="minqing-scale-spy-")), time.monotonic()
            if args.profile and workloads:  # stopped with SIGINT when this kind is done
                spies = {n: spy(pids[n], 3600, spy_dir / n) for n in ("intake", "feedback", "gateway")}
            for op_name, scope, queries in workloads:
                if STOP.is_set():
                    break
                busy = quiet_machine(args.quiet_wait)
                paths = [f"{path}?{urlencode(q)}" for q in queries]
                statements = to_sql(scope, queries, now)
                token = tokens[scope["role"]]
                fresh = "new connection" in op_name
                results[kind].append(
                    measure(
                        op_name,
                        kind,
                        [http_client(platform.port, token, paths, fresh=fresh)],
                        [sql_client(url, statements)],
                        args.duration,
                        pids,
                        busy,
                    )  # fmt: skip
                )
                explained.append((f"{kind}: {op_name}", url, *statements[0]))
            if spies:
                seconds, report = round(time.monotonic() - spied_from), []
                for n, process in spies.items():
                    if process:
                        process.send_signal(signal.SIGINT)
                        process.wait(timeout=60)
                    lines = top_frames(spy_dir / n, seconds) if (spy_dir / n).exists() else ["no samples (py-spy?)"]
                    report += ["", f"== {n}", *lines]
                title = f"py-spy, 100 Hz, the {kind} reads ({seconds} s, quiet waits and raw SQL included)"
                (HERE / f"{args.out}-profile-{kind}.txt").write_text(title + "\n" + "\n".join(report) + "\n")
        if "ledger" in only:
            with psycopg2.connect(intake_url) as conn, conn.cursor() as cur:
                cur.execute("SELECT id FROM cases TABLESAMPLE SYSTEM (0.1)")
                ids = [r[0] for r in cur.fetchall()]
            statements = [("SELECT * FROM cases WHERE id = %(id)s", {"id": i}) for i in ids]
            quiet_machine(args.quiet_wait)
            results["pk_baseline"] = closed_loop([sql_client(intake_url, statements)], args.duration, pids, 0.5)
        if args.explain and explained:
            text = "\n".join(explain(u, [(n, sql, params)]) for n, u, sql, params in explained)
            (HERE / f"{args.out}-explain.txt").write_text(text)
        if "redeem" in only:
            members, reward = redemption_setup(points_url, args.members, now)
            token = tokens["community_admin"]
            results["redemptions"] = []
            for n in [int(x) for x in args.redeem_clients.split(",")]:
                busy = quiet_machine(args.quiet_wait)

                def body(r):
                    return {"member": r.choice(members), "reward": reward, "quantity": 1}

                clients = [http_client(platform.port, token, [], "POST", body) for _ in range(n)]
                http_result = closed_loop(clients, args.redeem_duration, pids, warmup=2)
                raw = [raw_redeem_client(points_url, members, reward) for _ in range(n)]
                sql_result = closed_loop(raw, args.redeem_duration / 2, pids, warmup=1)
                results["redemptions"].append({"http": http_result, "sql": sql_result, "machine_busy_pct": busy})
                print(f"redemptions, {n} client(s): {http_result['rate']}/s p50 {http_result['p50_ms']} "
                      f"p99 {http_result['p99_ms']} ms errors {http_result['errors']} | raw PG {sql_result['rate']}/s "
                      f"p50 {sql_result['p50_ms']} p99 {sql_result['p99_ms']} ms")  # fmt: skip
        table = markdown(results)
        print("\n" + table)
        (HERE / f"{args.out}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str) + "\n")
        title = f"# Reads at scale and redemption, {results['started']}: {results['cpus']} CPUs"
        (HERE / f"{args.out}.md").write_text(f"{title}\n\n{table}\n")
        return 0
    except KeyboardInterrupt:
        print("interrupted; cleaning up", file=sys.stderr)
        return 130
    finally:
        STOP.set()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        platform.stop()
        kept = "kept" if platform.keep else "dropped"
        print(f"cleaned up: vhost, processes; databases {kept} (total {time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    sys.exit(main())

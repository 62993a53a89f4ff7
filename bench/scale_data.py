"""The bulk generator behind bench/scale.py: a district's three years of cases (1,000,000 by default) written
with COPY straight into intake's ledger (`cases`, plus the directory rows and reference counters it needs) and
into feedback's copy (`cases`, what `GET /api/v1/stats` counts), with the same ids, times and states in both.

Deterministic for a seed. Rows are generated in registration order (as a real, append-only ledger lies on
disk), by one producer thread, and streamed to one COPY per database running beside it; the secondary
indexes of both `cases` tables are dropped for the load and built again afterwards (faster than keeping them
up to date row by row), then both tables are VACUUM ANALYZEd so the planner and index-only scans see them.
"""

from __future__ import annotations

import io
import json
import queue
import random
import threading
import time
from bisect import bisect
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import accumulate

import psycopg2
from tqdm import tqdm

from services.intake import demo_content
from services.routing.calendar import TZ

YEARS = 3
CHUNK = 20_000  # rows per COPY chunk
META_TABLE = "bench_scale_meta"  # one row in intake's database: what was loaded, for --reuse

# 22 communities besides the demo's maxian and luoxing; sizes fall off like a real district's
EXTRA_COMMUNITIES = (
    "tingjiang guanting yinggan langqi huqian jiangbin chuanzheng xiaobei zhaozhong qinting luoxi meiting "
    "jinxiang daicheng xingang shanxia kuaian hushan changan jishan minan qingzhou"
).split()
BUREAUS = ("mawei-cgj", "mawei-zjj", "mawei-slj", "mawei-jyj", "mawei-wjj", "mawei-gaj", "mawei-hbj", "mawei-mzj")
CHANNEL_WEIGHTS = dict(zip(demo_content.CHANNELS, (30, 25, 10, 9, 18, 8), strict=True))
HANDLING_WEIGHTS = {"immediate": 40, "committed": 35, "suggestion": 10, "escalated": 8, "supplement": 7}
SURNAMES = "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 高 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹".split()
GIVEN = "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀 霞 平 刚 桂 英 华 玉 兰 建 国 文 辉".split()
PLACES = "楼道 电梯 地下车库 单元门口 小区东门 垃圾分类点 绿化带 健身区 楼顶 自行车棚 消防通道 快递柜".split()
PROBLEMS = "灯不亮 漏水 堆放杂物 噪音扰民 门禁损坏 积水 异味明显 乱停车 墙皮脱落 监控失灵 充电插座坏了 井盖松动".split()
SENTENCES = """
已经持续一个多星期了，居民进出很不方便。 晚上十点以后尤其严重，老人孩子休息不好。 之前给物业打过电话，一直没有人来看。
下雨天情况更糟，地面很滑，担心有人摔倒。 楼里住着好几位行动不便的老人。 邻居们在群里讨论过，希望社区出面协调。
附近还有小学生每天经过，存在安全隐患。 我可以配合上门查看，白天家里有人。 上个月修过一次，没过几天又坏了。
麻烦网格员有空过来看一下现场情况。
""".split()
RARE_PHRASE = "电动车充电桩起火"  # in about 1 case of 2,000: the `q` search for something rare
# where a case stands, by its age in days: (max age, {status: weight})
STATUS_BY_AGE = (
    (15, {"registered": 10, "classified": 8, "assigned": 15, "accepted": 15, "in_progress": 20,
          "awaiting_supplement": 4, "escalated": 5, "bureau_accepted": 3, "resolved": 10, "replied": 6,
          "rated": 2, "closed": 2}),
    (60, {"assigned": 2, "accepted": 3, "in_progress": 8, "awaiting_supplement": 2, "escalated": 3,
          "bureau_accepted": 1, "resolved": 10, "replied": 10, "rated": 8, "closed": 50, "merged": 1,
          "reopened": 2}),
    (10**6, {"in_progress": 1, "escalated": 0.5, "bureau_accepted": 0.5, "awaiting_supplement": 0.5,
             "reopened": 0.5, "resolved": 2, "replied": 3, "rated": 4, "closed": 85, "merged": 2, "withdrawn": 1}),
)  # fmt: skip
NOT_ACTED = {"registered", "classified", "assigned", "withdrawn", "merged"}
RESOLVED = {"resolved", "replied", "rated", "closed"}
OPEN = {"registered", "classified", "assigned", "accepted", "in_progress", "awaiting_supplement", "escalated",
        "bureau_accepted", "returned", "reopened"}  # fmt: skip
STATE_VERSION = {"registered": 1, "classified": 2, "assigned": 3, "accepted": 4, "in_progress": 5,
                 "awaiting_supplement": 6, "escalated": 5, "bureau_accepted": 6, "resolved": 6, "replied": 7,
                 "rated": 8, "closed": 9, "reopened": 9, "merged": 2, "withdrawn": 2}  # fmt: skip

INTAKE_COLUMNS = (
    "id community reference channel title description category reporter_name reporter_phone reporter_user "
    "proposer_member address building grid lat lon registered_by registered_at status handling_type deadline "
    "handler_id handler_kind handler_name bureau overdue supervision_level outcome satisfied reopen_count "
    "merged_into possible_duplicates state_version feedback_version updated_at demo_key"
).split()
FEEDBACK_COLUMNS = (
    "id community reference channel grid reporter_user registered_at status handling_type deadline handler_id "
    "first_action_at resolved_at replied_at satisfied rated reopen_count closed_at close_reason version"
).split()


class Weighted:
    """Fast repeated weighted choice: cumulative weights and bisect."""

    def __init__(self, weights: dict):
        self.keys, self.cum = list(weights), list(accumulate(weights.values()))
        self.total = self.cum[-1]

    def pick(self, rng: random.Random):
        return self.keys[bisect(self.cum, rng.random() * self.total)]


def district() -> list[dict]:
    """Every community of the scaled district: code, prefix, share of the cases, grids, buildings, handlers.
    maxian (the pilot, the biggest, 12%) and luoxing keep the demo's directory; the rest are made up here."""
    rng = random.Random("minqing-scale-district")
    out = []
    for code in ("maxian", "luoxing"):
        buildings = demo_content.buildings(code)
        grids = [g["code"] for g in demo_content.grids(code)]
        places = [(b["code"], b["grid"], b["address"]) for b in buildings]
        prefix = {"maxian": "MX", "luoxing": "LX"}[code]
        out.append({"code": code, "prefix": prefix, "new": False, "grids": grids, "buildings": places})
    for n, code in enumerate(EXTRA_COMMUNITIES, start=1):
        grids = [f"{code}-g{g:02d}" for g in range(1, rng.randint(4, 12) + 1)]
        buildings = []
        for grid in grids:
            for _ in range(rng.randint(5, 8)):
                number = len(buildings) + 1
                buildings.append((f"{code}-b{number:02d}", grid, f"福州市马尾区{code}路{number}号"))
        out.append({"code": code, "prefix": f"S{n:02d}", "new": True, "grids": grids, "buildings": buildings})
    # shares: maxian 12%, the rest falling off as 1 / rank^0.8
    rest = [1 / (rank + 2) ** 0.8 for rank in range(len(out) - 1)]
    shares = [0.12] + [0.88 * w / sum(rest) for w in rest]
    for community, share in zip(out, shares, strict=True):
        community["share"] = share
        community["handlers"] = [(f"{g}-m{k}", "grid_member") for g in community["grids"] for k in (1, 2, 3)]
        community["units"] = [(f"{community['code']}-u{k:02d}", "resident_unit") for k in range(1, 7)]
    return out


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _text(rng: random.Random, building_no: int) -> tuple[str, str]:
    place, problem = rng.choice(PLACES), rng.choice(PROBLEMS)
    title = f"{building_no}号楼{place}{problem}"
    description = f"{building_no}号楼{place}{problem}，"
    if rng.random() < 0.0005:
        description += RARE_PHRASE + "，"
    target = rng.randint(40, 120)
    while len(description) < target:
        description += rng.choice(SENTENCES)
    return title, description[:120]


def _day_counts(total: int, days: int, rng: random.Random, end_day) -> list[int]:
    """Cases per day over `days` days ending with `end_day`: weekends lighter, a rising trend, some noise;
    exactly `total` in all (largest remainder)."""
    weights = []
    for i in range(days):
        day = end_day - timedelta(days=days - 1 - i)
        w = (0.45 if day.weekday() >= 5 else 1.0) * (0.8 + 0.4 * i / days) * rng.uniform(0.8, 1.2)
        weights.append(w)
    quotas = [total * w / sum(weights) for w in weights]
    counts = [int(q) for q in quotas]
    for i in sorted(range(days), key=lambda i: counts[i] - quotas[i])[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _ts(dt: datetime | None) -> str:
    return "\\N" if dt is None else dt.isoformat()


def _s(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    return str(value)


def generate(total: int, now: datetime, seed: int = 1, counters: Counter | None = None):
    """Yields (intake row, feedback row) text lines for COPY, oldest case first; the references are numbered
    per community and year as registration would, after `counters` ((community, year) → last number used)."""
    rng = random.Random(seed)
    communities = district()
    pick_community = Weighted({i: c["share"] for i, c in enumerate(communities)})
    pick_channel = Weighted(CHANNEL_WEIGHTS)
    pick_handling = Weighted(HANDLING_WEIGHTS)
    pick_category = Weighted(demo_content._CATEGORY_WEIGHTS)
    pick_status = [(age, Weighted(w)) for age, w in STATUS_BY_AGE]
    hours = Weighted({h: (1 if h < 7 or h > 21 else 6 if 8 <= h <= 11 or 14 <= h <= 17 else 3) for h in range(24)})
    counters = Counter(counters or {})
    local_now = now.astimezone(TZ)
    days = 365 * YEARS
    counts = _day_counts(total, days, rng, local_now.date())
    for i, n in enumerate(counts):
        day = local_now.date() - timedelta(days=days - 1 - i)
        seconds = sorted(hours.pick(rng) * 3600 + rng.randrange(3600) for _ in range(n))
        for second in seconds:
            local = datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(seconds=second)
            registered = local.astimezone(UTC)
            if registered > now:
                registered = now - timedelta(seconds=rng.randrange(1, 3600))
            yield _case(rng, communities[pick_community.pick(rng)], registered, now, counters, pick_channel,
                        pick_handling, pick_category, pick_status)  # fmt: skip


def _case(rng, community, registered, now, counters, pick_channel, pick_handling, pick_category, pick_status):
    code = community["code"]
    year = registered.astimezone(TZ).year
    counters[(code, year)] += 1
    reference = f"{community['prefix']}-{year}-{counters[(code, year)]:06d}"
    case_id = f"{rng.getrandbits(128):032x}"
    channel = pick_channel.pick(rng)
    building, grid, address = rng.choice(community["buildings"]) if rng.random() < 0.9 else (None, None, None)
    title, description = _text(rng, int(building.rsplit("-b", 1)[1]) if building else rng.randint(1, 30))
    age = (now - registered).total_seconds() / 86400
    status = next(w for limit, w in pick_status if age <= limit).pick(rng)
    handling = None
    if status not in ("registered", "withdrawn", "merged") or rng.random() < 0.5:
        handling = pick_handling.pick(rng)
    if status in ("escalated", "bureau_accepted"):
        handling = "escalated"
    elif status == "awaiting_supplement":
        handling = "supplement"
    if status == "registered":
        handling = None
    deadline = None
    if handling and not (handling == "supplement" and status == "awaiting_supplement"):
        days = {"immediate": 1, "committed": rng.randint(7, 20), "suggestion": 30, "escalated": 15,
                "supplement": 10}[handling]  # fmt: skip
        deadline = registered + timedelta(days=days)
    handler = handler_kind = handler_name = bureau = None
    if status not in ("registered", "classified", "withdrawn") and handling:
        if handling == "escalated":
            bureau = rng.choice(BUREAUS)
            handler, handler_kind = f"{bureau}-h{rng.randint(1, 4)}", "bureau"
        elif grid and rng.random() < 0.75:
            handler, handler_kind = f"{grid}-m{rng.randint(1, 3)}", "grid_member"
        else:
            handler, handler_kind = rng.choice(community["units"])
        handler_name = _name(rng)
    first_action = resolved = replied = closed = None
    if status not in NOT_ACTED:
        first_action = min(now, registered + timedelta(hours=min(rng.lognormvariate(1.4, 1.1), 24 * 20)))
    ever_resolved = status in RESOLVED or status == "reopened"
    if ever_resolved:
        span = (deadline - registered) if deadline else timedelta(days=10)
        late = rng.random() < 0.08
        resolved = registered + span * (rng.uniform(1.05, 2.5) if late else rng.uniform(0.2, 0.98))
        resolved = max(resolved, first_action or resolved)
        if resolved > now:  # not yet: somewhere between registration and now
            resolved = registered + (now - registered) * rng.uniform(0.5, 1.0)
            first_action = min(first_action, resolved) if first_action else None
    if status == "reopened":
        resolved = None
    if status in ("replied", "rated", "closed"):
        replied = min(now, resolved + timedelta(hours=rng.uniform(1, 72)))
    rated = status == "rated" or (status == "closed" and rng.random() < 0.85)
    satisfied = (rng.random() < 0.92) if rated else None
    reopen_count = 1 if status == "reopened" else (rng.random() < 0.03) + (rng.random() < 0.005) if ever_resolved else 0
    close_reason = None
    if status == "closed":
        closed = min(now, replied + timedelta(days=rng.uniform(0.5, 7)))
        close_reason = "rated" if rated else "not_rated"
    overdue = bool(deadline and ((resolved and resolved > deadline) or (status in OPEN and deadline < now)))
    supervision = (2 if rng.random() < 0.1 else 1) if overdue else 0
    outcome = rng.choice(("adopted", "not_adopted")) if handling == "suggestion" and resolved else None
    updated = max(t for t in (registered, first_action, resolved, replied, closed) if t)
    reporter_user = f"resident-{rng.randrange(200_000):06d}" if channel == "online" and rng.random() < 0.7 else None
    phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.9 else None
    lat, lon = (26.0 + rng.random() / 50, 119.44 + rng.random() / 50) if building else (None, None)
    intake = (
        case_id, code, reference, channel, title, description, pick_category.pick(rng), _name(rng), phone,
        reporter_user, None, address, building, grid, lat and f"{lat:.6f}", lon and f"{lon:.6f}",
        "bench-loader", _ts(registered), status, handling, _ts(deadline), handler, handler_kind, handler_name,
        bureau, overdue, supervision, outcome, satisfied, reopen_count,
        f"{rng.getrandbits(128):032x}" if status == "merged" else None, "[]", STATE_VERSION[status],
        int(rated) + reopen_count, _ts(updated), None,
    )  # fmt: skip
    feedback = (
        case_id, code, reference, channel, grid, reporter_user, _ts(registered), status, handling, _ts(deadline),
        handler, _ts(first_action), _ts(resolved), _ts(replied), satisfied, rated, reopen_count, _ts(closed),
        close_reason, STATE_VERSION[status],
    )  # fmt: skip
    return "\t".join(map(_s, intake)) + "\n", "\t".join(map(_s, feedback)) + "\n"


# --- writing ----------------------------------------------------------------------------------------------
def _secondary_indexes(conn, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes that back no constraint."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.schemaname = 'public' AND i.tablename = %s
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            (table,),
        )
        return cur.fetchall()


def _copier(url: str, table: str, columns: list[str], chunks: queue.Queue, errors: list) -> None:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SET synchronous_commit = off")
            while (chunk := chunks.get()) is not None:
                cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(chunk))
        conn.commit()
    except Exception as exc:  # reported by load(); keep draining so the producer never blocks
        errors.append(exc)
        while chunks.get() is not None:
            pass
    finally:
        conn.close()


def _build_indexes(url: str, statements: list[str], errors: list) -> None:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SET maintenance_work_mem = '512MB'")
            cur.execute("SET max_parallel_maintenance_workers = 1")
            for statement in statements:
                cur.execute(statement)
            cur.execute("VACUUM (ANALYZE) cases")
    except Exception as exc:
        errors.append(exc)
    finally:
        conn.close()


def load(intake_url: str, feedback_url: str, total: int, now: datetime, seed: int = 1) -> dict:
    """Directory rows and `total` cases into the two databases; returns timings and what was made."""
    t0, communities = time.monotonic(), district()
    with psycopg2.connect(intake_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT code FROM districts LIMIT 1")
        district_code = cur.fetchone()[0]
        cur.execute("SELECT community, year, last FROM reference_counters")
        counters = Counter({(c, y): last for c, y, last in cur.fetchall()})
        for n, c in enumerate(communities):
            if not c["new"]:
                continue
            cur.execute(
                "INSERT INTO communities (code, name, district, ref_prefix, created_at) VALUES (%s, %s, %s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (c["code"], f"{c['code']}社区", district_code, c["prefix"], now - timedelta(days=365 * YEARS + n)),
            )
            for g, grid in enumerate(c["grids"], start=1):
                cur.execute(
                    "INSERT INTO grids (code, community, name, leader_name) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    (grid, c["code"], f"第{g}网格", _name(random.Random(grid))),
                )
            for code, grid, address in c["buildings"]:
                cur.execute(
                    "INSERT INTO buildings (code, community, grid, name, address, floors, units)"
                    " VALUES (%s, %s, %s, %s, %s, 6, 3) ON CONFLICT DO NOTHING",
                    (code, c["code"], grid, code.rsplit("-b", 1)[1] + "号楼", address),
                )
    dropped = {}
    for url in (intake_url, feedback_url):
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            dropped[url] = _secondary_indexes(conn, "cases")
            for name, _ in dropped[url]:
                cur.execute(f'DROP INDEX "{name}"')
    t_directory = time.monotonic() - t0
    errors: list = []
    queues = {"intake": queue.Queue(maxsize=4), "feedback": queue.Queue(maxsize=4)}
    copiers = [
        threading.Thread(target=_copier, args=(intake_url, "cases", INTAKE_COLUMNS, queues["intake"], errors)),
        threading.Thread(target=_copier, args=(feedback_url, "cases", FEEDBACK_COLUMNS, queues["feedback"], errors)),
    ]
    for thread in copiers:
        thread.start()
    made: Counter = Counter()
    intake_lines, feedback_lines = [], []
    try:
        with tqdm(total=total, unit="case", unit_scale=True, desc="generating + COPY", smoothing=0.1) as bar:
            for intake_line, feedback_line in generate(total, now, seed, counters):
                intake_lines.append(intake_line)
                feedback_lines.append(feedback_line)
                if len(intake_lines) == CHUNK:
                    queues["intake"].put("".join(intake_lines))
                    queues["feedback"].put("".join(feedback_lines))
                    intake_lines, feedback_lines = [], []
                    bar.update(CHUNK)
                    if errors:
                        raise errors[0]
            if intake_lines:
                queues["intake"].put("".join(intake_lines))
                queues["feedback"].put("".join(feedback_lines))
                bar.update(len(intake_lines))
    finally:
        for q in queues.values():
            q.put(None)
        for thread in copiers:
            thread.join()
    if errors:
        raise errors[0]
    t_copy = time.monotonic() - t0 - t_directory
    print(f"rebuilding {sum(len(v) for v in dropped.values())} indexes and VACUUM ANALYZE (both databases at once)")
    builders = [
        threading.Thread(target=_build_indexes, args=(url, [d for _, d in dropped[url]], errors)) for url in dropped
    ]
    for thread in builders:
        thread.start()
    for thread in builders:
        thread.join()
    if errors:
        raise errors[0]
    t_index = time.monotonic() - t0 - t_directory - t_copy
    with psycopg2.connect(intake_url) as conn, conn.cursor() as cur:
        # the counters carry on after the loaded references, so a registration after the load gets a new one
        cur.execute(
            """INSERT INTO reference_counters (community, year, last)
               SELECT community, split_part(reference, '-', 2)::int, max(split_part(reference, '-', 3)::int)
               FROM cases WHERE reference ~ '^[A-Z0-9]+-[0-9]{4}-[0-9]+$' GROUP BY 1, 2
               ON CONFLICT (community, year) DO UPDATE SET last = GREATEST(reference_counters.last, EXCLUDED.last)"""
        )
        cur.execute("SELECT community, count(*) FROM cases GROUP BY 1 ORDER BY 2 DESC")
        made.update(dict(cur.fetchall()))
    return {
        "cases": total,
        "now": now.isoformat(),
        "seed": seed,
        "per_community": dict(made),
        "communities": [{k: c[k] for k in ("code", "grids")} for c in communities],
        "handlers": {c["code"]: [h for h, _ in c["handlers"]][:30] for c in communities},
        "seconds": {
            "directory": round(t_directory, 1),
            "generate_and_copy": round(t_copy, 1),
            "indexes_and_vacuum": round(t_index, 1),
            "total": round(time.monotonic() - t0, 1),
        },
    }


def save_meta(intake_url: str, meta: dict) -> None:
    with psycopg2.connect(intake_url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (id int PRIMARY KEY, meta text NOT NULL)")
        cur.execute(
            f"INSERT INTO {META_TABLE} VALUES (1, %s) ON CONFLICT (id) DO UPDATE SET meta = EXCLUDED.meta",
            (json.dumps(meta, ensure_ascii=False),),
        )


def read_meta(intake_url: str) -> dict | None:
    try:
        with psycopg2.connect(intake_url) as conn, conn.cursor() as cur:
            cur.execute(f"SELECT meta FROM {META_TABLE} WHERE id = 1")
            row = cur.fetchone()
            return json.loads(row[0]) if row else None
    except psycopg2.Error:
        return None

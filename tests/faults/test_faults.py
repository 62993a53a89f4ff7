"""Faults under load: while clients register cases, work them, record visits and redeem points, every
process is killed with SIGKILL in turn and restarted, then RabbitMQ is restarted (stop_app/start_app), then
PostgreSQL. Afterwards the books must reconcile exactly, and the counts are printed (run with -s to see
them, as `make test-faults` does):

* every write a client was told succeeded is in its service's database, once;
* every case is in the ledger with routing's final state and version, and no event was applied twice
  (one timeline entry per step, one decision per step in routing);
* every visit earned its visitor exactly one award, every accepted redemption took exactly its points and
  one item of stock, and every balance is the sum of its entries;
* nothing is left in any outbox, and the dead-letter queues are listed and replayed.
"""

import os
import subprocess
import time
import uuid
from collections import Counter
from urllib.parse import unquote, urlparse

import pytest
import requests
from faultkit import PROCESSES, Load, Platform
from sqlalchemy import func, select, text

from gateway.auth import mint
from minqing import config as settings
from minqing.db import UnitOfWork, make_engine
from minqing.dlq import list_dead_letters, replay
from minqing.topology import all_event_handlers
from services.accounts.models import Message
from services.feedback.models import Visit
from services.intake.models import Case, TimelineEntry
from services.points import ledger
from services.points.models import Award, Member, Redemption, Reward
from services.routing.models import Decision, RoutedCase

LEADER = "maxian-g01-leader"
START_BALANCE, STOCK = 10_000, 10_000
# MINQING_FAULTS_INFRA=0 skips restarting the machine's RabbitMQ and PostgreSQL (they are shared: do that
# only where nothing else uses them, as in CI; or point the run at private ones: MINQING_TEST_AMQP with
# RABBITMQ_NODENAME, MINQING_TEST_PG with MINQING_TEST_PG_CLUSTER)
INFRA = os.environ.get("MINQING_FAULTS_INFRA", "1") == "1"


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120, check=True).stdout


def restart_postgres() -> None:
    version = subprocess.run(["ls", "/etc/postgresql"], capture_output=True, text=True).stdout.split()[0]
    cluster = os.environ.get("MINQING_TEST_PG_CLUSTER", "main")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def platform(amqp_uri, databases, tmp_path):
    urls = {service: databases.create(service) for service in settings.SERVICES}
    secret = "faults-" + uuid.uuid4().hex
    running = Platform(amqp_uri, urls, tmp_path, secret)
    running.start_all()
    yield running, urls, secret
    running.stop_all()


def set_up(base: str, secret: str) -> tuple[dict, str, str]:
    admin = requests.Session()
    admin.headers["Authorization"] = "Bearer " + mint(secret, "admin", "district_admin", ["*"])

    def ok(method, path, body):
        r = admin.request(method, base + path, json=body, timeout=15)
        assert r.status_code in (200, 201), r.text
        return r.json()

    ok(
        "POST",
        "/api/v1/communities",
        {"code": "maxian", "name": "马限社区", "district": "mawei", "district_name": "马尾区", "ref_prefix": "MX"},
    )
    ok("POST", "/api/v1/communities/maxian/grids", {"code": "maxian-g01", "name": "第一网格"})
    building = {"code": "maxian-b01", "name": "1号楼", "grid": "maxian-g01", "floors": 11}
    ok("POST", "/api/v1/communities/maxian/buildings", building)
    roster = {"id": LEADER, "grid": "maxian-g01", "name": "吴宇涛", "role": "grid_leader"}
    ok("POST", "/api/v1/communities/maxian/roster/members", roster)
    rules = {"rules": [{"priority": 10, "category": "elevator", "handling_type": "committed", "committed_days": 5}]}
    ok("PUT", "/api/v1/communities/maxian/routing-rules", rules)
    member = {"community": "maxian", "name": "吴宇涛", "branch": "第一党支部", "status": "serving"}
    ok("POST", "/api/v1/members", member | {"roster_id": LEADER})
    buyer = ok("POST", "/api/v1/members", member | {"name": "郑玉兰", "user_id": "resident-zheng"})
    ok("POST", f"/api/v1/members/{buyer['id']}/points/corrections", {"points": START_BALANCE, "reason": "期初"})
    ok("PATCH", "/api/v1/point-rules/maxian/home_visit", {"cap_day": None, "cap_month": None})
    reward = ok("POST", "/api/v1/rewards", {"community": "maxian", "name": "雨伞", "price": 1, "stock": STOCK})
    tokens = {
        "staff": mint(secret, "maxian-admin", "community_admin", ["maxian"]),
        "handler": mint(secret, LEADER, "grid_member", ["maxian"]),
        "member": mint(secret, "resident-zheng", "resident", ["maxian"]),
    }
    return tokens, buyer["id"], reward["id"]


def queue_depths(amqp_uri: str) -> dict[str, int]:
    vhost = unquote(urlparse(amqp_uri).path.lstrip("/"))
    out = rabbitmqctl("list_queues", "-p", vhost, "name", "messages", "--no-table-headers")
    return {name: int(n) for name, n in (line.split() for line in out.splitlines() if line.strip())}


def pending_outbox(uows: dict) -> dict[str, int]:
    out = {}
    for service, uow in uows.items():
        with uow.transaction() as session:
            out[service] = session.scalar(text("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
    return out


def settled(amqp_uri: str, uows: dict) -> bool:
    work = {q: n for q, n in queue_depths(amqp_uri).items() if q.startswith("evt-") and not q.endswith(".dlq")}
    if any(work.values()) or any(pending_outbox(uows).values()):
        return False
    with uows["routing"].transaction() as rs, uows["intake"].transaction() as ins:
        routed = dict(rs.execute(select(RoutedCase.id, RoutedCase.version)).all())
        ledger_versions = dict(ins.execute(select(Case.id, Case.state_version)).all())
    return all(ledger_versions.get(case_id) == version for case_id, version in routed.items())


def wait_settled(amqp_uri: str, uows: dict, timeout: float = 180) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if settled(amqp_uri, uows):
            return time.monotonic() - started
        time.sleep(1)
    raise AssertionError(
        f"not settled after {timeout}s: outbox {pending_outbox(uows)}, queues {queue_depths(amqp_uri)}"
    )


def test_crashes_and_restarts_lose_nothing(platform, amqp_uri):
    running, urls, secret = platform
    tokens, buyer, reward = set_up(running.base, secret)
    load = Load(running, tokens, buyer, reward)
    load.start()
    time.sleep(4)
    recovery = {}
    for name in PROCESSES:
        running.kill9(name)
        time.sleep(1)
        running.start(name)
        recovery[f"kill -9 {name}"] = running.wait_ready()
        time.sleep(3)
    if INFRA:
        rabbitmqctl("stop_app")
        time.sleep(2)
        rabbitmqctl("start_app")
        recovery["RabbitMQ stop_app/start_app"] = running.wait_ready()
        time.sleep(4)
        restart_postgres()
        recovery["PostgreSQL restart"] = running.wait_ready()
        time.sleep(4)
    load.finish()

    uows = {service: UnitOfWork(make_engine(url)) for service, url in urls.items()}
    settle_time = wait_settled(amqp_uri, uows)
    queues = [name for name, _, _ in all_event_handlers()]
    dead = {q: len(items) for q, items in list_dead_letters(amqp_uri, queues).items() if items}
    replayed = sum(replay(amqp_uri, q) for q in dead)
    if replayed:
        wait_settled(amqp_uri, uows)
    books = load.books
    report = reconcile(books, uows, buyer, reward)
    report |= {"dead letters replayed": replayed, "seconds to settle": round(settle_time, 1)}
    print("\nrecovery (s): " + ", ".join(f"{k} {v:.1f}" for k, v in recovery.items()))
    print("client outcomes: " + ", ".join(f"{k}: {v}" for k, v in sorted(books.outcomes.items())))
    print("books: " + ", ".join(f"{k}: {v}" for k, v in report.items()))
    for uow in uows.values():
        uow.engine.dispose()


def reconcile(books, uows: dict, buyer: str, reward: str) -> dict:
    accepted_cases = set(books.cases.values())
    with uows["intake"].transaction() as s:
        in_intake = set(s.scalars(select(Case.id)))
        ledger_state = {c.id: (c.status, c.state_version) for c in s.scalars(select(Case))}
        # each case's messages to its reporter are several `notification.sent` entries, one per message
        entries = s.execute(select(TimelineEntry.case_id, TimelineEntry.type, TimelineEntry.event_id)).all()
        timeline = Counter((c, t) for c, t, _ in entries if t != "notification.sent")
        timeline.update((c, e) for c, t, e in entries if t == "notification.sent")
    with uows["routing"].transaction() as s:
        routed = {c.id: (c.status, c.version) for c in s.scalars(select(RoutedCase))}
        decisions = Counter(s.execute(select(Decision.case_id, Decision.action)).all())
    gave_up = books.outcomes["gave up"]
    assert accepted_cases <= in_intake, "an accepted registration is missing from intake"
    assert gave_up or in_intake == accepted_cases, "intake holds a case no client was told about"
    assert set(routed) == in_intake, "a registered case never reached routing"
    assert ledger_state == routed, "the ledger disagrees with routing's final state"
    assert max(timeline.values()) == 1, f"an event applied twice: {timeline.most_common(3)}"
    assert max(decisions.values()) == 1, f"a step taken twice: {decisions.most_common(3)}"
    for case_id, steps in books.steps.items():
        assert all(decisions[(case_id, step)] == 1 for step in steps)

    with uows["accounts"].transaction() as s:
        # one "registered" SMS per accepted case (unique per case, event and phone), none for anything else
        texted = Counter(s.scalars(select(Message.case_id).where(Message.template == "case_registered")))
    assert set(texted) == in_intake and max(texted.values(), default=1) == 1, "a case texted twice or not at all"
    with uows["feedback"].transaction() as s:
        visits = set(s.scalars(select(Visit.id).where(Visit.visitor == LEADER)))
    assert set(books.visits.values()) <= visits and (gave_up or set(books.visits.values()) == visits)
    with uows["points"].transaction() as s:
        visit_awards = Counter(s.scalars(select(Award.source).where(Award.rule_code == "home_visit")))
        assert set(visit_awards) == {f"visit:{v}" for v in visits} and max(visit_awards.values(), default=1) == 1
        redemptions = {r.id: r for r in s.scalars(select(Redemption))}
        answered = {r["id"] for r in books.redemptions.values()}
        assert answered <= set(redemptions) and (gave_up or answered == set(redemptions))
        spent = sum(r.points for r in redemptions.values())
        assert s.get(Member, buyer).balance == START_BALANCE - spent
        assert s.get(Reward, reward).stock == STOCK - sum(r.quantity for r in redemptions.values())
        assert ledger.mismatches(s) == []
        awarded = s.scalar(select(func.count()).select_from(Award))
    assert not any(pending_outbox(uows).values())
    return {
        "cases accepted": len(accepted_cases),
        "cases in intake": len(in_intake),
        "routed": len(routed),
        "resolved": sum(1 for status, _ in routed.values() if status == "resolved"),
        "steps accepted": sum(len(v) for v in books.steps.values()),
        "visits accepted": len(books.visits),
        "awards": awarded,
        "registered SMS": sum(texted.values()),
        "redemptions accepted": len(answered),
        "redemptions stored": len(redemptions),
        "gave up": gave_up,
    }

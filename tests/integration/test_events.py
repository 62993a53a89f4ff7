"""Events on the real broker: the ledger follows them, the inbox dedupes, failures retry then park,
and the outbox delivers what was committed even when the relay died at the worst moment."""

import json
import time
from datetime import timedelta

import pytest
from helpers import wait_for
from kombu import Connection, Exchange, Queue
from nameko.standalone.events import get_event_exchange
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.services import entrypoint_hook
from sqlalchemy import delete, select, update

from minqing import clock
from minqing.db import UnitOfWork, make_engine
from minqing.dlq import list_dead_letters, replay
from minqing.events import make_envelope
from minqing.outbox import OUTBOX, Relay, add_event, outbox_status
from minqing.topology import handler_queues
from services.intake.models import Case, TimelineEntry
from services.intake.service import IntakeService

SCOPE = {"sub": "worker-1", "role": "community_admin", "communities": ["maxian"]}
ADMIN = {"sub": "admin", "role": "district_admin", "communities": ["*"]}


@pytest.fixture
def rpc(intake, amqp_uri):
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}) as proxy:
        proxy.intake.create_community(
            {"code": "maxian", "name": "马限社区", "district": "mawei", "district_name": "马尾区"}, ADMIN
        )
        proxy.intake.add_directory_entry("grids", "maxian", {"code": "maxian-g01", "name": "第一网格"}, ADMIN)
        proxy.intake.add_directory_entry(
            "buildings", "maxian", {"code": "maxian-b01", "name": "1号楼", "grid": "maxian-g01"}, ADMIN
        )
        yield proxy.intake


@pytest.fixture
def producer_db(databases):
    """A stand-in for routing's database: any schema with the outbox table will do."""
    return UnitOfWork(make_engine(databases.create("intake")))


def register(rpc, **kw):
    body = {"community": "maxian", "channel": "hotline", "title": "楼道灯坏了", "description": "1号楼三层楼道灯不亮"}
    return rpc.register_case(body | kw, SCOPE)


def publish_again(amqp_uri, envelope):
    """What a broker redelivery looks like to the consumer: the very same message once more."""
    exchange = get_event_exchange(envelope["source"], {})
    with Connection(amqp_uri) as conn:
        conn.Producer().publish(envelope, exchange=exchange, routing_key=envelope["type"], serializer="json")


def emit(uow, amqp_uri, type, case_id, version, data, source="routing"):
    envelope = make_envelope(type, source=source, community="maxian", subject=case_id, version=version, data=data)
    with uow.transaction() as session:
        add_event(session, envelope)
    relay = Relay(uow, amqp_uri, source)
    relay.publish_pending()
    relay.close()
    return envelope


def test_ledger_follows_every_event_type_in_order(rpc, producer_db, amqp_uri):
    case = register(rpc)
    deadline = clock.now() + timedelta(days=3)
    handler = {"id": "grid-leader-1", "kind": "grid_member", "name": "吴宇涛"}
    steps = [
        (
            "case.classified",
            {"handling_type": "committed", "deadline": deadline, "reason": "需要协调物业"},
            "classified",
        ),
        ("case.assigned", {"handler": handler}, "assigned"),
        ("case.escalated", {"bureau": "housing", "reason": "超出社区职权"}, "escalated"),
        ("case.resolved", {"summary": "已更换灯泡"}, "resolved"),
        ("reply.sent", {"reply_id": "r1", "method": "hotline_callback", "content": "已修好"}, "replied"),
        ("case.rated", {"satisfied": False, "score": 2}, "rated"),
        ("case.reopened", {"reason": "仍然闪烁", "reopen_count": 1}, "reopened"),
        ("case.resolved", {"summary": "更换整条线路"}, "resolved"),
        ("case.rated", {"satisfied": True, "score": 5}, "rated"),
        ("case.closed", {"reason": "rated"}, "closed"),
    ]
    for version, (type_, data, status) in enumerate(steps, start=2):
        source = "feedback" if type_ in ("reply.sent", "case.rated", "case.closed", "case.reopened") else "routing"
        emit(producer_db, amqp_uri, type_, case["id"], version, data, source=source)
        wait_for(
            lambda s=status, v=version: (c := rpc.get_case(case["id"], SCOPE))["status"] == s and c["version"] == v
        )
    final = rpc.get_case(case["id"], SCOPE)
    assert final["handling_type"] == "committed" and final["handler"]["id"] == "grid-leader-1"
    assert final["bureau"] == "housing" and final["satisfied"] is True and final["reopen_count"] == 1
    assert [e["type"] for e in final["timeline"]] == ["case.registered"] + [t for t, _, _ in steps]

    emit(producer_db, amqp_uri, "case.overdue", case["id"], 99, {"deadline": deadline, "supervision_level": 2})
    assert wait_for(lambda: rpc.get_case(case["id"], SCOPE)["overdue"])
    assert rpc.list_cases({"overdue": "true"}, SCOPE)["items"][0]["id"] == case["id"]


def test_event_delivered_twice_is_applied_once_and_stale_events_do_not_regress(rpc, producer_db, amqp_uri):
    case = register(rpc)
    handler = {"id": "h1", "kind": "grid_member"}
    assigned = emit(producer_db, amqp_uri, "case.assigned", case["id"], 3, {"handler": handler})
    wait_for(lambda: rpc.get_case(case["id"], SCOPE)["status"] == "assigned")
    # the same event again (a redelivery), then an older one arriving late
    publish_again(amqp_uri, assigned)
    emit(producer_db, amqp_uri, "case.classified", case["id"], 2, {"handling_type": "immediate"})
    wait_for(lambda: len(rpc.get_case(case["id"], SCOPE)["timeline"]) == 3)
    time.sleep(0.5)  # give a wrongly re-applied duplicate time to show up
    detail = rpc.get_case(case["id"], SCOPE)
    assert [e["type"] for e in detail["timeline"]] == ["case.registered", "case.assigned", "case.classified"]
    assert detail["status"] == "assigned" and detail["version"] == 3


def test_failing_handler_is_retried_then_dead_lettered_and_replay_applies_it(rpc, producer_db, amqp_uri, intake):
    ghost_id = "f" * 32  # a case the ledger does not know yet: the handler raises NotFound
    emit(producer_db, amqp_uri, "case.classified", ghost_id, 2, {"handling_type": "immediate"})
    queue = next(q for q in handler_queues(IntakeService) if q.startswith("evt-routing-"))
    parked = wait_for(lambda: list_dead_letters(amqp_uri, [queue])[queue])
    assert parked[0]["subject"] == ghost_id and parked[0]["attempts"] == 3  # first try + 2 retries
    assert "not found" in parked[0]["error"]
    # listing does not consume
    assert len(list_dead_letters(amqp_uri, [queue])[queue]) == 1

    real = register(rpc)
    engine = make_engine(intake.config["DB_URL"])
    with UnitOfWork(engine).transaction() as session:  # the operator's fix: the case now exists
        session.execute(delete(TimelineEntry).where(TimelineEntry.case_id == real["id"]))
        session.execute(update(Case).where(Case.id == real["id"]).values(id=ghost_id))
    assert replay(amqp_uri, queue) == 1
    wait_for(lambda: rpc.get_case(ghost_id, SCOPE)["status"] == "classified")
    assert list_dead_letters(amqp_uri, [queue])[queue] == []


def test_relay_killed_between_commit_and_publish_still_delivers_once(rpc, producer_db, amqp_uri):
    case = register(rpc)
    envelope = make_envelope(
        "case.classified",
        source="routing",
        community="maxian",
        subject=case["id"],
        version=2,
        data={"handling_type": "suggestion"},
    )
    with producer_db.transaction() as session:
        add_event(session, envelope)  # committed; the process "dies" before any relay runs
    time.sleep(0.3)
    assert rpc.get_case(case["id"], SCOPE)["status"] == "registered"
    with producer_db.transaction() as session:
        assert outbox_status(session)["pending"] == 1

    restarted = Relay(producer_db, amqp_uri, "routing")
    assert restarted.publish_pending() == 1
    wait_for(lambda: rpc.get_case(case["id"], SCOPE)["status"] == "classified")

    # killed after publishing but before marking sent: the restart publishes it again
    with producer_db.transaction() as session:
        session.execute(update(OUTBOX).values(sent_at=None))
    assert restarted.publish_pending() == 1
    restarted.close()
    time.sleep(0.5)
    timeline = rpc.get_case(case["id"], SCOPE)["timeline"]
    assert [e["type"] for e in timeline].count("case.classified") == 1
    with producer_db.transaction() as session:
        assert outbox_status(session)["pending"] == 0


def test_health_entrypoint(intake):
    with entrypoint_hook(intake, "health") as health:
        assert health() == {"service": "intake", "database": "ok"}


def test_intake_publishes_case_registered_through_its_outbox_with_the_correlation_id(rpc, amqp_uri, intake):
    exchange = Exchange("intake.events", type="topic", durable=True)
    with Connection(amqp_uri) as conn:
        queue = Queue("test-registered-listener", exchange, routing_key="case.registered", auto_delete=True)
        bound = queue(conn.default_channel)
        bound.declare()
        with ClusterRpcProxy({"AMQP_URI": amqp_uri}, context_data={"correlation_id": "corr-xyz"}) as proxy:
            case = proxy.intake.register_case(
                {"community": "maxian", "channel": "forum", "title": "座谈会意见", "description": "建议增加健身器材"},
                SCOPE,
            )
        message = wait_for(lambda: bound.get(no_ack=True))
        envelope = json.loads(message.body)
    assert envelope["type"] == "case.registered" and envelope["subject"] == case["id"]
    assert envelope["correlation_id"] == "corr-xyz"
    assert set(envelope) >= {"id", "type", "source", "time", "community", "subject", "version", "data"}
    engine = make_engine(intake.config["DB_URL"])
    with UnitOfWork(engine).transaction() as session:
        wait_for(lambda: session.execute(select(OUTBOX.c.sent_at)).scalar() is not None)

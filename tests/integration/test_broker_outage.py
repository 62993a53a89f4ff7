"""A broker outage while a service answers an RPC call must not kill the service (issue 18: intake exited in
`make test-faults` when nameko's reply publish met ECONNREFUSED). The caller times out; the process stays up
and serves the next call."""

import pytest
from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher
from nameko.exceptions import RpcTimeout
from nameko.rpc import Responder
from nameko.standalone.rpc import ClusterRpcProxy

from minqing import metrics


class FailsOnce(Publisher):
    """The reply publisher as it behaves while RabbitMQ restarts: the first publish is refused."""

    failures = 0

    def publish(self, payload, **kwargs):
        if FailsOnce.failures == 0:
            FailsOnce.failures += 1
            raise OperationalError("[Errno 111] ECONNREFUSED")
        return super().publish(payload, **kwargs)


@pytest.fixture
def refused_once(monkeypatch):
    FailsOnce.failures = 0
    monkeypatch.setattr(Responder, "publisher_cls", FailsOnce)
    return FailsOnce


def test_a_reply_lost_to_a_broker_outage_leaves_the_service_up(intake, amqp_uri, refused_once):
    lost = metrics.RPC_REPLIES_LOST.labels("intake")._value.get()
    with ClusterRpcProxy({"AMQP_URI": amqp_uri}, timeout=3) as proxy:
        with pytest.raises(RpcTimeout):
            proxy.intake.health()  # served, but its reply could not be sent: the caller times out
        assert refused_once.failures == 1
        assert not intake._died.ready(), "the container died"
        assert proxy.intake.health() == {"service": "intake", "database": "ok"}
        assert proxy.intake.health() == {"service": "intake", "database": "ok"}  # the request was acked
    assert not intake._died.ready()
    assert metrics.RPC_REPLIES_LOST.labels("intake")._value.get() == lost + 1


def test_a_retry_racing_the_redelivered_original_replays_its_answer(databases):
    """After a broker restart the original request is redelivered while the client's retry (same key) runs:
    the one that commits second must answer what the first stored, not 409, and leave no effect of its own."""
    import eventlet
    from sqlalchemy import text

    from minqing.db import UnitOfWork, make_engine
    from minqing.outbox import idempotent, write_once

    uow = UnitOfWork(make_engine(databases.create("intake")))
    inserted, release = eventlet.event.Event(), eventlet.event.Event()

    def original():
        with uow.transaction() as session:
            answer = idempotent(session, "staff", "case-1", "fp", lambda: {"id": "first"})
            inserted.send()
            release.wait()  # holds its key, uncommitted, while the retry runs
            return answer

    def produce_retry(session):
        session.execute(text("CREATE TABLE retry_effect (id int)"))  # an effect that must roll back
        return {"id": "second"}

    first = eventlet.spawn(original)
    inserted.wait()
    retry = eventlet.spawn(write_once, uow, "staff", "case-1", "fp", produce_retry)
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
    with uow.engine.connect() as conn:  # until the retry waits on the original's uncommitted key
        for _ in range(3000):
            blocked = conn.execute(text(waiting)).scalar()
            # pg_stat_activity is a snapshot per transaction: end it, or every poll sees the first answer
            conn.rollback()
            if blocked:
                break
            eventlet.sleep(0.01)
        else:
            raise AssertionError("the retry never waited on the original's key")
    release.send()
    assert first.wait() == {"id": "first"}
    assert retry.wait() == {"id": "first"}
    with uow.transaction() as session:
        assert session.execute(text("SELECT to_regclass('retry_effect')")).scalar() is None
    uow.engine.dispose()

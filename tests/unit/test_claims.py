"""Claims with a lease: how the outbox relay and the webhook sender work with no transaction open and still
stay safe with several copies and a crash (docs/concurrency.md). On a real SQLite file, at fixed instants."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from minqing.db import UnitOfWork, make_engine
from minqing.migrate import upgrade
from minqing.outbox import OUTBOX, add_event, claim_unsent
from services.routing import public
from services.routing.models import Bureau, WebhookDelivery

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=10)


@pytest.fixture
def uow(tmp_path):
    url = f"sqlite:///{tmp_path / 'routing.db'}"
    upgrade("routing", url)
    unit = UnitOfWork(make_engine(url))
    yield unit
    unit.engine.dispose()


def envelope(n: int) -> dict:
    return {"id": f"e{n}", "source": "routing", "type": "case.accepted", "correlation_id": "c"}


def claimed(uow, at) -> list[int]:
    with uow.transaction() as session:
        return [row.seq for row in claim_unsent(session, 2, at, LEASE)]


def test_outbox_rows_are_claimed_once_per_lease_and_again_after_it_runs_out(uow):
    with uow.transaction() as session:
        for n in range(3):
            add_event(session, envelope(n))
    first, second = claimed(uow, T0), claimed(uow, T0 + timedelta(seconds=1))  # two relay copies
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)
    assert claimed(uow, T0 + timedelta(seconds=2)) == []  # all leased
    # the copy holding `first` died before marking them sent: once its lease runs out they are taken again
    assert claimed(uow, T0 + LEASE + timedelta(seconds=1)) == first
    with uow.transaction() as session:
        session.execute(update(OUTBOX).values(sent_at=T0))
    assert claimed(uow, T0 + timedelta(hours=1)) == []  # sent rows are never claimed


def pending_delivery(uow) -> None:
    with uow.transaction() as session:
        session.add(Bureau(code="housing", name="住建局", webhook_url="http://127.0.0.1:9/x", webhook_secret="whsec_"))
        session.flush()
        session.add(
            WebhookDelivery(
                bureau="housing",
                event_id="e1",
                event_type="case.escalated",
                payload="{}",
                status="pending",
                attempts=[],
                next_attempt_at=T0,
                created_at=T0,
            )
        )


def test_a_webhook_attempt_is_claimed_by_one_copy_and_recorded_only_under_its_own_claim(uow):
    pending_delivery(uow)
    with uow.transaction() as session:
        (mine,) = public.claim_due(session, T0)
    with uow.transaction() as session:
        assert public.claim_due(session, T0 + timedelta(seconds=5)) == []  # another copy: nothing to take

    # this copy hangs past its lease; another one claims the delivery again and succeeds
    later = T0 + public.LEASE + timedelta(seconds=1)
    with uow.transaction() as session:
        (theirs,) = public.claim_due(session, later)
    with uow.transaction() as session:
        public.record(session, theirs, {"at": later.isoformat(), "url": "u", "status": 204}, True)
    with uow.transaction() as session:  # the late answer is kept, but decides nothing
        public.record(session, mine, {"at": later.isoformat(), "url": "u", "error": "ReadTimeout"}, False)
    with uow.transaction() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert delivery.status == "delivered" and delivery.next_attempt_at is None
        assert [a.get("status", a.get("error")) for a in delivery.attempts] == [204, "ReadTimeout"]


def test_a_failed_attempt_is_retried_after_its_back_off(uow):
    pending_delivery(uow)
    with uow.transaction() as session:
        (claim,) = public.claim_due(session, T0)
    with uow.transaction() as session:
        public.record(session, claim, {"at": T0.isoformat(), "url": "u", "status": 302}, False)
    with uow.transaction() as session:
        assert session.scalars(select(WebhookDelivery.next_attempt_at)).one() == T0 + timedelta(seconds=5)
        assert public.claim_due(session, T0 + timedelta(seconds=4)) == []
        assert len(public.claim_due(session, T0 + timedelta(seconds=5))) == 1

"""Scaling by copies: two copies of routing and two of points on one broker and one database each. Every
event is handled once (each case routed once, each award given once even when events are redelivered), and
the deadline scanner raises each overdue once. Throughput with more copies is measured in bench/, not here."""

import subprocess
import time
import uuid
from datetime import timedelta
from urllib.parse import unquote, urlparse

import pytest
from helpers import case_body, wait_for
from nameko.standalone.events import event_dispatcher
from sqlalchemy import func, select, update

from minqing import clock
from minqing.db import UnitOfWork, make_engine
from minqing.events import make_envelope
from services.points import ledger
from services.points.models import Award, PointEntry
from services.routing.models import Decision, RoutedCase

CASES, VISITS = 24, 60
RULES = {"rules": [{"priority": 10, "category": "elevator", "handling_type": "committed", "committed_days": 5}]}


def consumers(amqp_uri: str) -> dict[str, int]:
    vhost = unquote(urlparse(amqp_uri).path.lstrip("/"))
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name", "consumers", "--no-table-headers"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return {name: int(n) for name, n in (line.split() for line in out.splitlines() if line.strip())}


@pytest.fixture
def doubled(directory, run_container, make_config, amqp_uri, routing, points):
    from services.points.service import PointsService
    from services.routing.service import RoutingService

    run_container(RoutingService, make_config("routing", amqp_uri, DB_URL=routing.config["DB_URL"]))
    run_container(PointsService, make_config("points", amqp_uri, DB_URL=points.config["DB_URL"]))
    api = directory
    leader = {"id": "maxian-g01-leader", "grid": "maxian-g01", "name": "吴宇涛", "role": "grid_leader"}
    assert api.post("/api/v1/communities/maxian/roster/members", leader).status_code == 201
    assert api.call("PUT", "/api/v1/communities/maxian/routing-rules", json=RULES).status_code == 200
    return api, routing.config["DB_URL"], points.config["DB_URL"]


def test_two_copies_of_routing_and_points_handle_each_event_once(doubled, amqp_uri):
    api, routing_db, points_db = doubled
    queues = consumers(amqp_uri)
    assert queues["evt-intake-case.registered--routing.on_case_registered"] == 2
    assert queues["evt-feedback-visit.recorded--points.on_visit_recorded"] == 2

    ids = [api.post("/api/v1/cases", case_body(category="elevator")).json()["id"] for _ in range(CASES)]
    wait_for(lambda: all(api.get(f"/api/v1/cases/{i}").json()["status"] == "assigned" for i in ids), timeout=30)
    routing = UnitOfWork(make_engine(routing_db))
    with routing.transaction() as session:
        actions = session.execute(
            select(Decision.action, func.count()).where(Decision.case_id.in_(ids)).group_by(Decision.action)
        ).all()
        assert dict(actions) == {"classify": CASES, "assign": CASES}  # each registration routed by one copy
        # the scanner on both copies: every deadline that passes is raised once
        past = clock.now() - timedelta(hours=1)  # the subprocesses started later: their clocks are behind ours
        session.execute(update(RoutedCase).where(RoutedCase.id.in_(ids[:5])).values(deadline=past))
    wait_for(lambda: all(api.get(f"/api/v1/cases/{i}").json()["overdue"] for i in ids[:5]), timeout=15)
    time.sleep(1.5)  # several more scans by both copies
    for case_id in ids[:5]:
        timeline = [e["type"] for e in api.get(f"/api/v1/cases/{case_id}").json()["timeline"]]
        assert timeline.count("case.overdue") == 1 and timeline.count("case.assigned") == 1

    member = api.post(
        "/api/v1/members",
        {"community": "maxian", "name": "吴宇涛", "branch": "第一党支部", "status": "serving", "roster_id": "w1"},
    ).json()
    no_caps = {"cap_day": None, "cap_month": None}
    assert api.call("PATCH", "/api/v1/point-rules/maxian/home_visit", json=no_caps).status_code == 200
    dispatch = event_dispatcher({"AMQP_URI": amqp_uri, "serializer": "json"})
    envelopes = [
        make_envelope(
            "visit.recorded",
            source="feedback",
            community="maxian",
            subject=uuid.uuid4().hex,
            version=1,
            data={"kind": "home", "visitor": "w1"},
        )
        for _ in range(VISITS)
    ]
    for envelope in envelopes + envelopes[:20]:  # a third of them redelivered
        dispatch("feedback", "visit.recorded", envelope)
    wait_for(lambda: api.get(f"/api/v1/members/{member['id']}/points").json()["balance"] == VISITS, timeout=30)
    points = UnitOfWork(make_engine(points_db))
    with points.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Award)) == VISITS
        assert session.scalar(select(func.count()).select_from(PointEntry)) == VISITS
        assert ledger.mismatches(session) == []
    routing.engine.dispose()
    points.engine.dispose()

"""Routing end to end on real RabbitMQ and PostgreSQL: auto-routing, the handler's steps, the state
machine's refusals, escalation seen by an outside consumer and a signed webhook, overdue once."""

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
import requests
from helpers import Api, case_body, wait_for
from sqlalchemy import update
from standardwebhooks.webhooks import Webhook

from minqing.db import UnitOfWork, make_engine
from services.routing.models import RoutedCase

RULES = {
    "rules": [
        {"priority": 10, "category": "elevator", "handling_type": "committed", "committed_days": 5},
        {"priority": 20, "keywords": ["积水", "漏水"], "handling_type": "immediate"},
        {"priority": 30, "category": "property_management", "handling_type": "escalated", "handler_ref": "housing"},
    ]
}


class Receiver(BaseHTTPRequestHandler):
    received: list = []
    fail_first = 0

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if Receiver.fail_first > 0:
            Receiver.fail_first -= 1
            self.send_response(503)
        else:
            Receiver.received.append((dict(self.headers.items()), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook_url():
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received, Receiver.fail_first = [], 1  # the first attempt fails: the retry must deliver
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/minqing"
    server.shutdown()


@pytest.fixture
def routed(directory, webhook_url, token):
    api = directory
    member = {"id": "maxian-g01-leader", "grid": "maxian-g01", "name": "吴宇涛", "role": "grid_leader"}
    assert api.post("/api/v1/communities/maxian/roster/members", member).status_code == 201
    bureau = api.post("/api/v1/bureaus", {"code": "housing", "name": "马尾区住建局", "webhook_url": webhook_url})
    assert bureau.status_code == 201, bureau.text
    assert api.call("PUT", "/api/v1/communities/maxian/routing-rules", json=RULES).status_code == 200
    leader = Api(api.base, token("grid_member", ["maxian"], sub="maxian-g01-leader"))
    housing = Api(api.base, token("bureau_handler", ["maxian", "luoxing"], sub="housing-clerk", bureau="housing"))
    return api, leader, housing, bureau.json()["webhook_secret"]


def ledger(api, case_id):
    return api.get(f"/api/v1/cases/{case_id}").json()


def test_registered_case_is_auto_assigned_then_worked_to_resolution(routed):
    api, leader, _, _ = routed
    started = time.monotonic()
    case = api.post("/api/v1/cases", case_body(category="elevator")).json()
    assigned = wait_for(lambda: (c := ledger(api, case["id"]))["status"] == "assigned" and c)
    assert time.monotonic() - started < 1.0
    assert assigned["handling_type"] == "committed" and assigned["deadline"]
    assert assigned["handler"] == {"id": "maxian-g01-leader", "kind": "grid_member", "name": "吴宇涛"}

    for step in ("accept", "start"):
        assert leader.post(f"/api/v1/cases/{case['id']}/{step}", {}).status_code == 200
    done = leader.post(f"/api/v1/cases/{case['id']}/resolve", {"summary": "已联系维保单位更换电梯主板"})
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    final = wait_for(lambda: (c := ledger(api, case["id"]))["status"] == "resolved" and c)
    assert [e["type"] for e in final["timeline"]] == [
        "case.registered",
        "case.classified",
        "case.assigned",
        "case.accepted",
        "case.started",
        "case.resolved",
    ]
    assert final["timeline"][1]["actor"]["role"] == "system"


def test_illegal_steps_and_stale_versions_are_409_naming_what_is_allowed(routed):
    api, leader, _, _ = routed
    case = api.post("/api/v1/cases", case_body(title="小区绿化带杂草丛生", description="长期没人修剪")).json()
    wait_for(lambda: api.get(f"/api/v1/cases/{case['id']}/routing").status_code == 200)
    view = api.get(f"/api/v1/cases/{case['id']}/routing").json()
    assert view["status"] == "registered" and "classify" in view["allowed_actions"]  # no rule matched

    refused = api.post(f"/api/v1/cases/{case['id']}/resolve", {"summary": "done"})
    assert refused.status_code == 409
    assert "allowed from registered: classify, escalate" in refused.json()["detail"]
    stale = api.post(f"/api/v1/cases/{case['id']}/classify", {"handling_type": "immediate", "version": 99})
    assert stale.status_code == 409 and "version" in stale.json()["detail"]
    classified = api.post(
        f"/api/v1/cases/{case['id']}/classify", {"handling_type": "suggestion", "reason": "居民建议", "version": 1}
    )
    assert classified.status_code == 200 and classified.json()["version"] == 2
    assigned = api.post(
        f"/api/v1/cases/{case['id']}/assign", {"handler": "maxian-g01-leader", "reason": "网格长负责"}
    ).json()
    assert api.post(f"/api/v1/cases/{case['id']}/start", {}).status_code == 200  # staff may act for the handler
    no_outcome = leader.post(f"/api/v1/cases/{case['id']}/resolve", {"summary": "已研究"})
    assert no_outcome.status_code == 422 and "outcome" in no_outcome.json()["errors"]
    adopted = leader.post(f"/api/v1/cases/{case['id']}/resolve", {"summary": "纳入年度计划", "outcome": "adopted"})
    assert adopted.status_code == 200 and assigned["version"] < adopted.json()["version"]


def test_escalation_reaches_an_outside_consumer_and_a_signed_webhook(routed, amqp_uri):
    api, _, housing, secret = routed
    consumer = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("external_bureau_consumer.py")),
            "--url",
            amqp_uri,
            "--queue",
            "housing-bureau-inbox",
            "--key",
            "case.escalated.*.housing",
            "--timeout",
            "30",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert consumer.stdout.readline().strip() == "ready"
        case = api.post("/api/v1/cases", case_body(category="property_management", title="小区无物业管理")).json()
        line = consumer.stdout.readline()
        assert consumer.wait(timeout=30) == 0
    finally:
        consumer.kill()
    event = json.loads(line)
    assert event["routing_key"] == "case.escalated.maxian.housing"
    assert event["specversion"] == "1.0" and event["type"] == "cn.minqing.case.escalated"
    assert event["subject"] == case["id"] and event["data"]["reference"] == case["reference"]
    assert event["data"]["bureau"] == "housing" and event["content_type"] == "application/cloudevents+json"

    headers, body = wait_for(lambda: Receiver.received and Receiver.received[0], timeout=15)
    verified = Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})
    assert verified["id"] == event["id"]
    deliveries = api.get("/api/v1/bureaus/housing/deliveries").json()["items"]
    assert deliveries[0]["status"] == "delivered" and [a.get("status") for a in deliveries[0]["attempts"]] == [503, 204]

    # the bureau sees only cases sent to it, and answers through the API
    assert [c["id"] for c in housing.get("/api/v1/cases").json()["items"]] == [case["id"]]
    other = api.post("/api/v1/cases", case_body(category="elevator")).json()
    assert housing.get(f"/api/v1/cases/{other['id']}").status_code == 404
    assert housing.post(f"/api/v1/cases/{other['id']}/bureau/accept", {}).status_code == 404
    assert housing.post(f"/api/v1/cases/{case['id']}/bureau/accept", {}).json()["status"] == "bureau_accepted"
    resolved = housing.post(f"/api/v1/cases/{case['id']}/bureau/resolve", {"summary": "已协调引入物业公司"})
    assert resolved.json()["status"] == "resolved"
    wait_for(lambda: ledger(api, case["id"])["status"] == "resolved")


def test_a_dissatisfied_residents_escalated_case_goes_back_to_the_same_bureau(routed, amqp_uri, token):
    """Through the real broker: the bureau answered, the resident is dissatisfied, and the bureau receives the
    case again as a fresh transfer on its own routing key and webhook; staff may then redirect it."""
    api, _, housing, secret = routed
    assert api.post("/api/v1/bureaus", {"code": "urban", "name": "马尾区城管局"}).status_code == 201
    resident = Api(api.base, token("resident", ["maxian"], sub="resident-9"))
    consumer = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("external_bureau_consumer.py")),
            *("--url", amqp_uri, "--queue", "housing-reopened-inbox", "--key", "case.escalated.*.housing"),
            *("--count", "2", "--timeout", "60"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert consumer.stdout.readline().strip() == "ready"
        case = resident.post("/api/v1/cases", case_body(category="property_management", title="小区无物业")).json()
        first = json.loads(consumer.stdout.readline())
        cid = case["id"]
        assert housing.post(f"/api/v1/cases/{cid}/bureau/accept", {}).status_code == 200
        assert housing.post(f"/api/v1/cases/{cid}/bureau/resolve", {"summary": "已约谈开发商"}).status_code == 200
        reply = {"method": "online", "content": "住建局已约谈开发商"}
        wait_for(lambda: api.post(f"/api/v1/cases/{cid}/replies", reply).status_code == 201)
        unhappy = {"satisfied": False, "score": 1, "comment": "还是没有物业"}
        wait_for(lambda: resident.post(f"/api/v1/cases/{cid}/rating", unhappy).status_code == 201)
        again = json.loads(consumer.stdout.readline())
        assert consumer.wait(timeout=30) == 0
    finally:
        consumer.kill()
    assert (first["subject"], again["subject"]) == (cid, cid) and again["id"] != first["id"]
    assert again["routing_key"] == "case.escalated.maxian.housing" and again["data"]["bureau"] == "housing"
    assert again["data"]["status"] == "escalated" and again["data"]["version"] > first["data"]["version"]

    def delivered(event_id):
        for headers, body in Receiver.received:
            if Webhook(secret).verify(body, {k.lower(): v for k, v in headers.items()})["id"] == event_id:
                return body
        return None

    body = wait_for(lambda: delivered(again["id"]), timeout=30)  # the webhook too, signed
    # a fresh transfer limit, counted from the reopening (its value is the unit tests' business, at fixed instants)
    reopened_at, limit = (
        datetime.fromisoformat(json.loads(body)["time"]),
        datetime.fromisoformat(again["data"]["deadline"]),
    )
    assert limit > reopened_at and limit >= datetime.fromisoformat(first["data"]["deadline"])

    view = wait_for(lambda: (v := housing.get(f"/api/v1/cases/{cid}/routing").json())["status"] == "escalated" and v)
    assert view["allowed_actions"] == ["bureau/accept", "bureau/resolve", "bureau/return"]
    assert api.get(f"/api/v1/cases/{cid}/routing").json()["allowed_actions"] == ["escalate"]
    final = wait_for(lambda: (c := ledger(api, cid))["reopen_count"] == 1 and c["status"] == "escalated" and c)
    assert final["bureau"] == "housing"
    # staff redirect it to another bureau before housing accepts; housing no longer has it
    moved = api.post(f"/api/v1/cases/{cid}/escalate", {"bureau": "urban", "reason": "属于市政道路"})
    assert moved.status_code == 200 and moved.json()["bureau"] == "urban"
    assert housing.post(f"/api/v1/cases/{cid}/bureau/accept", {}).status_code == 404


def test_reassigning_and_returning_need_a_reason_and_allowed_actions_name_endpoints(routed):
    api, leader, _, _ = routed
    case = api.post("/api/v1/cases", case_body(category="elevator")).json()
    cid = case["id"]
    wait_for(lambda: ledger(api, cid)["status"] == "assigned")
    # what the caller can call now, spelled as the endpoint after /api/v1/cases/{id}/ (a grid member is staff)
    for_staff = leader.get(f"/api/v1/cases/{cid}/routing").json()["allowed_actions"]
    assert for_staff == ["accept", "assign", "escalate", "request-supplement", "resolve", "return", "start"]
    for segment in for_staff:  # each one is an endpoint the gateway serves (a stale version: refused, not 404)
        assert api.post(f"/api/v1/cases/{cid}/{segment}", {"version": 999}).status_code in (409, 422), segment

    version = api.get(f"/api/v1/cases/{cid}/routing").json()["version"]
    unexplained = api.post(f"/api/v1/cases/{cid}/assign", {"handler": "maxian-g01-leader"})
    assert unexplained.status_code == 422 and "reason" in unexplained.json()["errors"]
    bare_return = api.post(f"/api/v1/cases/{cid}/return", {})
    assert bare_return.status_code == 422 and "reason" in bare_return.json()["errors"]
    assert api.get(f"/api/v1/cases/{cid}/routing").json()["version"] == version  # nothing changed
    returned = api.post(f"/api/v1/cases/{cid}/return", {"reason": "网格调整"})
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    timeline = wait_for(lambda: (t := ledger(api, cid)["timeline"])[-1]["type"] == "case.returned" and t)
    assert timeline[-1]["detail"]["reason"] == "网格调整"


def test_overdue_is_raised_once_with_two_scanners(routed, run_container, make_config, amqp_uri, routing):
    from services.routing.service import RoutingService

    run_container(RoutingService, make_config("routing", amqp_uri, DB_URL=routing.config["DB_URL"]))
    api = routed[0]
    case = api.post("/api/v1/cases", case_body(category="elevator")).json()
    wait_for(lambda: ledger(api, case["id"])["status"] == "assigned")
    engine = make_engine(routing.config["DB_URL"])
    past = datetime.now(UTC) - timedelta(minutes=1)
    with UnitOfWork(engine).transaction() as session:  # as if the committed date had passed
        session.execute(update(RoutedCase).where(RoutedCase.id == case["id"]).values(deadline=past))
    wait_for(lambda: ledger(api, case["id"])["overdue"])
    time.sleep(1.5)  # several more scans by both copies
    detail = ledger(api, case["id"])
    assert [e["type"] for e in detail["timeline"]].count("case.overdue") == 1
    assert detail["supervision_level"] == 1
    overdue = api.get("/api/v1/cases", params={"overdue": "true"}).json()["items"]
    assert [c["id"] for c in overdue] == [case["id"]]
    metrics = requests.get(f"http://{routing.config['WEB_SERVER_ADDRESS']}/metrics")
    assert metrics.status_code == 200  # a 500's body quoted the payload, so the line below alone passed
    assert 'minqing_cases_overdue{community="maxian"} 1.0' in metrics.text

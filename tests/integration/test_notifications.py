"""Residents hear about their cases by SMS: one message per case, event and phone, through the accounts
service's delivery table, on the case's timeline, even with the accounts process killed in between."""

import json

import pytest
from helpers import Api, case_body, wait_for

from services.accounts.service import AccountsService

PHONE = "+8613800001234"


@pytest.fixture
def accounts(run_container, amqp_uri, accounts_db, make_config):
    """This module's accounts service texts reporters (the shared fixture does not)."""
    config = make_config("accounts", amqp_uri, DB_URL=accounts_db, CASE_SMS=True, PUBLIC_URL="https://mq.example")
    return run_container(AccountsService, config)


def sent(accounts, template=None):
    try:
        with open(accounts.config["SMS_LOG"], encoding="utf-8") as fh:
            lines = [json.loads(line) for line in fh]
    except FileNotFoundError:
        return []
    return [m for m in lines if m["to"] == PHONE and m["case_id"] and (template is None or m["template"] == template)]


def timeline_messages(api, case_id):
    timeline = api.get(f"/api/v1/cases/{case_id}").json()["timeline"]
    return [e["detail"] for e in timeline if e["type"] == "notification.sent"]


def test_registered_then_replied_one_sms_each_even_across_a_kill(
    directory, accounts, run_container, make_config, amqp_uri, accounts_db, token
):
    api = directory
    leader = {"id": "maxian-g01-leader", "grid": "maxian-g01", "name": "吴宇涛", "role": "grid_leader"}
    assert api.post("/api/v1/communities/maxian/roster/members", leader).status_code == 201
    rules = {"rules": [{"category": "elevator", "handling_type": "committed", "committed_days": 5}]}
    assert api.call("PUT", "/api/v1/communities/maxian/routing-rules", json=rules).status_code == 200
    handler = Api(api.base, token("grid_member", ["maxian"], sub="maxian-g01-leader"))
    before = len(sent(accounts))

    case = api.post("/api/v1/cases", case_body(category="elevator")).json()
    cid, reference = case["id"], case["reference"]
    (registered,) = wait_for(lambda: sent(accounts, "case_registered"))
    assert registered["params"] == {"reference": reference} and reference in registered["text"]
    assert registered["case_id"] == cid
    wait_for(lambda: sent(accounts, "case_assigned"))
    on_timeline = wait_for(lambda: [m for m in timeline_messages(api, cid) if m["template"] == "case_registered"])
    assert on_timeline[0]["to"] == "138****1234" and on_timeline[0]["about"] == "case.registered"

    # the notifier's process dies; events keep coming and wait in its queues
    accounts.kill()
    assert handler.post(f"/api/v1/cases/{cid}/resolve", {"summary": "已更换电梯门机"}).status_code == 200
    wait_for(lambda: api.get(f"/api/v1/cases/{cid}").json()["status"] == "resolved")
    assert (
        handler.post(f"/api/v1/cases/{cid}/replies", {"method": "online", "content": "电梯已修复"}).status_code == 201
    )
    config = make_config("accounts", amqp_uri, DB_URL=accounts_db, CASE_SMS=True, PUBLIC_URL="https://mq.example")
    restarted = run_container(AccountsService, config)

    (replied,) = wait_for(lambda: sent(restarted, "reply_sent"))
    assert replied["params"]["link"] == f"https://mq.example/cases/{cid}/rate"
    assert replied["params"]["link"] in replied["text"]
    wait_for(lambda: len(timeline_messages(api, cid)) == len(sent(restarted)) - before)
    templates = [m["template"] for m in sent(restarted)]
    assert templates.count("case_registered") == 1 and templates.count("reply_sent") == 1
    assert sorted(templates) == sorted(m["template"] for m in timeline_messages(api, cid))


def test_an_opted_out_resident_gets_nothing_and_a_case_without_phone_is_skipped(directory, accounts, token):
    api = directory
    created = api.post(
        "/api/v1/accounts",
        {
            "username": "opt.out",
            "display_name": "X",
            "role": "grid_member",
            "communities": ["maxian"],
            "phone": "13800001234",
        },
    ).json()
    assert api.call("PATCH", f"/api/v1/accounts/{created['id']}", json={"sms_opt_out": True}).status_code == 200
    quiet = api.post("/api/v1/cases", case_body()).json()
    no_phone = api.post("/api/v1/cases", case_body(reporter={"name": "匿名"})).json()
    other = api.post("/api/v1/cases", case_body(reporter={"name": "李", "phone": "13900001234"})).json()
    wait_for(lambda: [m for m in timeline_messages(api, other["id"])])
    assert timeline_messages(api, quiet["id"]) == [] and timeline_messages(api, no_phone["id"]) == []
    assert [m for m in sent(accounts) if m["case_id"] in (quiet["id"], no_phone["id"])] == []

"""Defects found by outside checks at the API's edges (issue 18): booleans are JSON true/false only, a deputy
follows up their own supervision records, and communities intake does not know exist nowhere else."""

import pytest
from helpers import Api, case_body, wait_for


@pytest.fixture
def replied(directory, token):
    """A case routed, resolved and answered: waiting for the resident's rating."""
    api = directory
    leader = {"id": "maxian-g01-leader", "grid": "maxian-g01", "name": "吴宇涛", "role": "grid_leader"}
    assert api.post("/api/v1/communities/maxian/roster/members", leader).status_code == 201
    rules = {"rules": [{"category": "elevator", "handling_type": "committed", "committed_days": 5}]}
    assert api.call("PUT", "/api/v1/communities/maxian/routing-rules", json=rules).status_code == 200
    resident = Api(api.base, token("resident", ["maxian"], sub="resident-7"))
    handler = Api(api.base, token("grid_member", ["maxian"], sub="maxian-g01-leader"))
    cid = resident.post("/api/v1/cases", case_body(channel="online", category="elevator")).json()["id"]
    wait_for(lambda: api.get(f"/api/v1/cases/{cid}").json()["status"] == "assigned")
    assert handler.post(f"/api/v1/cases/{cid}/resolve", {"summary": "已更换电梯门机"}).status_code == 200
    wait_for(lambda: api.get(f"/api/v1/cases/{cid}").json()["status"] == "resolved")
    assert handler.post(f"/api/v1/cases/{cid}/replies", {"method": "online", "content": "已修复"}).status_code == 201
    wait_for(lambda: api.get(f"/api/v1/cases/{cid}").json()["status"] == "replied")
    return api, resident, cid


def test_a_rating_takes_json_true_or_false_only_and_anything_else_changes_nothing(replied):
    api, resident, cid = replied
    for value in (0, 1, "true", "1", "false", None):
        r = resident.post(f"/api/v1/cases/{cid}/rating", {"satisfied": value, "score": 2})
        assert r.status_code == 422, (value, r.text)
        assert "satisfied" in r.json()["errors"], r.json()
    assert api.get(f"/api/v1/cases/{cid}/feedback").json()["ratings"] == []
    case = api.get(f"/api/v1/cases/{cid}").json()
    assert case["status"] == "replied" and case["reopen_count"] == 0
    assert resident.post(f"/api/v1/cases/{cid}/rating", {"satisfied": True}).json()["case_status"] == "closed"


def test_other_booleans_in_bodies_and_queries_are_strict(directory):
    api = directory
    record = {
        "community": "maxian",
        "kind": "media",
        "supervisor": {"type": "media", "name": "马尾电视台"},
        "target_type": "grid",
        "target_id": "maxian-g01",
        "finding": "报道：网格巡查不到位",
        "raises_urgency": 0,
    }
    r = api.post("/api/v1/supervisions", record)
    assert r.status_code == 422 and "raises_urgency" in r.json()["errors"]
    assert api.get("/api/v1/supervisions", params={"community": "maxian"}).json()["items"] == []
    r = api.get("/api/v1/supervisions", params={"overdue": "1"})
    assert r.status_code == 400 and "overdue" in r.json()["errors"]
    assert api.get("/api/v1/supervisions", params={"overdue": "true"}).status_code == 200
    r = api.get("/api/v1/cases", params={"overdue": "yes"})
    assert r.status_code == 400 and "overdue" in r.json()["errors"]


def test_a_trailing_newline_is_not_a_community(directory):
    r = directory.post("/api/v1/cases", case_body(community="maxian\n"))
    assert r.status_code == 422 and "community" in r.json()["errors"]
    r = directory.post("/api/v1/communities", {"code": "xinxian\n", "name": "新社区", "district": "mawei"})
    assert r.status_code == 422 and "code" in r.json()["errors"]
    assert "xinxian" not in [c["code"] for c in directory.get("/api/v1/communities").json()["items"]]


def test_a_deputy_lists_their_own_supervision_records_and_sees_them_closed(directory, token):
    api = directory
    chen = Api(api.base, token("deputy", ["maxian"], sub="deputy-chen"))
    wang = Api(api.base, token("deputy", ["maxian"], sub="deputy-wang"))

    def record(who, name, target):
        body = {
            "community": "maxian",
            "kind": "deputies",
            "supervisor": {"type": "deputy", "name": name},
            "target_type": "grid",
            "target_id": target,
            "finding": f"{name}：督促落实",
        }
        r = who.post("/api/v1/supervisions", body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    first, second = record(chen, "区人大代表 陈代表", "maxian-g01"), record(chen, "区人大代表 陈代表", "community")
    other = record(wang, "区政协委员 王委员", "maxian-g01")
    assert api.post(f"/api/v1/supervisions/{first}/close", {"closure": "已整改"}).status_code == 200

    mine = chen.get("/api/v1/supervisions")
    assert mine.status_code == 200, mine.text
    assert {s["id"]: s["status"] for s in mine.json()["items"]} == {first: "closed", second: "open"}
    closed = chen.get("/api/v1/supervisions", params={"status": "closed"}).json()["items"]
    assert [(s["id"], s["closure"]) for s in closed] == [(first, "已整改")]
    assert [s["id"] for s in wang.get("/api/v1/supervisions").json()["items"]] == [other]
    assert chen.post(f"/api/v1/supervisions/{second}/close", {"closure": "x"}).status_code == 403  # staff close
    assert len(api.get("/api/v1/supervisions").json()["items"]) == 3  # staff still see every record

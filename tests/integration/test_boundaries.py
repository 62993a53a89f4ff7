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


def rows(url, *tables):
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}
    finally:
        engine.dispose()


POINTS_TABLES = ("members", "point_rules", "point_rule_versions", "rewards", "expiry_policies", "activities")
ROUTING_TABLES = ("roster_members", "units", "advisers", "rules", "community_settings")


def test_points_and_routing_accept_nothing_for_a_community_intake_does_not_know(directory, points_db, routing_db):
    api = directory
    writes = [
        ("/api/v1/members", {"community": "nowhere", "name": "林志华", "branch": "第一支部", "status": "retired"}),
        ("/api/v1/rewards", {"community": "nowhere", "name": "毛巾", "price": 30, "stock": 5}),
        (
            "/api/v1/point-rules",
            {"community": "nowhere", "code": "cleanup", "name": "清扫", "points": 2, "unit": "per_activity"},
        ),
    ]
    for path, body in writes:
        r = api.post(path, body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["errors"] == {"community": ["unknown community 'nowhere'"]}, r.json()
    r = api.call("PUT", "/api/v1/point-expiry", json={"community": "nowhere", "years": 3})
    assert r.status_code == 422 and "community" in r.json()["errors"]
    assert api.call("PATCH", "/api/v1/point-rules/nowhere/home_visit", json={"points": 2}).status_code == 404
    for path, params in [
        ("/api/v1/point-rules", {"community": "nowhere"}),
        ("/api/v1/point-rules/nowhere/home_visit", {}),
        ("/api/v1/point-expiry", {"community": "nowhere"}),
    ]:
        assert api.get(path, params=params).status_code == 404, path

    leader = {"id": "nowhere-g01-leader", "grid": "nowhere-g01", "name": "吴宇涛", "role": "grid_leader"}
    assert api.post("/api/v1/communities/nowhere/roster/members", leader).status_code == 404
    assert api.post("/api/v1/communities/nowhere/roster/units", {"id": "u1", "name": "物业"}).status_code == 404
    rules = {"rules": [{"category": "elevator", "handling_type": "committed", "committed_days": 5}]}
    assert api.call("PUT", "/api/v1/communities/nowhere/routing-rules", json=rules).status_code == 404
    limits = {"limits": {"committed": {"days": 5}}}
    assert api.call("PUT", "/api/v1/communities/nowhere/limits", json=limits).status_code == 404
    assert set(rows(points_db, *POINTS_TABLES).values()) == {0}
    assert set(rows(routing_db, *ROUTING_TABLES).values()) == {0}

    # a community intake knows, created a moment ago, is accepted at once
    created = api.post("/api/v1/communities", {"code": "xinxian", "name": "新社区", "district": "mawei"})
    assert created.status_code == 201
    assert api.post("/api/v1/members", writes[0][1] | {"community": "xinxian"}).status_code == 201
    assert api.call("PUT", "/api/v1/communities/xinxian/routing-rules", json=rules).status_code == 200


def test_reading_the_point_rules_writes_nothing(directory, points_db):
    api = directory
    listed = api.get("/api/v1/point-rules", params={"community": "maxian"})
    assert listed.status_code == 200, listed.text
    assert rows(points_db, "point_rules", "point_rule_versions") == {"point_rules": 0, "point_rule_versions": 0}
    assert [r["code"] for r in listed.json()] == sorted(
        [
            "volunteer_service_day",
            "night_patrol",
            "flood_typhoon_duty",
            "suggestion_adopted",
            "case_satisfied",
            "home_visit",
        ]
    )
    one = api.get("/api/v1/point-rules/maxian/home_visit").json()
    assert (one["version"], one["points"], one["valid_from"], len(one["history"])) == (1, 1, None, 1)
    assert api.get("/api/v1/point-rules/maxian/no_such_rule").status_code == 404
    assert rows(points_db, "point_rules", "point_rule_versions") == {"point_rules": 0, "point_rule_versions": 0}

    changed = api.call("PATCH", "/api/v1/point-rules/maxian/home_visit", json={"points": 2})  # a write seeds them
    assert changed.status_code == 200 and changed.json()["version"] == 2, changed.text
    assert rows(points_db, "point_rules")["point_rules"] == 6
    after = {
        r["code"]: (r["version"], r["points"])
        for r in api.get("/api/v1/point-rules", params={"community": "maxian"}).json()
    }
    assert after["home_visit"] == (2, 2) and after["night_patrol"] == (1, 2)

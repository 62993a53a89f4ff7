"""HTTP end to end on real RabbitMQ and PostgreSQL: register → ledger, scoping, idempotency."""

import time

from helpers import case_body


def test_registered_case_reaches_the_ledger_with_a_reference_and_timeline(directory, token):
    worker = directory.__class__(directory.base, token("grid_member", ["maxian"], sub="grid-worker-1"))
    started = time.monotonic()
    r = worker.post("/api/v1/cases", case_body())
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "registered"
    assert case["reference"].startswith(f"MX-{time.gmtime().tm_year}-") or case["reference"].startswith("MX-")
    assert len(case["reference"]) == len("MX-2026-000001")
    assert case["title"] == "3号楼电梯故障，老人无法下楼"  # Chinese round-trips unchanged
    assert case["location"]["grid"] == "maxian-g01"

    listed = worker.get("/api/v1/cases", params={"community": "maxian"}).json()["items"]
    assert [c["id"] for c in listed] == [case["id"]]
    assert time.monotonic() - started < 1.0

    detail = worker.get(f"/api/v1/cases/{case['id']}").json()
    assert [e["type"] for e in detail["timeline"]] == ["case.registered"]
    assert detail["timeline"][0]["actor"]["id"] == "grid-worker-1"


def test_references_count_up_per_community(directory):
    refs = [directory.post("/api/v1/cases", case_body()).json()["reference"] for _ in range(3)]
    other = directory.post("/api/v1/cases", case_body(community="luoxing", location=None)).json()["reference"]
    numbers = [int(r.rsplit("-", 1)[1]) for r in refs]
    assert numbers == [1, 2, 3]
    assert other.startswith("LX-") and other.endswith("-000001")


def test_scoping_other_community_sees_nothing_district_sees_all(directory, token):
    case = directory.post("/api/v1/cases", case_body()).json()
    directory.post("/api/v1/cases", case_body(community="luoxing", location={"building": "luoxing-b01"}))
    outsider = directory.__class__(directory.base, token("community_admin", ["luoxing"]))

    assert outsider.get(f"/api/v1/cases/{case['id']}").status_code == 404
    assert {c["community"] for c in outsider.get("/api/v1/cases").json()["items"]} == {"luoxing"}
    assert outsider.get("/api/v1/cases", params={"community": "maxian"}).json()["items"] == []
    district = directory.get("/api/v1/cases").json()["items"]
    assert {c["community"] for c in district} == {"maxian", "luoxing"}


def test_resident_sees_only_own_cases_and_district_admin_sees_masked_phone(directory, token):
    resident = directory.__class__(directory.base, token("resident", ["maxian"], sub="resident-42"))
    own = resident.post("/api/v1/cases", case_body(channel="online")).json()
    directory.post("/api/v1/cases", case_body(title="小区路灯不亮"))
    assert [c["id"] for c in resident.get("/api/v1/cases").json()["items"]] == [own["id"]]
    assert own["reporter"]["phone"] == "13800001234"

    seen_by_district = directory.get(f"/api/v1/cases/{own['id']}").json()
    assert seen_by_district["reporter"]["phone"] == "138****1234"
    assert "502" not in seen_by_district["location"]["address"]


def test_idempotency_key_returns_first_response_and_creates_nothing_new(directory):
    headers = {"Idempotency-Key": "hotline-call-7781"}
    first = directory.post("/api/v1/cases", case_body(), headers=dict(headers))
    again = directory.post("/api/v1/cases", case_body(), headers=dict(headers))
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert len(directory.get("/api/v1/cases").json()["items"]) == 1

    changed = directory.post("/api/v1/cases", case_body(title="另一件事"), headers=dict(headers))
    assert changed.status_code == 409
    assert changed.headers["Content-Type"].startswith("application/problem+json")


def test_keyset_pagination_walks_every_case_once(directory):
    ids = {directory.post("/api/v1/cases", case_body(title=f"第{i}件诉求")).json()["id"] for i in range(7)}
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = directory.get("/api/v1/cases", params=params).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 7 and set(seen) == ids


def test_possible_duplicates_are_suggested_and_can_be_merged(directory):
    first = directory.post("/api/v1/cases", case_body()).json()
    unrelated = directory.post(
        "/api/v1/cases",
        case_body(title="建议增设电动车充电桩", description="小区电动车越来越多，楼道充电很危险，建议统一建充电棚。"),
    ).json()
    second = directory.post(
        "/api/v1/cases",
        case_body(title="电梯又坏了", description="3号楼电梯停了两天了，老人上下楼非常困难，请尽快维修电梯。"),
    ).json()
    assert [d["id"] for d in second["possible_duplicates"]] == [first["id"]]
    assert unrelated["possible_duplicates"] == []

    merged = directory.post(f"/api/v1/cases/{second['id']}/merge", {"into": first["id"], "reason": "同一故障"})
    assert merged.status_code == 200, merged.text
    assert merged.json()["status"] == "merged" and merged.json()["merged_into"] == first["id"]
    again = directory.post(f"/api/v1/cases/{second['id']}/merge", {"into": first["id"]})
    assert again.status_code == 409
    timeline = directory.get(f"/api/v1/cases/{first['id']}").json()["timeline"]
    assert [e["type"] for e in timeline] == ["case.registered", "case.duplicate_merged"]


def test_directory_lists_and_masks_households(directory, token):
    r = directory.post(
        "/api/v1/communities/maxian/households",
        {"code": "maxian-b01-1-0502", "building": "maxian-b01", "unit": "1", "room": "0502", "phone": "13900002222"},
    )
    assert r.status_code == 201, r.text
    staff = directory.__class__(directory.base, token("community_admin", ["maxian"]))
    assert staff.get("/api/v1/communities/maxian/households").json()["items"][0]["room"] == "0502"
    assert directory.get("/api/v1/communities/maxian/households").json()["items"][0]["phone"] == "139****2222"
    assert len(directory.get("/api/v1/communities/maxian/buildings").json()["items"]) == 2
    assert staff.get("/api/v1/communities/luoxing/buildings").status_code == 404
    communities = staff.get("/api/v1/communities").json()["items"]
    assert [c["code"] for c in communities] == ["maxian"]


def test_operations_endpoints(gateway, gateway_metrics, directory):
    import requests

    assert requests.get(gateway + "/healthz").json() == {"status": "ok"}
    ready = requests.get(gateway + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {
        "broker": "ok",
        "intake": "ok",
        "routing": "ok",
        "feedback": "ok",
        "points": "ok",
        "accounts": "ok",
    }
    directory.post("/api/v1/cases", case_body(), headers={"X-Correlation-Id": "corr-abc"})
    assert requests.get(gateway + "/metrics").status_code == 404  # not on the public API port
    metrics = requests.get(f"http://{gateway_metrics}/metrics").text
    assert 'minqing_http_requests_total{method="POST",route="/api/v1/cases",status="201"}' in metrics
    spec = requests.get(gateway + "/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/cases", "/api/v1/cases/{case_id}", "/api/v1/communities", "/api/v1/communities/{code}/grids"):
        assert path in spec["paths"]
    assert "CaseIn" in spec["components"]["schemas"]
    assert requests.get(gateway + "/api/v1/nothing-here").status_code == 404


def test_a_deputy_follows_a_case_and_sees_its_progress(directory, token):
    followed = directory.post("/api/v1/cases", case_body()).json()
    directory.post("/api/v1/cases", case_body(title="另一件事"))
    deputy = directory.__class__(directory.base, token("deputy", ["maxian"], sub="deputy-chen"))
    assert deputy.get("/api/v1/cases").json()["items"] == []
    r = deputy.post("/api/v1/follows", {"community": "maxian", "reference": followed["reference"]})
    assert r.status_code == 201 and r.json()["id"] == followed["id"]
    assert [c["id"] for c in deputy.get("/api/v1/cases").json()["items"]] == [followed["id"]]
    detail = deputy.get(f"/api/v1/cases/{followed['id']}").json()
    assert detail["timeline"][0]["type"] == "case.registered" and detail["reporter"]["phone"] == "138****1234"
    assert deputy.post("/api/v1/follows", {"community": "luoxing", "reference": "LX-2026-000001"}).status_code == 404
    assert deputy.post("/api/v1/follows", {"community": "maxian", "reference": "MX-2026-999999"}).status_code == 404
    assert deputy.post("/api/v1/cases", case_body()).status_code == 403

"""The outside probe's findings (issue 12), each as it was seen: a caller doing what its role may not."""

import io

import pytest
from helpers import Api, case_body, wait_for
from openpyxl import load_workbook
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError


@pytest.fixture
def unit_case(directory, token):
    """A case of maxian assigned to the resident unit `maxian-league`, and a token of another unit."""
    api = directory
    for unit in ({"id": "maxian-league", "name": "共青团马尾区委"}, {"id": "maxian-school", "name": "马限小学"}):
        assert api.post("/api/v1/communities/maxian/roster/units", unit).status_code == 201
    case = api.post("/api/v1/cases", case_body()).json()
    wait_for(lambda: api.get(f"/api/v1/cases/{case['id']}/routing").status_code == 200)
    classified = api.post(
        f"/api/v1/cases/{case['id']}/classify", {"handling_type": "immediate", "reason": "即办", "version": 1}
    )
    assert classified.status_code == 200, classified.text
    assigned = api.post(
        f"/api/v1/cases/{case['id']}/assign",
        {"handler": "maxian-league", "handler_kind": "unit", "reason": "团区委负责", "version": 2},
    )
    assert assigned.status_code == 200, assigned.text
    own = Api(api.base, token("unit_handler", ["maxian"], sub="maxian-league"))
    other = Api(api.base, token("unit_handler", ["maxian"], sub="maxian-school"))
    version = assigned.json()["version"]
    for step, body in (("accept", {}), ("start", {}), ("resolve", {"summary": "已组织志愿者处理"})):
        done = own.post(f"/api/v1/cases/{case['id']}/{step}", {"reason": step, "version": version, **body})
        assert done.status_code == 200, done.text
        version = done.json()["version"]
    wait_for(lambda: api.get(f"/api/v1/cases/{case['id']}").json()["status"] == "resolved")
    return api, own, other, case["id"]


def test_a_unit_handler_neither_reads_nor_answers_another_units_case(unit_case):
    api, own, other, case_id = unit_case
    assert other.get(f"/api/v1/cases/{case_id}").status_code == 404  # the ledger already said so
    assert other.get(f"/api/v1/cases/{case_id}/routing").status_code == 404
    assert other.get(f"/api/v1/cases/{case_id}/feedback").status_code == 404
    reply = {"method": "hotline_callback", "content": "已联系物业处理"}
    refused = other.post(f"/api/v1/cases/{case_id}/replies", reply, headers={"Idempotency-Key": "r-1"})
    assert refused.status_code == 404, refused.text
    assert api.get(f"/api/v1/cases/{case_id}/feedback").json()["replies"] == []
    # the unit the case is assigned to still may
    assert own.get(f"/api/v1/cases/{case_id}/routing").status_code == 200
    assert own.post(f"/api/v1/cases/{case_id}/replies", reply).status_code == 201


def test_a_return_visit_names_a_case_of_its_community(directory, token):
    api = directory
    other = api.post("/api/v1/cases", case_body(community="luoxing", location={"building": "luoxing-b01"})).json()
    wait_for(lambda: api.get(f"/api/v1/cases/{other['id']}/feedback").status_code == 200)
    for for_case in (other["id"], "0" * 32):
        visit = {"community": "maxian", "kind": "return", "for_case": for_case, "notes": "回访"}
        refused = api.post("/api/v1/visits", visit)
        assert refused.status_code == 422 and "for_case" in refused.json()["errors"], refused.text
    assert api.get("/api/v1/visits", params={"community": "maxian", "kind": "return"}).json()["items"] == []
    own = api.post("/api/v1/cases", case_body()).json()
    wait_for(lambda: api.get(f"/api/v1/cases/{own['id']}/feedback").status_code == 200)
    visit = {"community": "maxian", "kind": "return", "for_case": own["id"], "notes": "回访"}
    assert api.post("/api/v1/visits", visit).status_code == 201


def test_headers_and_json_bombs_over_http(directory, token):
    api = directory
    cases = api.get("/api/v1/cases")
    assert cases.headers["X-Content-Type-Options"] == "nosniff"
    assert cases.headers["Cache-Control"] == "no-store"  # residents' names and phones
    for public in ("/healthz", "/api/v1/openapi.json", "/api/v1/no-such-thing"):
        assert api.get(public).headers["X-Content-Type-Options"] == "nosniff"
    member = {
        "community": "maxian",
        "name": "林志华",
        "branch": "第一党支部",
        "status": "retired",
        "phone": "13900002222",
    }
    created = api.post("/api/v1/members", member)
    assert created.status_code == 201, created.text
    page = api.get(f"/api/v1/members/{created.json()['id']}/file", params={"year": 2026, "format": "html"})
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"

    for raw in (b'{"community": "maxian", "n": ' + b"9" * 5000 + b"}", b"[" * 50000 + b"]" * 50000):
        bomb = api.call("POST", "/api/v1/cases", data=raw, headers={"Content-Type": "application/json"})
        assert bomb.status_code == 400 and bomb.headers["Content-Type"].startswith("application/problem+json")


def test_a_bureau_secret_is_shown_once_and_never_stored_in_the_idempotent_answer(api, routing_db):
    body = {"code": "housing", "name": "马尾区住建局", "webhook_url": "https://housing.example.gov.cn/hooks/minqing"}
    first = api.post("/api/v1/bureaus", body, headers={"Idempotency-Key": "bureau-housing"})
    assert first.status_code == 201 and first.json()["webhook_secret"].startswith("whsec_")
    replay = api.post("/api/v1/bureaus", body, headers={"Idempotency-Key": "bureau-housing"})
    assert replay.status_code == 201 and replay.json()["code"] == "housing"
    assert replay.json()["webhook_secret"] is None
    with create_engine(routing_db).connect() as conn:
        stored = conn.execute(text("SELECT response FROM idempotency_keys")).scalars().all()
    assert stored and not any(first.json()["webhook_secret"] in row for row in stored)


# --- the audit trail ----------------------------------------------------------------------------------
def test_the_audit_trail_records_changes_and_unmasked_reads_and_is_append_only(directory, token, routing_db):
    api = directory
    cid = {"X-Correlation-Id": "audit-corr-1"}
    leader = {"id": "maxian-g01-leader", "grid": "maxian-g01", "name": "=1+1", "role": "grid_leader"}
    assert api.post("/api/v1/communities/maxian/roster/members", leader, headers=cid).status_code == 201
    rules = {"rules": [{"category": "elevator", "handling_type": "committed", "committed_days": 5}]}
    assert api.call("PUT", "/api/v1/communities/maxian/routing-rules", json=rules).status_code == 200
    assert api.call("PUT", "/api/v1/communities/maxian/limits", json={"limits": {"supplement_days": 5}}).ok
    assert api.post("/api/v1/bureaus", {"code": "housing", "name": "马尾区住建局"}).status_code == 201
    days = [("元旦", "01-01", "01-03"), ("春节", "02-05", "02-12"), ("清明节", "04-03", "04-05")]
    days += [("劳动节", "05-01", "05-05"), ("端午节", "06-09", "06-09"), ("中秋节", "09-15", "09-15")]
    days += [("国庆节", "10-01", "10-07")]
    holidays = [{"name": n, "from": f"2027-{a}", "to": f"2027-{b}"} for n, a, b in days]
    schedule = {"notice": "test schedule", "holidays": holidays}
    assert api.call("PUT", "/api/v1/calendar/2027", json=schedule).status_code == 200
    rule = {"community": "maxian", "code": "night_watch", "name": "夜间巡逻", "points": 5, "unit": "per_activity"}
    assert api.post("/api/v1/point-rules", rule).status_code == 201, "point rule"

    account = {"username": "wu.yutao", "display_name": "吴宇涛", "role": "grid_member", "communities": ["maxian"]}
    created = api.post("/api/v1/accounts", account | {"password": "a-first-password-0123"})
    assert created.status_code == 201, created.text

    case = api.post("/api/v1/cases", case_body()).json()
    member = Api(api.base, token("grid_member", ["maxian"], sub="maxian-g01-leader"))
    seen = member.get(f"/api/v1/cases/{case['id']}", headers={"X-Correlation-Id": "audit-read-1"})
    assert seen.json()["reporter"]["phone"] == "13800001234"  # unmasked: so it is recorded
    masked = Api(api.base, token("deputy", ["maxian"], sub="deputy-chen")).get("/api/v1/cases")
    assert masked.status_code == 200

    def entries(**params):
        return api.get("/api/v1/audit", params=params).json()["items"]

    read = wait_for(lambda: entries(action="personal_data.read", actor="maxian-g01-leader"))
    assert [(r["actor"], r["role"], r["correlation_id"]) for r in read] == [
        ("maxian-g01-leader", "grid_member", "audit-read-1")
    ]  # the deputy saw masked numbers, and a district admin sees them masked too: no record
    assert read[0]["detail"]["subjects"] == [case["id"]] and read[0]["community"] == "maxian"
    (added,) = entries(action="roster.added")
    assert (added["actor"], added["service"], added["correlation_id"]) == ("district-admin", "routing", "audit-corr-1")
    assert added["target"] == "roster/members/maxian-g01-leader" and added["detail"]["name"] == "=1+1"
    (opened,) = entries(action="account.created")  # accounts keep their trail the same way, never a password
    assert opened["service"] == "accounts" and opened["detail"]["username"] == "wu.yutao"
    assert "a-first-password-0123" not in str(opened)
    actions = {r["action"] for r in entries(limit=500)}
    expected = {"community.created", "directory.added", "roster.added", "rules.replaced", "limits.set"}
    assert expected | {"bureau.created", "point_rule.created", "calendar.loaded", "personal_data.read"} <= actions

    # reading the trail is recorded too (it holds what was changed, personal data included)
    audit_reads = wait_for(lambda: entries(action="personal_data.read", actor="district-admin"))
    assert audit_reads[0]["target"] == "GET /api/v1/audit" and audit_reads[0]["detail"]["subjects"]

    # keyset paging across four services: every entry once, newest first; up to the grid member's read, as
    # reading the trail adds entries (every change before it is committed: they were answered before it)
    until = read[0]["at"]
    pages, cursor = [], None
    while True:
        params = {"limit": 3, "to": until} | ({"cursor": cursor} if cursor else {})
        page = api.get("/api/v1/audit", params=params).json()
        pages.extend(page["items"])
        if not (cursor := page["next_cursor"]):
            break
    everything = entries(limit=500, to=until)
    assert [r["id"] for r in pages] == [r["id"] for r in everything] and len(everything) > 6
    assert [(r["at"], r["id"]) for r in everything] == sorted(((r["at"], r["id"]) for r in everything), reverse=True)

    admin = Api(api.base, token("community_admin", ["maxian"], sub="maxian-admin"))
    assert admin.get("/api/v1/audit").status_code == 403

    exported = api.get("/api/v1/audit/export", params={"format": "csv", "action": "roster.added"})
    assert exported.status_code == 200 and exported.headers["Content-Type"].startswith("text/csv")
    assert "roster/members/maxian-g01-leader" in exported.content.decode("utf-8-sig")
    book = api.get("/api/v1/audit/export", params={"format": "xlsx", "to": until})
    sheet = load_workbook(io.BytesIO(book.content)).active
    assert sheet.max_row == len(everything) + 1 and all(c.data_type != "f" for row in sheet.iter_rows() for c in row)

    with create_engine(routing_db).connect() as conn:
        for statement in ("UPDATE audit_log SET actor = 'someone-else'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                conn.execute(text(statement))
            conn.rollback()


def test_bureau_webhooks_into_the_platforms_network_are_refused_at_creation(api):
    for n, url in enumerate(
        (
            "http://localhost:15672/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8000/x",
            "http://2130706433:9101/",
        )
    ):
        refused = api.post("/api/v1/bureaus", {"code": f"b{n}x", "name": "某局", "webhook_url": url})
        assert refused.status_code == 422 and "webhook_url" in refused.json()["errors"], (url, refused.text)
    assert api.get("/api/v1/bureaus").json()["items"] == []

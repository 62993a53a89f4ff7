"""API fuzzing with schemathesis: requests generated from the live `/api/v1/openapi.json` for every operation,
valid (positive) and invalid (negative) bodies, queries, path parameters and tokens, sent with a valid token —
a district admin's, or for the few operations a district admin may not call, a bureau handler's or a deputy's.
No answer may be a 5xx, and every answer must have a status code, a content type and a body the document
declares. In valid requests, path parameters and well-known body and query fields (community, member, case,
reward, ...) are drawn half the time from things that exist, so they reach the services' rules, not only 404s.

Bounded: a dozen examples per operation and mode, no shrinking (a failure is reported as first found); about
45 seconds for the 100 operations on two cores. Not run: schemathesis's coverage phase (every boundary value of
every field: many times as long) and its stateful phase (the document declares no links). Not checked:
`positive_data_acceptance` and `negative_data_rejection`, which count the services' own rules (a period that
does not parse, a case that is not in the community: 422) and this test's swapping in of existing values as
failures. The pytest plugin (`schemathesis.pytest.from_fixture`) is not used: with pytest 9.2 it fails on
`Function._nodeid`; one test walks the operations and collects every failure into one message instead."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
import schemathesis
from helpers import case_body, wait_for
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.hooks import HookDispatcher, HookScope
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.api import ROUTES
from gateway.openapi import _path as openapi_path

EXAMPLES = 12  # per operation and mode
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as first found
    suppress_health_check=list(HealthCheck),
)


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def created(response, status=201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def world(directory):
    """Something of every kind. Returns what path parameters and body or query fields may name: by name, and
    by path where one name means different things on different paths."""
    api = directory
    for n in (1, 2):
        household = {"code": f"maxian-b01-1-{n:04d}", "building": "maxian-b01", "unit": "1", "room": f"{n:04d}"}
        created(api.post("/api/v1/communities/maxian/households", household))
    created(api.post("/api/v1/communities/maxian/resident_units", {"code": "maxian-unit-1", "name": "马限小学"}))
    leader = {"id": "maxian-g01-leader", "grid": "maxian-g01", "name": "吴宇涛", "role": "grid_leader"}
    created(api.post("/api/v1/communities/maxian/roster/members", leader))
    created(api.post("/api/v1/communities/maxian/roster/units", {"id": "maxian-league", "name": "共青团马尾区委"}))
    adviser = {"id": "maxian-lawyer", "name": "王律师", "specialties": ["lawyer"]}
    created(api.post("/api/v1/communities/maxian/roster/advisers", adviser))
    created(api.post("/api/v1/bureaus", {"code": "housing", "name": "马尾区住建局"}))
    rules = {
        "rules": [
            {"priority": 10, "category": "elevator", "handling_type": "committed", "committed_days": 5},
            {"priority": 20, "category": "property_management", "handling_type": "escalated", "handler_ref": "housing"},
        ]
    }
    assert api.call("PUT", "/api/v1/communities/maxian/routing-rules", json=rules).status_code == 200

    # five cases of one category make a hot issue: a meeting, its agenda items, a claimed project;
    # one case is assigned to the grid leader, one escalated to the housing bureau
    cases = [
        created(api.post("/api/v1/cases", case_body(category="childcare", title=f"孩子放学后无人看管{n}")))
        for n in range(5)
    ]
    cases.append(created(api.post("/api/v1/cases", case_body(category="elevator"))))
    cases.append(created(api.post("/api/v1/cases", case_body(category="property_management", title="小区无物业"))))
    issue = wait_for(lambda: api.get("/api/v1/communities/maxian/hot-issues").json()["items"])[0]
    meeting = created(
        api.post(
            "/api/v1/communities/maxian/meetings",
            {
                "title": "社区党建议事会",
                "held_at": "2026-11-20T15:00:00+08:00",
                "attending_units": ["maxian-league"],
                "agenda": [{"hot_issue": issue["id"]}, {"title": "楼道照明"}],
            },
        )
    )
    item = meeting["agenda"][0]["id"]
    project = created(api.post(f"/api/v1/agenda-items/{item}/claim", {"units": ["maxian-league"], "owner": "林老师"}))
    for case in cases:
        wait_for(lambda case=case: api.get(f"/api/v1/cases/{case['id']}/routing").status_code == 200)
    # the elevator case resolved and answered: it may be rated
    elevator = cases[5]["id"]
    wait_for(lambda: api.get(f"/api/v1/cases/{elevator}/routing").json()["status"] == "assigned")
    created(api.post(f"/api/v1/cases/{elevator}/resolve", {"summary": "已修复"}), 200)
    wait_for(lambda: api.post(f"/api/v1/cases/{elevator}/replies", {"method": "online", "content": "已修复"}).ok)

    supervision = created(
        api.post(
            "/api/v1/supervisions",
            {
                "community": "maxian",
                "kind": "deputies",
                "supervisor": {"type": "deputy", "name": "陈代表"},
                "target_type": "case",
                "target_id": cases[5]["id"],
                "finding": "电梯维修进度慢",
            },
        )
    )
    now = datetime.now(UTC)
    poll = created(
        api.post(
            "/api/v1/polls",
            {
                "community": "maxian",
                "title": "引进专业物业管理",
                "question": "是否同意？",
                "buildings": ["maxian-b01"],
                "threshold": "more than 2/3",
                "opens_at": iso(now - timedelta(days=1)),
                "closes_at": iso(now + timedelta(days=30)),
            },
        )
    )

    member = created(
        api.post(
            "/api/v1/members",
            {"community": "maxian", "name": "林志华", "branch": "第一党支部", "status": "retired", "user_id": "u-lin"},
        )
    )
    created(api.post(f"/api/v1/members/{member['id']}/points/corrections", {"points": 100, "reason": "期初"}))
    reward = created(api.post("/api/v1/rewards", {"community": "maxian", "name": "洗衣液", "price": 5, "stock": 50}))
    redemption = created(api.post("/api/v1/redemptions", {"member": member["id"], "reward": reward["id"]}))
    start = now - timedelta(hours=3)  # under way: signed up, checked in and out (in the past)
    activity = created(
        api.post(
            "/api/v1/activities",
            {
                "community": "maxian",
                "title": "夜间平安巡逻",
                "rule_code": "night_patrol",
                "place": "社区服务站",
                "starts_at": iso(start),
                "ends_at": iso(start + timedelta(hours=4)),
                "slots": 5,
            },
        )
    )
    later = now + timedelta(days=7)
    upcoming = created(
        api.post(
            "/api/v1/activities",
            {
                "community": "maxian",
                "title": "党员志愿服务日",
                "rule_code": "volunteer_service_day",
                "place": "社区广场",
                "starts_at": iso(later),
                "ends_at": iso(later + timedelta(hours=3)),
                "slots": 50,
            },
        )
    )
    path = f"/api/v1/activities/{activity['id']}"
    created(api.post(f"{path}/signups", {"member": member["id"]}), 200)
    created(api.post(f"{path}/check-ins", {"member": member["id"], "at": iso(start)}), 200)
    out = created(api.post(f"{path}/check-outs", {"member": member["id"], "at": iso(start + timedelta(hours=2))}), 200)

    case_ids = [c["id"] for c in cases]
    names = {
        "code": ["maxian", "luoxing"],
        "community": ["maxian", "luoxing"],
        "case_id": case_ids,
        "meeting_id": [meeting["id"]],
        "item_id": [a["id"] for a in meeting["agenda"]],
        "project_id": [project["id"]],
        "supervision_id": [supervision["id"]],
        "poll_id": [poll["id"]],
        "member_id": [member["id"]],
        "activity_id": [activity["id"], upcoming["id"]],
        "award_id": [out["signups"][0]["award"]["id"]],
        "reward_id": [reward["id"]],
        "redemption_id": [redemption["id"]],
        "year": [2026, 2027],
        # body and query fields
        "member": [member["id"]],
        "reward": [reward["id"]],
        "grid": ["maxian-g01"],
        "building": ["maxian-b01"],
        "buildings": [["maxian-b01"]],
        "household": ["maxian-b01-1-0001"],
        "rule_code": ["night_patrol", "volunteer_service_day"],
        "bureau": ["housing"],
        "handler": ["maxian-g01-leader"],
        "units": [["maxian-league"]],
        "attending_units": [["maxian-league"]],
        "reference": [c["reference"] for c in cases],
        "into": case_ids,
        "target_id": case_ids,
        "for_case": case_ids,
        "period": ["2026", now.strftime("%Y-%m"), "last_30_days"],
        "threshold": ["more than 2/3", "at least 80%"],
        "option": ["yes", "no"],
    }
    by_path = {
        "/api/v1/bureaus/{code}/deliveries": {"code": ["housing"]},
        "/api/v1/point-rules/{community}/{code}": {"code": ["night_patrol", "home_visit"]},
        "/api/v1/communities/{code}/roster/members/{entry_id}": {"entry_id": ["maxian-g01-leader"]},
        "/api/v1/communities/{code}/roster/units/{entry_id}": {"entry_id": ["maxian-league"]},
        "/api/v1/communities/{code}/roster/advisers/{entry_id}": {"entry_id": ["maxian-lawyer"]},
    }
    return names, by_path


def existing(known: dict):
    """A hook: each known field of a generated container, half the time swapped for a value that exists."""

    def swap(ctx, container):
        if not isinstance(container, dict) or not container:
            return st.just(container)
        return st.fixed_dictionaries(
            {
                key: st.one_of(st.just(value), st.sampled_from(known[key])) if key in known else st.just(value)
                for key, value in container.items()
            }
        )

    return swap


@pytest.fixture
def api_schema(gateway):
    schema = schemathesis.openapi.from_url(gateway + "/api/v1/openapi.json")
    schema.config.update(base_url=gateway)
    return schema


@pytest.fixture
def real_values(world) -> HookDispatcher:
    """Hooks for valid (positive) requests only, so that invalid ones stay invalid."""
    names, by_path = world
    hooks = HookDispatcher(scope=HookScope.TEST)
    hooks.register_hook_with_name(existing(names), "flatmap_body")
    hooks.register_hook_with_name(existing(names), "flatmap_query")

    def path_parameters(ctx, parameters):
        return existing(names | by_path.get(ctx.operation.path, {}))(ctx, parameters)

    hooks.register_hook_with_name(path_parameters, "flatmap_path_parameters")
    return hooks


@pytest.fixture
def tokens(token):
    """The token each operation is called with: a district admin's where that role may call it."""
    callers = {
        "district_admin": token("district_admin", ["*"], sub="fuzzer"),
        "bureau_handler": token("bureau_handler", ["maxian", "luoxing"], sub="housing-clerk", bureau="housing"),
        "deputy": token("deputy", ["maxian", "luoxing"], sub="deputy-chen"),
        "resident": token("resident", ["maxian"], sub="resident-fuzz"),  # linking one's own household
    }
    chosen = {}
    for route in ROUTES:
        if route.roles is not None:
            role = "district_admin" if "district_admin" in route.roles else route.roles[0]
            chosen[(route.method, openapi_path(route.path))] = {"Authorization": "Bearer " + callers[role]}
    return chosen


def fuzz(operation, mode: GenerationMode, hooks: HookDispatcher | None, session, headers: dict) -> None:
    @given(case=operation.as_strategy(mode, hooks=hooks))
    @SETTINGS
    def run(case):
        case.call_and_validate(session=session, headers=headers, checks=CHECKS)

    run()


def test_no_server_errors_and_every_answer_matches_the_document(api_schema, real_values, tokens):
    failures, started = [], time.monotonic()
    session = requests.Session()
    for result in api_schema.get_all_operations():
        operation = result.ok()
        headers = tokens.get((operation.method.upper(), operation.path), {})
        for mode in GenerationMode:
            try:
                fuzz(operation, mode, real_values if mode.is_positive else None, session, headers)
            except Unsatisfiable:  # negative mode: nothing to make invalid (no parameters, or free-form strings)
                pass
            except (Exception, FailureGroup) as exc:  # FailureGroup: every check one answer failed
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    print(f"fuzzed {len(api_schema)} operations in {time.monotonic() - started:.0f}s")
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures)

"""A visit that finds a problem registers its case at intake exactly once, however the request is retried.

Before, feedback called intake's `register_case` inside its own transaction with no key: when a retry of
the same request (same Idempotency-Key) overlapped the first one, both registered a case and only one
visit committed, leaving a second case nobody's visit points to (issue 18)."""

import eventlet
from sqlalchemy import func, select

from minqing.db import UnitOfWork, make_engine
from services.intake.models import Case

PROBLEM = {"title": "2号楼楼道灯不亮", "description": "走访发现2号楼三层楼道灯坏了", "building": "maxian-b02"}


def home_visit_cases(intake) -> int:
    engine = make_engine(intake.config["DB_URL"])
    try:
        with UnitOfWork(engine).transaction() as session:
            return session.scalar(select(func.count()).select_from(Case).where(Case.channel == "home_visit"))
    finally:
        engine.dispose()


def test_overlapping_retries_of_a_visit_register_one_case(directory, intake):
    api = directory
    body = {"community": "maxian", "kind": "home", "grid": "maxian-g01", "problem": PROBLEM}
    pool = eventlet.GreenPool()
    answers = list(
        pool.imap(lambda _: api.post("/api/v1/visits", body, headers={"Idempotency-Key": "visit-0001"}), range(6))
    )
    # each retry answers as the first request did: one visit, one case
    assert {r.status_code for r in answers} == {201}, [r.text for r in answers]
    first = answers[0].json()
    assert first["found_case"] and all(r.json() == first for r in answers)
    again = api.post("/api/v1/visits", body, headers={"Idempotency-Key": "visit-0001"})
    assert again.status_code == 201 and again.json() == first
    assert home_visit_cases(intake) == 1


def test_a_planned_visit_recorded_twice_at_once_registers_one_case(directory, intake):
    api = directory
    household = {"code": "maxian-b02-1-0101", "building": "maxian-b02", "unit": "1", "room": "0101"}
    assert api.post("/api/v1/communities/maxian/households", household).status_code == 201
    plan = api.post(
        "/api/v1/communities/maxian/visit-plans", {"grid": "maxian-g01", "planned_for": "2026-12-01T09:00:00+08:00"}
    )
    visit_id = plan.json()["planned"][0]["id"]
    body = {"community": "maxian", "visit_id": visit_id, "problem": PROBLEM}
    pool = eventlet.GreenPool()
    answers = list(pool.imap(lambda _: api.post("/api/v1/visits", body), range(4)))
    assert sorted(r.status_code for r in answers)[0] == 201 and {r.status_code for r in answers} <= {201, 409}
    assert [r.status_code for r in answers].count(201) == 1
    assert home_visit_cases(intake) == 1

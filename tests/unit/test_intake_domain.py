from datetime import UTC, datetime, timedelta

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from minqing.errors import Conflict, InvalidInput, NotFound
from minqing.events import load_envelope, make_envelope
from minqing.outbox import OUTBOX
from services.intake import cases, directory, ledger
from services.intake.models import Case
from services.intake.service import IntakeService

ADMIN = {"sub": "admin", "role": "district_admin", "communities": ["*"], "bureau": None}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(uow):
    with uow.transaction() as s:
        directory.create_community(
            s, {"code": "maxian", "name": "马限社区", "district": "mawei", "district_name": "马尾区"}, T0
        )
        directory.add_grid(s, "maxian", {"code": "maxian-g01", "name": "第一网格"})
        directory.add_building(s, "maxian", {"code": "maxian-b01", "name": "1号楼", "grid": "maxian-g01"})
        yield s


def register(session, when=T0, **kw):
    body = {"community": "maxian", "channel": "online", "title": "路灯不亮", "description": "1号楼门口路灯坏了"} | kw
    return cases.register_case(session, body, ADMIN, when)


def event(type_, case, version, data, when=None):
    env = make_envelope(type_, source="routing", community="maxian", subject=case.id, version=version, data=data)
    env = load_envelope(env)
    if when:
        env["time"] = when
    return env


def test_references_restart_each_local_year(session):
    first = register(session, when=datetime(2025, 12, 31, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    new_year = register(session, when=datetime(2025, 12, 31, 16, 30, tzinfo=UTC))  # 00:30 on 1 Jan
    assert (first.reference, new_year.reference) == ("MA-2025-000001", "MA-2026-000001")
    assert register(session).reference == "MA-2026-000002"


def test_registration_writes_case_timeline_and_outbox_together(session):
    case = register(session, location={"building": "maxian-b01"})
    assert case.grid == "maxian-g01" and case.status == "registered"
    assert session.scalar(select(func.count()).select_from(OUTBOX)) == 1


def test_registration_rejects_unknowns(session):
    with pytest.raises(NotFound):
        register(session, community="atlantis")
    with pytest.raises(InvalidInput) as err:
        register(session, location={"building": "nope"})
    assert "location.building" in err.value.errors


def test_duplicates_only_within_the_window_and_open_cases(session):
    old = register(session, when=T0 - timedelta(days=40), location={"building": "maxian-b01"})
    recent = register(session, location={"building": "maxian-b01"})
    again = register(session, when=T0 + timedelta(hours=1), location={"building": "maxian-b01"})
    assert [d["id"] for d in again.possible_duplicates] == [recent.id]
    assert old.id not in [d["id"] for d in again.possible_duplicates]
    cases.merge_case(session, again, recent.id, ADMIN, "同一件事", T0)
    with pytest.raises(Conflict):
        cases.merge_case(session, again, recent.id, ADMIN, None, T0)
    with pytest.raises(InvalidInput):
        cases.merge_case(session, recent, recent.id, ADMIN, None, T0)


def test_ledger_applies_newer_versions_only(session):
    case = register(session)
    handler = {"id": "h", "kind": "grid_member", "name": "吴"}
    assert ledger.apply_event(session, case, event("case.assigned", case, 3, {"handler": handler}))
    assert not ledger.apply_event(session, case, event("case.classified", case, 2, {"handling_type": "immediate"}))
    assert (case.status, case.state_version, case.handling_type) == ("assigned", 3, None)
    assert len(ledger.timeline(session, case.id)) == 3  # registered + both, whatever their order


def test_overdue_and_supervision_only_rise(session):
    case = register(session)
    deadline = T0 + timedelta(days=1)
    ledger.apply_event(session, case, event("case.overdue", case, 5, {"deadline": deadline, "supervision_level": 2}))
    ledger.apply_event(session, case, event("case.overdue", case, 4, {"deadline": deadline, "supervision_level": 1}))
    assert case.overdue and case.supervision_level == 2
    assert ledger.is_overdue(case, T0)


def test_computed_overdue_before_the_scanner_runs(session):
    case = register(session)
    ledger.apply_event(
        session,
        case,
        event("case.classified", case, 2, {"handling_type": "immediate", "deadline": T0 + timedelta(hours=8)}),
    )
    assert not ledger.is_overdue(case, T0)
    assert ledger.is_overdue(case, T0 + timedelta(hours=9))
    session.flush()
    late = ledger.list_cases(session, {"overdue": True}, ADMIN, T0 + timedelta(hours=9))["items"]
    assert [c.id for c in late] == [case.id]


def test_visibility_by_role(session):
    mine = cases.register_case(
        session,
        {"community": "maxian", "channel": "online", "title": "t", "description": "d"},
        {"sub": "res-1", "role": "resident", "communities": ["maxian"]},
        T0,
    )
    register(session)
    session.flush()
    as_resident = {"sub": "res-1", "role": "resident", "communities": ["maxian"], "bureau": None}
    assert [c.id for c in ledger.list_cases(session, {}, as_resident, T0)["items"]] == [mine.id]
    as_other = {"sub": "x", "role": "community_admin", "communities": ["luoxing"], "bureau": None}
    assert ledger.list_cases(session, {}, as_other, T0)["items"] == []
    as_bureau = {"sub": "b", "role": "bureau_handler", "communities": ["*"], "bureau": None}
    assert ledger.list_cases(session, {}, as_bureau, T0)["items"] == []


def test_service_entrypoint_with_worker_factory(uow):
    """The RPC boundary alone, with nameko's worker_factory and a real embedded database."""
    service = worker_factory(IntakeService, db=uow, config={})
    service.create_community(
        {"code": "maxian", "name": "马限社区", "district": "mawei", "district_name": "马尾区"}, ADMIN
    )
    out = service.register_case(
        {"community": "maxian", "channel": "forum", "title": "座谈", "description": "意见"}, ADMIN
    )
    assert out["reference"].endswith("-000001") and out["status"] == "registered"
    with pytest.raises(InvalidInput) as err:
        service.register_case({"community": "maxian", "channel": "fax"}, ADMIN)
    assert set(err.value.errors) == {"channel", "title", "description"}
    with uow.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 1

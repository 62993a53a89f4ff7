"""Intake: the directory, case registration and the ledger. Entrypoints only; rules live in the modules."""

from __future__ import annotations

from datetime import UTC, datetime

from nameko.rpc import rpc
from sqlalchemy import select

from minqing import audit, metrics
from minqing.errors import NotFound
from minqing.events import load_envelope
from minqing.handlers import event_handler
from minqing.outbox import claim_inbox
from minqing.rpc import boundary, load
from minqing.service import ServiceBase
from services.intake import cases, directory, duplicates, ledger
from services.intake import schemas as s
from services.intake.models import Building, Case, Community, Grid, Household, ResidentUnit

NAME = "intake"
DIRECTORY = {  # kind → (model, input schema, output schema, add function)
    "grids": (Grid, s.GridIn, s.GridOut, directory.add_grid),
    "buildings": (Building, s.BuildingIn, s.BuildingOut, directory.add_building),
    "resident_units": (ResidentUnit, s.ResidentUnitIn, s.ResidentUnitOut, directory.add_resident_unit),
    "households": (Household, s.HouseholdIn, s.HouseholdOut, directory.add_household),
}


def now() -> datetime:
    return datetime.now(UTC)


class IntakeService(ServiceBase):
    name = NAME

    def __init__(self):
        duplicates.warm_up()

    @property
    def settings(self) -> dict:
        return {
            "window_days": int(self.config.get("DUPLICATE_WINDOW_DAYS", 30)),
            "threshold": float(self.config.get("DUPLICATE_THRESHOLD", 60)),
        }

    # --- directory ----------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def create_community(self, payload, scope, idem=None):
        def produce(session, data, scope):
            community = s.CommunityOut().dump(directory.create_community(session, data, now()))
            self._audit(session, scope, "community.created", f"communities/{data['code']}", data["code"], data)
            return community

        return self._write(s.CommunityIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def community_exists(self, code):
        """Whether the community exists: routing and points ask before they accept anything for one."""
        with self.db.transaction() as session:
            return isinstance(code, str) and session.get(Community, code) is not None

    @rpc
    @boundary(NAME)
    def list_communities(self, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            return s.CommunityOut(many=True).dump(directory.list_communities(session, scope))

    @rpc
    @boundary(NAME)
    def add_directory_entry(self, kind, community, payload, scope, idem=None):
        _, schema_in, schema_out, add = DIRECTORY[kind]

        def produce(session, data, scope):
            directory.get_community(session, community, scope)
            entry = schema_out().dump(add(session, community, data))
            self._audit(session, scope, "directory.added", f"{kind}/{entry.get('code')}", community, data)
            return entry

        return self._write(schema_in, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def import_households(self, community, payload, scope):
        data, scope = load(s.HouseholdBatch, payload), load(s.Scope, scope)
        with self.db.transaction() as session:
            directory.get_community(session, community, scope)
            added = directory.add_households(session, community, data["items"])
            self._audit(session, scope, "households.imported", f"households/{community}", community, added)
            return added

    @rpc
    @boundary(NAME)
    def household_codes(self, community, buildings, scope):
        """The households of some buildings: a poll's electorate."""
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            directory.get_community(session, community, scope)
            for code in buildings:
                directory.get_building(session, community, code, field="buildings")
            return directory.household_codes(session, community, buildings)

    @rpc
    @boundary(NAME)
    def households_by_phone(self, community, phones, scope):
        """The households of a community whose contact phone is one of `phones` (a resident linking their
        account to their household: accounts asks, with the forms the phone may be written in)."""
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            directory.get_community(session, community, scope)
            rows = session.execute(
                select(Household.code, Household.building)
                .where(Household.community == community, Household.phone.in_([str(p) for p in phones][:5]))
                .order_by(Household.code)
            ).all()
            return [{"code": r.code, "building": r.building} for r in rows]

    @rpc
    @boundary(NAME)
    def grid_households(self, community, scope):
        """Every grid's household codes: the denominators of visit coverage."""
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            directory.get_community(session, community, scope)
            grids = session.scalars(select(Grid.code).where(Grid.community == community).order_by(Grid.code))
            return {grid: directory.grid_households(session, community, grid) for grid in grids}

    @rpc
    @boundary(NAME)
    def list_directory(self, kind, community, query, scope):
        model, _, schema_out, _ = DIRECTORY[kind]
        scope, page = load(s.Scope, scope), load(s.PageQuery, query)
        with self.db.transaction() as session:
            directory.get_community(session, community, scope)
            result = directory.page(session, model, community, page["limit"], page["cursor"])
            return {"items": schema_out(many=True).dump(result["items"]), "next_cursor": result["next_cursor"]}

    # --- cases --------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def register_case(self, payload, scope, idem=None):
        def produce(session, data, scope):
            case = cases.register_case(session, data, scope, now(), **self.settings)
            return s.CaseOut().dump(ledger.as_dict(case, now()))

        return self._write(s.CaseIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def list_cases(self, query, scope):
        query, scope = load(s.LedgerQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            result = ledger.list_cases(session, query, scope, now())
            items = [ledger.as_dict(case, now()) for case in result["items"]]
            return {"items": s.CaseOut(many=True).dump(items), "next_cursor": result["next_cursor"]}

    @rpc
    @boundary(NAME)
    def get_case(self, case_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            case = self._visible_case(session, case_id, scope)
            detail = ledger.as_dict(case, now()) | {"timeline": ledger.timeline(session, case.id)}
            return s.CaseDetailOut().dump(detail)

    @rpc
    @boundary(NAME)
    def merge_case(self, case_id, payload, scope, idem=None):
        def produce(session, data, scope):
            case = self._visible_case(session, case_id, scope, lock=True)
            merged = cases.merge_case(session, case, data["into"], scope, data["reason"], now())
            return s.CaseOut().dump(ledger.as_dict(merged, now()))

        return self._write(s.MergeIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def follow_case(self, payload, scope, idem=None):
        def produce(session, data, scope):
            case = cases.follow(session, data["community"], data["reference"], scope, now())
            return s.CaseOut().dump(ledger.as_dict(case, now()))

        return self._write(s.FollowIn, payload, scope, idem, produce)

    @staticmethod
    def _visible_case(session, case_id, scope, lock=False):
        case = cases.get_case(session, case_id, lock=lock)
        condition = ledger.visibility(scope)
        if condition is not None and session.scalar(select(Case.id).where(Case.id == case.id, condition)) is None:
            raise NotFound(f"case {case_id!r} not found")
        return case

    # --- the ledger follows routing's and feedback's events ------------------------------------
    @event_handler("routing", "case.#")
    def on_routing_event(self, body):
        self._apply(body)

    @event_handler("feedback", "#")
    def on_feedback_event(self, body):
        self._apply(body)

    @event_handler("gateway", "personal_data.read")
    def on_personal_data_read(self, body):
        """The audit trail of who was shown unmasked personal data (the gateway has no database)."""
        envelope = load_envelope(body)
        data = envelope["data"]
        with self.db.transaction() as session:
            if claim_inbox(session, "intake.audit", envelope["id"]):
                audit.record(
                    session,
                    "gateway",
                    {"sub": data["actor"], "role": data["role"]},
                    "personal_data.read",
                    f"{data['method']} {data['path']}",
                    envelope["community"] or None,
                    {"subjects": data["subjects"], "query": data["query"]},
                    at=envelope["time"],
                    correlation_id=envelope["correlation_id"],
                )

    @event_handler("accounts", "notification.sent")
    def on_notification_sent(self, body):
        self._apply(body)  # on the timeline only: a message changes nothing of the case

    def _apply(self, body):
        envelope = load_envelope(body)
        if not ledger.is_case_event(envelope["type"]):
            # feedback's visit.recorded and poll.closed name a visit or a poll, not a case: not the ledger's
            metrics.EVENTS_IN.labels(NAME, envelope["type"], "ignored").inc()
            return
        with self.db.transaction() as session:
            if not claim_inbox(session, "intake.ledger", envelope["id"]):
                metrics.EVENTS_IN.labels(NAME, envelope["type"], "duplicate").inc()
                return
            ledger.apply_event(session, cases.get_case(session, envelope["subject"], lock=True), envelope)
        metrics.EVENTS_IN.labels(NAME, envelope["type"], "applied").inc()

    # --- operations ---------------------------------------------------------------------------

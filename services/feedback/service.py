"""Feedback: replies, satisfaction and reopening, polls and votes, the rates. Entrypoints only."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime

from nameko.rpc import RpcProxy, rpc
from nameko.timer import timer

from minqing.errors import NotFound
from minqing.events import load_envelope
from minqing.handlers import event_handler
from minqing.outbox import claim_inbox
from minqing.rpc import boundary, load
from minqing.service import ServiceBase
from services.feedback import answers, report, statistics, supervision, visits, votes
from services.feedback import schemas as s
from services.intake.directory import can_see

NAME = "feedback"
STAFF = ("grid_member", "community_admin", "district_admin")


def now() -> datetime:
    return datetime.now(UTC)


class FeedbackService(ServiceBase):
    name = NAME
    intake = RpcProxy("intake")

    def _case(self, session, case_id, scope):
        case = answers.get_case(session, case_id, lock=True)
        if not can_see(scope, case.community):
            raise NotFound(f"case {case_id!r} not found")
        if scope["role"] == "unit_handler" and case.handler_id != scope["sub"]:
            raise NotFound(f"case {case_id!r} not found")  # another unit's case, as intake's ledger says
        return case

    # --- replies and ratings ---------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def reply(self, case_id, payload, scope, idem=None):
        def produce(session, data, scope):
            case = self._case(session, case_id, scope)
            answer = answers.reply(session, case, data, {"id": scope["sub"], "role": scope["role"]}, now())
            return s.ReplyOut().dump(answer)

        return self._write(s.ReplyIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def rate(self, case_id, payload, scope, idem=None):
        def produce(session, data, scope):
            case = self._case(session, case_id, scope)
            answers.check_rater(session, case, scope)
            rating = answers.rate(session, case, data, {"id": scope["sub"], "role": scope["role"]}, now())
            return s.RatingOut().dump(rating) | {"case_status": case.status, "reopen_count": case.reopen_count}

        return self._write(s.RatingIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def case_feedback(self, case_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            self._case(session, case_id, scope)
            found = answers.history(session, case_id)
            return {
                "replies": s.ReplyOut(many=True).dump(found["replies"]),
                "ratings": s.RatingOut(many=True).dump(found["ratings"]),
            }

    # --- polls and votes ---------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def create_poll(self, payload, scope, idem=None):
        def prepare(data, scope, _):
            if not can_see(scope, data["community"]):
                raise NotFound(f"community {data['community']!r} not found")
            return data | {"households": self.intake.household_codes(data["community"], data["buildings"], scope)}

        def produce(session, data, scope):
            return votes.view(votes.create(session, data, data["households"], scope["sub"]))

        return self._write(s.PollIn, payload, scope, idem, produce, prepare)

    @rpc
    @boundary(NAME)
    def vote(self, poll_id, payload, scope, idem=None):
        def produce(session, data, scope):
            poll = votes.get_poll(session, poll_id, scope)
            votes.own_household(session, poll, data, scope)
            return votes.cast(session, poll, data, scope["sub"], now())

        return self._write(s.VoteIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def get_poll(self, poll_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            return votes.view(votes.get_poll(session, poll_id, scope), live=True, session=session)

    @rpc
    @boundary(NAME)
    def close_poll(self, poll_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            return votes.view(votes.close(session, votes.get_poll(session, poll_id, scope, lock=True), now()))

    # --- the rates --------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def stats(self, query, scope):
        query, scope = load(s.StatsQuery, query), load(s.Scope, scope)
        households = self.intake.grid_households(query["community"], scope) if query["community"] else None
        with self.db.transaction() as session:
            found = statistics.stats(session, query, scope, now())
            if households is not None:  # coverage is of the whole campaign, not of the period
                found["visit_coverage"] = visits.coverage_report(session, query["community"], households)
            return found

    @rpc
    @boundary(NAME)
    def monthly_report(self, community, community_name, period, scope):
        """The community's report for a period as an xlsx workbook, base64-encoded for the RPC hop."""
        query = load(s.StatsQuery, {"community": community, "period": period, "group_by": "grid"})
        scope = load(s.Scope, scope)
        if not can_see(scope, community):
            raise NotFound(f"community {community!r} not found")
        with self.db.transaction() as session:
            found = statistics.stats(session, query, scope, now())
        return base64.b64encode(report.build(community_name, found)).decode()

    # --- supervision ------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def record_supervision(self, payload, scope, idem=None):
        def produce(session, data, scope):
            if not can_see(scope, data["community"]):
                raise NotFound(f"community {data['community']!r} not found")
            actor = {"id": scope["sub"], "role": scope["role"]}
            return s.SupervisionOut().dump(supervision.record(session, data, actor, now()))

        return self._write(s.SupervisionIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def close_supervision(self, supervision_id, payload, scope, idem=None):
        def produce(session, data, scope):
            item = supervision.get(session, supervision_id, scope)
            return s.SupervisionOut().dump(supervision.close(session, item, data["closure"], now()))

        return self._write(s.CloseIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def list_supervisions(self, query, scope):
        query, scope = load(s.SupervisionQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            found = supervision.page(session, query, scope, now())
            return {"items": s.SupervisionOut(many=True).dump(found["items"]), "next_cursor": found["next_cursor"]}

    # --- visits ------------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def plan_visits(self, community, payload, scope, idem=None):
        def prepare(data, scope, _):
            households = self.intake.grid_households(community, scope).get(data["grid"])
            if households is None:
                raise NotFound(f"grid {data['grid']!r} not found in {community!r}")
            return data | {"households": households}

        def produce(session, data, scope):
            planned = visits.plan(
                session,
                community,
                data["grid"],
                data["households"],
                data["planned_for"],
                data["limit"],
                data["visitor"],
            )
            return {"planned": s.VisitOut(many=True).dump(planned)}

        return self._write(s.VisitPlanIn, payload, scope, idem, produce, prepare)

    @rpc
    @boundary(NAME)
    def record_visit(self, payload, scope, idem=None):
        def prepare(data, scope, idem):
            """Check, then register the problem's case at intake (keyed by the visit) with no transaction open."""
            if not can_see(scope, data["community"]):
                raise NotFound(f"community {data['community']!r} not found")
            visit_id = visits.visit_id_for(data, scope["sub"], idem["key"])
            with self.db.transaction() as session:
                visits.check_recordable(session, data, visit_id)
            request = visits.case_request(visit_id, data, data["community"])
            found = self.intake.register_case(request["payload"], scope, request["idem"]) if request else None
            return data | {"id": visit_id, "found_case": found["id"] if found else None}

        def produce(session, data, scope):
            actor = {"id": scope["sub"], "role": scope["role"]}
            visit = visits.record(session, data, actor, now(), data["id"], data["found_case"])
            return s.VisitOut().dump(visit)

        return self._write(s.VisitIn, payload, scope, idem, produce, prepare)

    @rpc
    @boundary(NAME)
    def list_visits(self, query, scope):
        query, scope = load(s.VisitQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            return {"items": s.VisitOut(many=True).dump(visits.list_visits(session, query, scope)), "next_cursor": None}

    @rpc
    @boundary(NAME)
    def visit_coverage(self, community, scope):
        scope = load(s.Scope, scope)
        grid_households = self.intake.grid_households(community, scope)
        with self.db.transaction() as session:
            return visits.coverage_report(session, community, grid_households)

    # --- following the other services ------------------------------------------------------------
    @event_handler("accounts", "resident.household_linked")
    def on_household_linked(self, body):
        envelope = load_envelope(body)
        with self.db.transaction() as session:
            if claim_inbox(session, "feedback.accounts", envelope["id"]):
                votes.link_household(session, envelope)

    @event_handler("intake", "case.registered")
    def on_case_registered(self, body):
        envelope = load_envelope(body)
        with self.db.transaction() as session:
            if claim_inbox(session, "feedback.intake", envelope["id"]):
                answers.on_registered(session, envelope)

    @event_handler("routing", "case.#")
    def on_routing_event(self, body):
        envelope = load_envelope(body)
        with self.db.transaction() as session:
            if claim_inbox(session, "feedback.routing", envelope["id"]):
                case = answers.case_for_routing_event(session, envelope)
                applied = answers.on_routing_event(session, case, envelope)
                if applied and envelope["type"] == "case.resolved":
                    sample = float(self.config.get("RETURN_VISIT_SAMPLE", 1.0))
                    visits.schedule_return(session, case, sample, random.Random(envelope["id"]))

    # --- timers and operations -------------------------------------------------------------------
    @timer(interval=60)
    def close_unrated(self):
        with self.db.transaction() as session:
            answers.close_unrated(session, now(), float(self.config.get("UNRATED_CLOSE_DAYS", 7)))
        with self.db.transaction() as session:
            votes.close_due(session, now())

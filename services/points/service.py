"""Points: member files, rules, activities, awards from other services' events, the ledger, rewards and
redemption, rankings and annual files. Entrypoints only; the rules live in the modules they call."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select

from minqing.communities import CommunityCheck
from minqing.errors import Forbidden, NotFound
from minqing.events import load_envelope
from minqing.handlers import event_handler
from minqing.outbox import claim_inbox
from minqing.rpc import boundary, load
from minqing.service import ServiceBase
from services.intake.directory import can_see
from services.points import activities, awards, ledger, members, reports, rewards, rulebook, rules
from services.points import schemas as s
from services.points.models import ExpiryPolicy

NAME = "points"
ADMINS = ("community_admin", "district_admin")
SELF_EDITABLE = ("phone", "professions", "specialties", "availability")


def now() -> datetime:
    return datetime.now(UTC)


def _admin(scope: dict) -> None:
    if scope["role"] not in ADMINS:
        raise Forbidden("only community admins may do this")


def _community(scope: dict, community: str) -> None:
    if not can_see(scope, community):
        raise NotFound(f"community {community!r} not found")


class PointsService(CommunityCheck, ServiceBase):
    name = NAME

    def _known(self, schema_in, payload, scope) -> None:
        """Before any transaction opens: the body's community is the caller's and intake knows it (422)."""
        data, scope = load(schema_in, payload), load(s.Scope, scope)
        _community(scope, data["community"])
        self._require_community(data["community"], field="community")

    # --- member files ----------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def register_member(self, payload, scope, idem=None):
        self._known(s.PartyMemberIn, payload, scope)

        def produce(session, data, scope):
            _community(scope, data["community"])
            if scope["role"] not in members.STAFF:
                # a member registers themself, never someone else, and cannot claim a roster id (which would
                # route a handler's awards to them) or switch a file on or off
                if set(data) & {"roster_id", "active"}:
                    raise Forbidden("only community staff set a member's roster id or active flag")
                data["user_id"] = scope["sub"]
            return s.PartyMemberOut().dump(members.register(session, data, now()))

        return self._write(s.PartyMemberIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def update_member(self, member_id, payload, scope, idem=None):
        def produce(session, data, scope):
            member = members.get(session, member_id, scope, lock=True)
            if scope["role"] not in members.STAFF and set(data) - set(SELF_EDITABLE):
                raise Forbidden(f"a member may change only {', '.join(SELF_EDITABLE)} themself")
            return s.PartyMemberOut().dump(members.update(session, member, data, now()))

        return self._write(s.PartyMemberChange, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def get_member(self, member_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            return s.PartyMemberOut().dump(members.get(session, member_id, scope))

    @rpc
    @boundary(NAME)
    def search_members(self, query, scope):
        query, scope = load(s.PartyMemberQuery, query), load(s.Scope, scope)
        members.require_staff(scope)
        with self.db.transaction() as session:
            found = members.search(session, query, scope)
            return {"items": s.PartyMemberOut(many=True).dump(found["items"]), "next_cursor": found["next_cursor"]}

    # --- the ledger --------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def member_points(self, member_id, query, scope):
        query, scope = load(s.EntryQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            member = members.get(session, member_id, scope)
            found = ledger.page(session, member, query)
            return s.PointsOut().dump(
                {"member": member.id, "balance": member.balance, "earned": ledger.earned(session, member)} | found
            )

    @rpc
    @boundary(NAME)
    def correct_points(self, member_id, payload, scope, idem=None):
        def produce(session, data, scope):
            _admin(scope)
            member = members.get(session, member_id, scope, lock=True)
            entry = s.EntryOut().dump(ledger.correct(session, member, data, scope["sub"], now()))
            self._audit(session, scope, "points.corrected", f"members/{member_id}", member.community, data)
            return entry

        return self._write(s.CorrectionIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def member_file(self, member_id, query, scope, community_names=None):
        """The annual file: a dict for json, the page's HTML, or the xlsx base64-encoded for the RPC hop.
        `community_names` (code → name, intake's) puts the community's name on the page."""
        query, scope = load(s.FileQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            file = reports.annual_file(session, members.get(session, member_id, scope), query["year"])
        name = (community_names or {}).get(file["member"]["community"])
        if query["format"] == "xlsx":
            return base64.b64encode(reports.xlsx(file, name)).decode()
        if query["format"] == "html":
            return reports.page(file, name)
        return s.as_json(file)

    @rpc
    @boundary(NAME)
    def verify_ledger(self):
        """Members whose balance is not their entries' sum (an operator's check; always empty)."""
        with self.db.transaction() as session:
            return ledger.mismatches(session)

    # --- rules -------------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def list_rules(self, query, scope):
        query, scope = load(s.CommunityQuery, query), load(s.Scope, scope)
        _community(scope, query["community"])
        self._require_community(query["community"])
        with self.db.transaction() as session:  # a read: a default rule not yet used is shown, not stored
            return s.PointRuleOut(many=True).dump(rulebook.listing(session, query["community"]))

    @rpc
    @boundary(NAME)
    def get_rule(self, community, code, scope):
        scope = load(s.Scope, scope)
        _community(scope, community)
        self._require_community(community)
        with self.db.transaction() as session:
            return s.PointRuleOut().dump(rulebook.lookup(session, community, code))

    @rpc
    @boundary(NAME)
    def create_rule(self, payload, scope, idem=None):
        self._known(s.PointRuleIn, payload, scope)

        def produce(session, data, scope):
            _admin(scope)
            _community(scope, data["community"])
            rule = rulebook.create(session, data["community"], data, scope["sub"], now())
            self._audit(session, scope, "point_rule.created", f"point-rules/{rule.code}", data["community"], data)
            return s.PointRuleOut().dump(rulebook.view(session, rule, with_history=True))

        return self._write(s.PointRuleIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def change_rule(self, community, code, payload, scope, idem=None):
        self._require_community(community)

        def produce(session, data, scope):
            _admin(scope)
            _community(scope, community)
            rulebook.ensure_defaults(session, community, now())
            rule = rulebook.get(session, community, code, lock=True)
            rulebook.change(session, rule, data, scope["sub"], now())
            self._audit(session, scope, "point_rule.changed", f"point-rules/{code}", community, data)
            return s.PointRuleOut().dump(rulebook.view(session, rule, with_history=True))

        return self._write(s.PointRuleChange, payload, scope, idem, produce)

    # --- activities ------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def publish_activity(self, payload, scope, idem=None):
        self._known(s.ActivityIn, payload, scope)

        def produce(session, data, scope):
            members.require_staff(scope)
            _community(scope, data["community"])
            activity = activities.publish(session, data, scope["sub"], now())
            return s.ActivityOut().dump(activities.summary(session, activity))

        return self._write(s.ActivityIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def list_activities(self, query, scope):
        query, scope = load(s.ActivityQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            found = activities.page(session, query, scope)
            return {"items": s.ActivityOut(many=True).dump(found["items"]), "next_cursor": found["next_cursor"]}

    @rpc
    @boundary(NAME)
    def get_activity(self, activity_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            activity = activities.get(session, activity_id, scope)
            return s.ActivityOut().dump(activities.summary(session, activity, scope))

    @rpc
    @boundary(NAME)
    def attend(self, activity_id, action, payload, scope, idem=None):
        """sign_up, cancel, check_in or check_out one member; answers with the activity as it now stands."""
        steps = {
            "sign_up": lambda session, act, data, scope: activities.sign_up(session, act, data["member"], scope, now()),
            "cancel": lambda session, act, data, scope: activities.cancel(session, act, data["member"], scope, now()),
            "check_in": lambda session, act, data, scope: activities.check_in(
                session, act, data["member"], scope, data.get("at") or now()
            ),
            "check_out": lambda session, act, data, scope: activities.check_out(
                session, act, data["member"], scope, data.get("at") or now(), now()
            ),
        }
        if action not in steps:
            raise NotFound(f"no attendance action {action!r}")

        def produce(session, data, scope):
            activity = activities.get(session, activity_id, scope, lock=True)
            steps[action](session, activity, data, scope)
            return s.ActivityOut().dump(activities.summary(session, activity, scope))

        return self._write(s.AttendanceIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def end_activity(self, activity_id, action, scope, idem=None):
        """close (after the end: no-shows recorded) or cancel (before the start)."""
        ends = {"close": activities.close, "cancel": activities.cancel_activity}
        if action not in ends:
            raise NotFound(f"no activity action {action!r}")

        def produce(session, data, scope):
            activity = activities.get(session, activity_id, scope, lock=True)
            return s.ActivityOut().dump(ends[action](session, activity, scope, now()))

        return self._write(s.NoBody, {}, scope, idem, produce)

    # --- awards ----------------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def list_awards(self, query, scope):
        query, scope = load(s.AwardQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            found = awards.page(session, query, scope)
            return {"items": s.AwardOut(many=True).dump(found["items"]), "next_cursor": found["next_cursor"]}

    @rpc
    @boundary(NAME)
    def decide_award(self, award_id, payload, scope, idem=None):
        def produce(session, data, scope):
            members.require_staff(scope)
            award = awards.get(session, award_id, scope, lock=True)
            decided = awards.decide(session, award, data["approve"], scope["sub"], data["reason"], now())
            self._audit(session, scope, "award.decided", f"awards/{award_id}", decided.community, data)
            return s.AwardOut().dump(decided)

        return self._write(s.DecisionIn, payload, scope, idem, produce)

    # --- rewards and redemption -----------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def add_reward(self, payload, scope, idem=None):
        self._known(s.RewardIn, payload, scope)

        def produce(session, data, scope):
            _admin(scope)
            _community(scope, data["community"])
            reward = rewards.add(session, data, now())
            self._audit(session, scope, "reward.added", f"rewards/{reward.id}", data["community"], data)
            return s.RewardOut().dump(reward)

        return self._write(s.RewardIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def change_reward(self, reward_id, payload, scope, idem=None):
        def produce(session, data, scope):
            _admin(scope)
            reward = rewards.change(session, rewards.get(session, reward_id, scope), data, now())
            self._audit(session, scope, "reward.changed", f"rewards/{reward_id}", reward.community, data)
            return s.RewardOut().dump(reward)

        return self._write(s.RewardChange, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def list_rewards(self, query, scope):
        query, scope = load(s.RewardQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            return s.RewardOut(many=True).dump(rewards.listing(session, query, scope))

    @rpc
    @boundary(NAME)
    def redeem(self, payload, scope, idem=None):
        def produce(session, data, scope):
            member = members.get(session, data["member"], scope)
            reward = rewards.get(session, data["reward"], scope)
            redemption = rewards.redeem(session, member, reward, data["quantity"], scope["sub"], now())
            return s.RedemptionOut().dump(redemption) | {"balance": member.balance}

        return self._write(s.RedemptionIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def list_redemptions(self, query, scope):
        query, scope = load(s.RedemptionQuery, query), load(s.Scope, scope)
        with self.db.transaction() as session:
            found = rewards.page(session, query, scope)
            return {"items": s.RedemptionOut(many=True).dump(found["items"]), "next_cursor": found["next_cursor"]}

    @rpc
    @boundary(NAME)
    def cancel_redemption(self, redemption_id, payload, scope, idem=None):
        def produce(session, data, scope):
            redemption = rewards.get_redemption(session, redemption_id, scope)
            rewards.cancel(session, redemption, scope["sub"], data["reason"], now())
            return s.RedemptionOut().dump(redemption)

        return self._write(s.CancelIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def pick_up(self, redemption_id, scope, idem=None):
        def produce(session, data, scope):
            members.require_staff(scope)
            redemption = rewards.get_redemption(session, redemption_id, scope)
            return s.RedemptionOut().dump(rewards.pick_up(session, redemption, scope["sub"], now()))

        return self._write(s.NoBody, {}, scope, idem, produce)

    # --- rankings and expiry ----------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def rankings(self, query, scope):
        query, scope = load(s.RankingQuery, query), load(s.Scope, scope)
        members.require_staff(scope)
        _community(scope, query["community"])
        self._require_community(query["community"])
        with self.db.transaction() as session:
            try:
                return s.RankingOut().dump(reports.ranking(session, query, now().astimezone(rules.TZ).date()))
            except ValueError as exc:
                raise s.invalid_period(exc) from None

    @rpc
    @boundary(NAME)
    def set_expiry(self, payload, scope, idem=None):
        self._known(s.ExpiryIn, payload, scope)

        def produce(session, data, scope):
            _admin(scope)
            _community(scope, data["community"])
            policy = ledger.set_policy(session, data["community"], data["years"], scope["sub"], now())
            self._audit(session, scope, "expiry.set", f"expiry/{data['community']}", data["community"], data)
            return s.ExpiryOut().dump(policy)

        return self._write(s.ExpiryIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def get_expiry(self, query, scope):
        query, scope = load(s.CommunityQuery, query), load(s.Scope, scope)
        _community(scope, query["community"])
        self._require_community(query["community"])
        with self.db.transaction() as session:
            return s.ExpiryOut().dump(ledger.get_policy(session, query["community"]))

    @timer(interval=3600)
    def expire_points(self):
        today = now().astimezone(rules.TZ).date()
        with self.db.transaction() as session:
            communities = list(session.scalars(select(ExpiryPolicy.community)))
        for community in communities:
            with self.db.transaction() as session:
                ledger.expire(session, community, today, now())

    # --- other services' events -------------------------------------------------------------------
    def _award_for(self, consumer: str, body: dict) -> None:
        envelope = load_envelope(body)
        with self.db.transaction() as session:
            if claim_inbox(session, consumer, envelope["id"]):
                awards.on_event(session, envelope, now())

    @event_handler("routing", "suggestion.adopted")
    def on_suggestion_adopted(self, body):
        self._award_for("points.routing", body)

    @event_handler("feedback", "case.rated")
    def on_case_rated(self, body):
        self._award_for("points.feedback", body)

    @event_handler("feedback", "visit.recorded")
    def on_visit_recorded(self, body):
        self._award_for("points.feedback", body)

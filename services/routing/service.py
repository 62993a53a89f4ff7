"""Routing: classification, assignment, deadlines, supervision, escalation. Entrypoints only."""

from __future__ import annotations

from datetime import UTC, datetime

from nameko.rpc import rpc
from nameko.timer import timer
from sqlalchemy import select

from minqing import config as settings
from minqing import metrics
from minqing.communities import CommunityCheck
from minqing.errors import Forbidden, NotFound
from minqing.events import load_envelope
from minqing.handlers import event_handler
from minqing.outbox import claim_inbox, seen
from minqing.rpc import boundary, load
from minqing.service import ServiceBase
from services.intake.directory import can_see
from services.routing import calendar, holidays, machine, meetings, public, roster, scanner, targets, workflow
from services.routing import schemas as s
from services.routing.models import Bureau, HotIssue, Meeting, RoutedCase, WebhookDelivery

NAME = "routing"
ROSTER = {"members": (s.MemberIn, s.MemberOut), "units": (s.UnitIn, s.UnitOut), "advisers": (s.AdviserIn, s.AdviserOut)}
ACTIONS = {  # action → input schema
    "classify": s.ClassifyIn,
    "assign": s.AssignIn,
    "return": s.ReturnIn,
    "accept": s.Action,
    "start": s.Action,
    "request_supplement": s.Action,
    "supplement_received": s.Action,
    "resolve": s.ResolveIn,
    "escalate": s.EscalateIn,
    "bureau_accept": s.Action,
    "bureau_return": s.Action,
    "bureau_resolve": s.ResolveIn,
}
SCAN_INTERVAL = float(settings.get("scan_interval"))  # read at import: nameko timers are static
CALENDAR_REFRESH_INTERVAL = float(settings.get("calendar_refresh_interval"))


def now() -> datetime:
    return datetime.now(UTC)


def case_view(case: RoutedCase, scope: dict) -> dict:
    # what this caller can call now, named as the endpoints are (machine.ENDPOINTS is the one mapping)
    allowed = machine.callable_from(case.status, workflow.parties(case, scope))
    return s.RoutingCaseOut().dump(
        {**{c: getattr(case, c) for c in s.RoutingCaseOut().fields if hasattr(case, c)}, "allowed_actions": allowed}
    )


class RoutingService(CommunityCheck, ServiceBase):
    name = NAME

    @staticmethod
    def _in_scope(scope: dict, community: str) -> None:
        if not can_see(scope, community):
            raise NotFound(f"community {community!r} not found")

    def _in_known_community(self, scope: dict, community: str) -> None:
        """The caller's community, and one intake knows: asked before any transaction opens (an RPC)."""
        self._in_scope(scope, community)
        self._require_community(community)

    # --- roster, bureaus, rules, limits ----------------------------------------------------------
    @rpc
    @boundary(NAME)
    def add_roster_entry(self, kind, community, payload, scope, idem=None):
        schema_in, schema_out = ROSTER[kind]
        self._in_known_community(load(s.Scope, scope), community)

        def produce(session, data, scope):
            entry = schema_out().dump(roster.add(session, kind, community, data))
            self._audit(session, scope, "roster.added", f"roster/{kind}/{entry.get('id')}", community, data)
            return entry

        return self._write(schema_in, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def update_roster_entry(self, kind, community, entry_id, payload, scope):
        schema_in, schema_out = ROSTER[kind]
        changes, scope = load(schema_in(partial=True, exclude=("id",)), payload), load(s.Scope, scope)
        self._in_known_community(scope, community)
        with self.db.transaction() as session:
            entry = schema_out().dump(roster.update(session, kind, community, entry_id, changes))
            self._audit(session, scope, "roster.changed", f"roster/{kind}/{entry_id}", community, changes)
            return entry

    @rpc
    @boundary(NAME)
    def remove_roster_entry(self, kind, community, entry_id, scope):
        scope = load(s.Scope, scope)
        self._in_scope(scope, community)
        with self.db.transaction() as session:
            roster.remove(session, kind, community, entry_id)
            self._audit(session, scope, "roster.removed", f"roster/{kind}/{entry_id}", community)
            return {"id": entry_id, "removed": True}

    @rpc
    @boundary(NAME)
    def list_roster(self, kind, community, query, scope):
        scope, page = load(s.Scope, scope), load(s.PageQuery, query)
        self._in_scope(scope, community)
        with self.db.transaction() as session:
            result = roster.page(session, kind, community, page["limit"], page["cursor"], query.get("specialty"))
            return {"items": ROSTER[kind][1](many=True).dump(result["items"]), "next_cursor": result["next_cursor"]}

    @rpc
    @boundary(NAME)
    def add_bureau(self, payload, scope, idem=None):
        created = {}

        def produce(session, data, scope):
            bureau = roster.add_bureau(session, data)
            self._audit(session, scope, "bureau.created", f"bureaus/{bureau.code}", None, data)
            created["webhook_secret"] = bureau.webhook_secret
            return s.BureauOut().dump(bureau) | {"webhook_secret": None}  # what a replay of the key answers

        url = payload.get("webhook_url") if isinstance(payload, dict) else None
        if isinstance(url, str):  # resolved here, before the transaction: no network call inside one
            targets.check(url, targets.allowed_hosts(self.config.get("WEBHOOK_ALLOW_HOSTS")))
        # the secret is shown once, to the call that created it: never kept in the stored idempotent answer
        answer = self._write(s.BureauIn, payload, scope, idem, produce)
        if created.get("webhook_secret"):
            # a produce that lost a race on the key rolled back: show only the secret that was committed
            with self.db.transaction() as session:
                bureau = session.get(Bureau, answer["code"])
                if bureau is not None and bureau.webhook_secret == created["webhook_secret"]:
                    answer["webhook_secret"] = created["webhook_secret"]
        return answer

    @rpc
    @boundary(NAME)
    def list_bureaus(self):
        with self.db.transaction() as session:
            rows = session.scalars(select(Bureau).order_by(Bureau.code))
            return s.BureauIn(many=True).dump(rows)

    @rpc
    @boundary(NAME)
    def set_rules(self, community, payload, scope):
        data, scope = load(s.RuleSet, payload), load(s.Scope, scope)
        self._in_known_community(scope, community)
        with self.db.transaction() as session:
            rules = s.RuleOut(many=True).dump(roster.replace_rules(session, community, data["rules"]))
            self._audit(session, scope, "rules.replaced", f"routing-rules/{community}", community, data)
            return rules

    @rpc
    @boundary(NAME)
    def set_limits(self, community, payload, scope):
        data, scope = load(s.LimitsIn, payload), load(s.Scope, scope)
        self._in_known_community(scope, community)
        with self.db.transaction() as session:
            limits = roster.set_limits(session, community, data["limits"])
            self._audit(session, scope, "limits.set", f"limits/{community}", community, data)
            return {"community": community, "limits": limits}

    @rpc
    @boundary(NAME)
    def deliveries(self, bureau, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            rows = session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.bureau == bureau).order_by(WebhookDelivery.id.desc())
            )
            return s.DeliveryOut(many=True).dump(rows)

    # --- a case's workflow -------------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def act(self, case_id, action, payload, scope, idem=None):
        schema_in = ACTIONS[action]

        def produce(session, data, scope):
            case = workflow.get_case(session, case_id, lock=True)
            if action.startswith("bureau_"):
                workflow.authorize_bureau(case, scope)
            else:
                self._in_scope(scope, case.community)
            machine.check_version(case.version, data.get("version"))
            actor, reason, at = workflow.actor_of(scope), data.get("reason"), now()
            if action == "classify":
                workflow.classify(
                    session,
                    case,
                    data["handling_type"],
                    actor,
                    reason,
                    at,
                    committed_days=data["committed_days"],
                    committed_date=data["deadline"],
                )
            elif action == "assign":
                handler = workflow.resolve_handler(session, case, data["handler_kind"], data["handler"])
                workflow.assign(session, case, handler, actor, reason, at)
            elif action == "escalate":
                workflow.escalate(session, case, data["bureau"], actor, reason, at)
            elif action.startswith("bureau_"):
                workflow.bureau_step(session, case, action, scope, reason, at, summary=data.get("summary"))
            else:
                workflow.handler_step(
                    session, case, action, scope, reason, at, summary=data.get("summary"), outcome=data.get("outcome")
                )
            return case_view(case, scope)

        return self._write(schema_in, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def get_case(self, case_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            case = workflow.get_case(session, case_id)
            if scope["role"] == "bureau_handler":
                workflow.authorize_bureau(case, scope)
            else:
                self._in_scope(scope, case.community)
            if scope["role"] == "unit_handler" and case.handler_id != scope["sub"]:
                raise NotFound(f"case {case_id!r} not found")  # another unit's case, as intake's ledger says
            return case_view(case, scope)

    # --- joint meetings and claims ------------------------------------------------------------------
    @rpc
    @boundary(NAME)
    def hot_issues(self, community, scope):
        self._in_scope(load(s.Scope, scope), community)
        with self.db.transaction() as session:
            rows = session.scalars(
                select(HotIssue).where(HotIssue.community == community).order_by(HotIssue.detected_at.desc())
            )
            return s.HotIssueOut(many=True).dump(rows)

    @rpc
    @boundary(NAME)
    def convene_meeting(self, community, payload, scope, idem=None):
        def produce(session, data, scope):
            self._in_scope(scope, community)
            meeting = meetings.convene(session, community, data, workflow.actor_of(scope))
            return s.MeetingOut().dump(meetings.meeting_view(session, meeting))

        return self._write(s.MeetingIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def get_meeting(self, meeting_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            meeting = session.get(Meeting, meeting_id)
            if meeting is None or not can_see(scope, meeting.community):
                raise NotFound(f"meeting {meeting_id!r} not found")
            return s.MeetingOut().dump(meetings.meeting_view(session, meeting))

    @rpc
    @boundary(NAME)
    def claim_item(self, item_id, payload, scope, idem=None):
        def produce(session, data, scope):
            project = meetings.claim(session, item_id, data, workflow.actor_of(scope), now())
            self._in_scope(scope, project.community)
            return s.ProjectOut().dump(project)

        return self._write(s.ClaimIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def complete_project(self, project_id, payload, scope, idem=None):
        def produce(session, data, scope):
            self._in_scope(scope, meetings.get_project(session, project_id).community)
            result = meetings.complete(session, project_id, data["summary"], workflow.actor_of(scope), now())
            return s.ProjectOut().dump(result["project"]) | {"resolved_cases": result["resolved_cases"]}

        return self._write(s.CompleteIn, payload, scope, idem, produce)

    @rpc
    @boundary(NAME)
    def get_project(self, project_id, scope):
        scope = load(s.Scope, scope)
        with self.db.transaction() as session:
            project = meetings.get_project(session, project_id)
            self._in_scope(scope, project.community)
            return s.ProjectOut().dump(project)

    # --- events ------------------------------------------------------------------------------------
    @event_handler("intake", "hot_issue.detected")
    def on_hot_issue(self, body):
        envelope = load_envelope(body)
        with self.db.transaction() as session:
            if claim_inbox(session, "routing.hot_issues", envelope["id"]):
                meetings.record_hot_issue(session, envelope, now())

    @event_handler("intake", "hot_issue.updated")
    def on_hot_issue_updated(self, body):
        self.on_hot_issue(body)

    @event_handler("intake", "case.registered")
    def on_case_registered(self, body):
        envelope = load_envelope(body)
        with self.db.transaction() as session:
            if claim_inbox(session, "routing.intake", envelope["id"]):
                workflow.on_registered(session, envelope, now())

    @event_handler("feedback", "case.reopened")
    def on_case_reopened(self, body):
        envelope = load_envelope(body)
        with self.db.transaction() as session:
            if claim_inbox(session, "routing.feedback", envelope["id"]):
                workflow.reopen(session, workflow.get_case(session, envelope["subject"], lock=True), envelope, now())

    @event_handler("routing", "case.#")
    def on_own_event(self, body):
        """Tell bureaus: the public exchange (CloudEvents) and, where configured, their webhook.

        Read, publish with no transaction open, then record (inbox + webhook delivery) in one: a crash
        before the record publishes again on redelivery, which bureaus deduplicate by the event id."""
        envelope = load_envelope(body)
        with self.db.transaction() as session:
            case = session.get(RoutedCase, envelope["subject"])
            if case is None or not public.is_public(envelope, case) or seen(session, "routing.public", envelope["id"]):
                return
            bureau = envelope["data"].get("bureau") or case.bureau
            body_bytes = public.cloudevent(envelope, case, bureau)
            key = public.routing_key(envelope["type"], case.community, bureau)
        if not public.publish(self.config["AMQP_URI"], body_bytes, key):
            metrics.EVENTS_OUT.labels(NAME, "unroutable:" + envelope["type"]).inc()
        with self.db.transaction() as session:
            if claim_inbox(session, "routing.public", envelope["id"]):
                public.schedule_webhook(session, bureau, envelope, body_bytes, now())

    # --- timers --------------------------------------------------------------------------------------
    @timer(interval=SCAN_INTERVAL)
    def scan_deadlines(self):
        at = now()
        with self.db.transaction() as session:
            scanner.scan(session, at, fraction=float(self.config.get("DUE_SOON_FRACTION", 0.8)))
            for community, count in scanner.overdue_counts(session, at).items():
                metrics.CASES_OVERDUE.labels(community).set(count)

    @timer(interval=1)
    def deliver_webhooks(self):
        public.deliver_due(self.db.transaction, now)

    # --- the holiday calendar (docs/calendar.md) -----------------------------------------------------------
    @rpc
    @boundary(NAME)
    def put_calendar(self, year, payload, scope):
        data, scope = load(s.CalendarIn, payload), load(s.Scope, scope)
        if scope["role"] != "district_admin":
            raise Forbidden("only the district admin loads the holiday calendar")
        schedule = holidays.schedule_of(holidays.check_year(year), data)
        with self.db.transaction() as session:
            holidays.store(session, schedule, scope["sub"], now())
            self._audit(session, scope, "calendar.loaded", f"calendar/{year}", None, data)
        with self.db.transaction() as session:  # this copy at once; the others on their next refresh
            holidays.refresh(session)
            return s.CalendarOut().dump(holidays.view(session, year))

    @rpc
    @boundary(NAME)
    def get_calendar(self, year, scope):
        load(s.Scope, scope)
        with self.db.transaction() as session:
            return s.CalendarOut().dump(holidays.view(session, holidays.check_year(year)))

    @timer(interval=CALENDAR_REFRESH_INTERVAL, eager=True)
    def refresh_calendar(self):
        """Follow schedules loaded through any copy (a cheap revision check), and report the fallback years."""
        with self.db.transaction() as session:
            holidays.refresh(session)
        holidays.export(holidays.report(now().astimezone(calendar.TZ).date()))

    @rpc
    def health(self):
        """The database, and the calendar: which years within about 13 months run on the statutory fallback."""
        status = ServiceBase.health(self)
        status["calendar"] = holidays.report(now().astimezone(calendar.TZ).date())
        status["warnings"] = status["calendar"]["warnings"]
        return status

    # --- operations -------------------------------------------------------------------------------

"""The gateway: the platform's only HTTP surface. Each endpoint is one declaration and one RPC call."""

from __future__ import annotations

import eventlet
from kombu import Connection
from marshmallow import Schema, fields
from nameko.events import EventDispatcher
from nameko.rpc import RpcProxy

from gateway import console, openapi
from gateway.accounts_endpoints import AccountsEndpoints
from gateway.api import Dispatcher, MinqingRoleError, Route, endpoint, json_response
from gateway.audit_endpoints import AuditEndpoints
from gateway.feedback_endpoints import FeedbackEndpoints
from gateway.points_endpoints import PointsEndpoints
from gateway.routing_endpoints import CalendarEndpoints, MeetingEndpoints, RoutingEndpoints
from gateway.web import GatewaySettings, MetricsServer, http
from minqing import amqp_patch, metrics  # noqa: F401  amqp_patch: survive a broker restart mid-ack
from minqing import vocabulary as vocab
from minqing.context import Correlation
from minqing.vocabulary import ROLES
from services.intake import schemas as s

EVERYONE = ROLES
STAFF = ("grid_member", "community_admin", "district_admin")
ADMINS = ("community_admin", "district_admin")
REGISTRARS = ("resident", "grid_member", "community_admin", "district_admin")
DIRECTORY_KINDS = {
    "grids": (s.GridIn, s.GridOut),
    "buildings": (s.BuildingIn, s.BuildingOut),
    "households": (s.HouseholdIn, s.HouseholdOut),
    "resident_units": (s.ResidentUnitIn, s.ResidentUnitOut),
}
CASES, DIRECTORY, OPS = ("cases",), ("directory",), ("operations",)


class ChannelOut(Schema):
    code = fields.Str()
    label = fields.Str()


class VocabularyOut(Schema):
    channels = fields.List(fields.Nested(ChannelOut))
    handling_types = fields.List(fields.Str())
    feedback_methods = fields.List(fields.Str())
    statuses = fields.List(fields.Str())
    supervision_kinds = fields.List(fields.Str())
    roles = fields.List(fields.Str())
    member_statuses = fields.List(fields.Str())
    entry_kinds = fields.List(fields.Str())
    award_statuses = fields.List(fields.Str())
    redemption_statuses = fields.List(fields.Str())
    supervisor_types = fields.List(fields.Str())
    supervision_targets = fields.List(fields.Str())
    hot_issue_statuses = fields.List(fields.Str())
    agenda_statuses = fields.List(fields.Str())
    project_statuses = fields.List(fields.Str())
    visit_kinds = fields.List(fields.Str())
    visit_statuses = fields.List(fields.Str())
    poll_options = fields.List(fields.Str())
    poll_statuses = fields.List(fields.Str())
    poll_bases = fields.List(fields.Str())
    calendar_day_kinds = fields.List(fields.Str())
    calendar_sources = fields.List(fields.Str())
    labels = fields.Dict(
        keys=fields.Str(),
        values=fields.Dict(keys=fields.Str(), values=fields.Str()),
        metadata={"description": "Chinese label of every code, per list: labels[list][code]"},
    )


# every list of codes the API answers with, and its Chinese labels (the console shows only these)
VOCABULARY = {
    "channels": (vocab.CHANNELS, vocab.CHANNEL_LABELS),
    "handling_types": (vocab.HANDLING_TYPES, vocab.HANDLING_TYPE_LABELS),
    "feedback_methods": (vocab.FEEDBACK_METHODS, vocab.FEEDBACK_METHOD_LABELS),
    "statuses": (vocab.CASE_STATUSES, vocab.CASE_STATUS_LABELS),
    "supervision_kinds": (vocab.SUPERVISION_KINDS, vocab.SUPERVISION_KIND_LABELS),
    "roles": (vocab.ROLES, vocab.ROLE_LABELS),
    "member_statuses": (vocab.MEMBER_STATUSES, vocab.MEMBER_STATUS_LABELS),
    "entry_kinds": (vocab.ENTRY_KINDS, vocab.ENTRY_KIND_LABELS),
    "award_statuses": (vocab.AWARD_STATUSES, vocab.AWARD_STATUS_LABELS),
    "redemption_statuses": (vocab.REDEMPTION_STATUSES, vocab.REDEMPTION_STATUS_LABELS),
    "supervisor_types": (vocab.SUPERVISOR_TYPES, vocab.SUPERVISOR_TYPE_LABELS),
    "supervision_targets": (vocab.SUPERVISION_TARGETS, vocab.SUPERVISION_TARGET_LABELS),
    "hot_issue_statuses": (vocab.HOT_ISSUE_STATUSES, vocab.HOT_ISSUE_STATUS_LABELS),
    "agenda_statuses": (vocab.AGENDA_STATUSES, vocab.AGENDA_STATUS_LABELS),
    "project_statuses": (vocab.PROJECT_STATUSES, vocab.PROJECT_STATUS_LABELS),
    "visit_kinds": (vocab.VISIT_KINDS, vocab.VISIT_KIND_LABELS),
    "visit_statuses": (vocab.VISIT_STATUSES, vocab.VISIT_STATUS_LABELS),
    "poll_options": (vocab.POLL_OPTIONS, vocab.POLL_OPTION_LABELS),
    "poll_statuses": (vocab.POLL_STATUSES, vocab.POLL_STATUS_LABELS),
    "poll_bases": (vocab.POLL_BASES, vocab.POLL_BASIS_LABELS),
    "calendar_day_kinds": (vocab.CALENDAR_DAY_KINDS, vocab.CALENDAR_DAY_KIND_LABELS),
    "calendar_sources": (vocab.CALENDAR_SOURCES, vocab.CALENDAR_SOURCE_LABELS),
}


def _directory_routes(kind: str, schema_in, schema_out):
    base = f"/api/v1/communities/<code>/{kind}"
    add = Route(
        "POST",
        base,
        f"Add to the community's {kind}",
        ADMINS,
        body=schema_in,
        response=schema_out,
        status=201,
        tags=DIRECTORY,
        idempotent=True,
    )
    listing = Route(
        "GET",
        base,
        f"List the community's {kind}",
        STAFF,
        query=s.PageQuery,
        response=s.page_of(schema_out),
        tags=DIRECTORY,
    )
    return add, listing


class GatewayService(
    Dispatcher,
    RoutingEndpoints,
    MeetingEndpoints,
    CalendarEndpoints,
    FeedbackEndpoints,
    PointsEndpoints,
    AccountsEndpoints,
    AuditEndpoints,
):
    name = "gateway"
    intake = RpcProxy("intake")
    routing = RpcProxy("routing")
    feedback = RpcProxy("feedback")
    points = RpcProxy("points")
    accounts = RpcProxy("accounts")
    correlation = Correlation()
    settings = GatewaySettings()
    metrics_server = MetricsServer()
    audit_events = EventDispatcher()  # personal_data.read, recorded by intake (minqing/audit.py)

    # --- operations -------------------------------------------------------------------------
    @http("GET", "/healthz")
    def healthz(self, request):
        return json_response({"status": "ok"})

    @http("GET", "/readyz")
    def readyz(self, request):
        checks = {}
        try:
            with Connection(self.settings.amqp_uri, connect_timeout=2) as conn:
                conn.ensure_connection(max_retries=1)
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"unreachable: {exc}"
        warnings = {}
        for name in ("intake", "routing", "feedback", "points", "accounts"):
            try:
                with eventlet.Timeout(3):
                    health = getattr(self, name).health()
                checks[name] = "ok"
                if health.get("warnings"):  # ready, but something to fix (routing: a year without its notice)
                    warnings[name] = health["warnings"]
            except (Exception, eventlet.Timeout) as exc:
                checks[name] = f"not ready: {exc.__class__.__name__}"
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "not ready", "checks": checks, "warnings": warnings}
        return json_response(body, 200 if ready else 503)

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request):
        return json_response(_OPENAPI)

    @http("GET,POST,PUT,PATCH,DELETE", "/<path:path>")
    def not_found(self, request, path):
        return console.serve(request, path)  # the web console's files, else a 404 problem

    @http("GET", "/")
    def console_index(self, request):
        return console.serve(request, "")

    @http("GET", "/api/v1/vocabulary")
    @endpoint(
        Route(
            "GET",
            "/api/v1/vocabulary",
            "The method's codes and their Chinese labels: channels, handling types, feedback methods, statuses, "
            "supervision kinds, roles",
            EVERYONE,
            response=VocabularyOut,
            tags=OPS,
        )
    )
    def vocabulary(self, call):
        return {
            "channels": [{"code": c, "label": vocab.CHANNEL_LABELS[c]} for c in vocab.CHANNELS],
            **{kind: list(codes) for kind, (codes, _) in VOCABULARY.items() if kind != "channels"},
            "labels": {kind: {c: labels[c] for c in codes} for kind, (codes, labels) in VOCABULARY.items()},
        }

    # --- communities and directory -------------------------------------------------------------
    @http("POST", "/api/v1/communities")
    @endpoint(
        Route(
            "POST",
            "/api/v1/communities",
            "Create a community",
            ("district_admin",),
            body=s.CommunityIn,
            response=s.CommunityOut,
            status=201,
            tags=DIRECTORY,
            idempotent=True,
        )
    )
    def create_community(self, call):
        if not call.principal.district_wide:
            raise MinqingRoleError("only a district-wide token may create communities")
        return self.intake.create_community(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/communities")
    @endpoint(
        Route(
            "GET",
            "/api/v1/communities",
            "List the communities the caller may see",
            EVERYONE,
            response=s.page_of(s.CommunityOut),
            tags=DIRECTORY,
        )
    )
    def list_communities(self, call):
        return {"items": self.intake.list_communities(call.scope), "next_cursor": None}

    @http("POST", "/api/v1/communities/<code>/<any(grids,buildings,households,resident_units):kind>")
    def add_directory_entry(self, request, code, kind):
        return self._add_directory[kind](self, request, code=code)

    @http("GET", "/api/v1/communities/<code>/<any(grids,buildings,households,resident_units):kind>")
    def list_directory(self, request, code, kind):
        return self._list_directory[kind](self, request, code=code)

    # --- cases ----------------------------------------------------------------------------------
    @http("POST", "/api/v1/cases")
    @endpoint(
        Route(
            "POST",
            "/api/v1/cases",
            "Register a case (集中受理)",
            REGISTRARS,
            body=s.CaseIn,
            response=s.CaseOut,
            status=201,
            tags=CASES,
            idempotent=True,
        )
    )
    def register_case(self, call):
        return self.intake.register_case(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/cases")
    @endpoint(
        Route(
            "GET",
            "/api/v1/cases",
            "The ledger (民情工作台账), newest first",
            EVERYONE,
            query=s.LedgerQuery,
            response=s.page_of(s.CaseOut),
            tags=CASES,
        )
    )
    def list_cases(self, call):
        return self.intake.list_cases(call.query, call.scope)

    @http("GET", "/api/v1/cases/<case_id>")
    @endpoint(
        Route(
            "GET",
            "/api/v1/cases/<case_id>",
            "One case with its timeline",
            EVERYONE,
            response=s.CaseDetailOut,
            tags=CASES,
        )
    )
    def get_case(self, call, case_id):
        return self.intake.get_case(case_id, call.scope)

    @http("POST", "/api/v1/follows")
    @endpoint(
        Route(
            "POST",
            "/api/v1/follows",
            "A deputy follows a case by its reference; it then shows in their ledger",
            ("deputy",),
            body=s.FollowIn,
            response=s.CaseOut,
            status=201,
            tags=CASES,
            idempotent=True,
        )
    )
    def follow_case(self, call):
        return self.intake.follow_case(call.body, call.scope, call.idem)

    @http("POST", "/api/v1/cases/<case_id>/merge")
    @endpoint(
        Route(
            "POST",
            "/api/v1/cases/<case_id>/merge",
            "Merge a duplicate into another open case",
            STAFF,
            body=s.MergeIn,
            response=s.CaseOut,
            tags=CASES,
            idempotent=True,
        )
    )
    def merge_case(self, call, case_id):
        return self.intake.merge_case(case_id, call.body, call.scope, call.idem)


def _directory_handlers():
    """One add and one list endpoint per directory kind, sharing the same two RPCs."""
    adds, lists = {}, {}
    for kind, (schema_in, schema_out) in DIRECTORY_KINDS.items():
        add_route, list_route = _directory_routes(kind, schema_in, schema_out)

        def add(self, call, code, kind=kind):
            return self.intake.add_directory_entry(kind, code, call.body, call.scope, call.idem)

        def listing(self, call, code, kind=kind):
            return self.intake.list_directory(kind, code, call.query, call.scope)

        adds[kind], lists[kind] = endpoint(add_route)(add), endpoint(list_route)(listing)
    return adds, lists


GatewayService._add_directory, GatewayService._list_directory = _directory_handlers()
_OPENAPI = openapi.build()

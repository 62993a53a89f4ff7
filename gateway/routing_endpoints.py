"""Gateway endpoints served by the routing service: roster, rules, limits, bureaus, case actions."""

from __future__ import annotations

from gateway.api import MinqingRoleError, Route, endpoint
from gateway.web import http
from services.routing import schemas as rs

STAFF = ("grid_member", "community_admin", "district_admin")
ADMINS = ("community_admin", "district_admin")
HANDLERS = ("grid_member", "community_admin", "district_admin", "unit_handler")
ROSTER = {
    "members": (rs.MemberIn, rs.MemberOut),
    "units": (rs.UnitIn, rs.UnitOut),
    "advisers": (rs.AdviserIn, rs.AdviserOut),
}
CASE_ACTIONS = {  # path segment → (action, roles, body schema, summary)
    "classify": ("classify", STAFF, rs.ClassifyIn, "Classify: handling type and deadline"),
    "assign": ("assign", STAFF, rs.AssignIn, "Assign or reassign a handler (reassigning needs a reason)"),
    "return": ("return", STAFF, rs.ReturnIn, "Return a case to the community's pool, with a reason"),
    "accept": ("accept", HANDLERS, rs.Action, "The handler accepts the case"),
    "start": ("start", HANDLERS, rs.Action, "The handler starts work"),
    "request-supplement": ("request_supplement", HANDLERS, rs.Action, "Wait for the resident's material (clock stops)"),
    "supplement-received": ("supplement_received", HANDLERS, rs.Action, "Material arrived (clock restarts)"),
    "resolve": ("resolve", HANDLERS, rs.ResolveIn, "Resolve (suggestions: adopted or not_adopted)"),
    "escalate": ("escalate", STAFF, rs.EscalateIn, "Transfer to a district bureau"),
}
BUREAU_ACTIONS = {
    "accept": ("bureau_accept", rs.Action, "The bureau accepts a transferred case"),
    "return": ("bureau_return", rs.Action, "The bureau returns the case, with a reason"),
    "resolve": ("bureau_resolve", rs.ResolveIn, "The bureau resolves the case"),
}
ROUTING_TAGS = ("routing",)


def _roster_handlers():
    adds, lists = {}, {}
    for kind, (schema_in, schema_out) in ROSTER.items():
        path = f"/api/v1/communities/<code>/roster/{kind}"

        def add(self, call, code, kind=kind):
            return self.routing.add_roster_entry(kind, code, call.body, call.scope, call.idem)

        def listing(self, call, code, kind=kind):
            return self.routing.list_roster(kind, code, call.query, call.scope)

        adds[kind] = endpoint(
            Route(
                "POST",
                path,
                f"Add to the {kind} roster",
                ADMINS,
                body=schema_in,
                response=schema_out,
                status=201,
                tags=ROUTING_TAGS,
                idempotent=True,
            )
        )(add)
        lists[kind] = endpoint(
            Route(
                "GET",
                path,
                f"List the {kind} roster",
                STAFF,
                query=rs.PageQuery,
                response=rs.page_of(schema_out),
                tags=ROUTING_TAGS,
            )
        )(listing)
    return adds, lists


def _partial(schema_in):
    """The same fields, all optional: what a PATCH may send."""

    def __init__(self, *args, **kwargs):
        schema_in.__init__(self, *args, partial=True, **kwargs)

    return type(f"{schema_in.__name__}Patch", (schema_in,), {"__init__": __init__})


def _roster_entry_handlers():
    patches, deletes = {}, {}
    for kind, (schema_in, schema_out) in ROSTER.items():
        path = f"/api/v1/communities/<code>/roster/{kind}/<entry_id>"
        partial = _partial(schema_in)

        def patch(self, call, code, entry_id, kind=kind):
            return self.routing.update_roster_entry(kind, code, entry_id, call.body, call.scope)

        def delete(self, call, code, entry_id, kind=kind):
            return self.routing.remove_roster_entry(kind, code, entry_id, call.scope)

        patches[kind] = endpoint(
            Route(
                "PATCH",
                path,
                f"Change an entry of the {kind} roster",
                ADMINS,
                body=partial,
                response=schema_out,
                tags=ROUTING_TAGS,
            )
        )(patch)
        deletes[kind] = endpoint(
            Route(
                "DELETE",
                path,
                f"Remove an entry of the {kind} roster (members: deactivate)",
                ADMINS,
                response=rs.RemovedOut,
                tags=ROUTING_TAGS,
            )
        )(delete)
    return patches, deletes


def _action_handlers():
    handlers = {}
    for segment, (action, roles, schema, summary) in CASE_ACTIONS.items():

        def act(self, call, case_id, action=action):
            return self.routing.act(case_id, action, call.body, call.scope, call.idem)

        handlers[segment] = endpoint(
            Route(
                "POST",
                f"/api/v1/cases/<case_id>/{segment}",
                summary,
                roles,
                body=schema,
                response=rs.RoutingCaseOut,
                tags=ROUTING_TAGS,
                idempotent=True,
            )
        )(act)
    bureau = {}
    for segment, (action, schema, summary) in BUREAU_ACTIONS.items():

        def bureau_act(self, call, case_id, action=action):
            return self.routing.act(case_id, action, call.body, call.scope, call.idem)

        bureau[segment] = endpoint(
            Route(
                "POST",
                f"/api/v1/cases/<case_id>/bureau/{segment}",
                summary,
                ("bureau_handler",),
                body=schema,
                response=rs.RoutingCaseOut,
                tags=ROUTING_TAGS,
                idempotent=True,
            )
        )(bureau_act)
    return handlers, bureau


_ADD_ROSTER, _LIST_ROSTER = _roster_handlers()
_CASE_ACTIONS, _BUREAU_ACTIONS = _action_handlers()
_PATCH_ROSTER, _DELETE_ROSTER = _roster_entry_handlers()


class RoutingEndpoints:
    """Mixed into GatewayService; needs `self.routing` (an RpcProxy)."""

    @http("POST", "/api/v1/communities/<code>/roster/<any(members,units,advisers):kind>")
    def add_roster(self, request, code, kind):
        return _ADD_ROSTER[kind](self, request, code=code)

    @http("GET", "/api/v1/communities/<code>/roster/<any(members,units,advisers):kind>")
    def list_roster(self, request, code, kind):
        return _LIST_ROSTER[kind](self, request, code=code)

    @http("PATCH", "/api/v1/communities/<code>/roster/<any(members,units,advisers):kind>/<entry_id>")
    def patch_roster(self, request, code, kind, entry_id):
        return _PATCH_ROSTER[kind](self, request, code=code, entry_id=entry_id)

    @http("DELETE", "/api/v1/communities/<code>/roster/<any(members,units,advisers):kind>/<entry_id>")
    def delete_roster(self, request, code, kind, entry_id):
        return _DELETE_ROSTER[kind](self, request, code=code, entry_id=entry_id)

    @http("POST", "/api/v1/cases/<case_id>/<any(" + ",".join(f"'{a}'" for a in CASE_ACTIONS) + "):segment>")
    def case_action(self, request, case_id, segment):
        return _CASE_ACTIONS[segment](self, request, case_id=case_id)

    @http("POST", "/api/v1/cases/<case_id>/bureau/<any(accept,return,resolve):segment>")
    def bureau_action(self, request, case_id, segment):
        return _BUREAU_ACTIONS[segment](self, request, case_id=case_id)

    @http("GET", "/api/v1/cases/<case_id>/routing")
    @endpoint(
        Route(
            "GET",
            "/api/v1/cases/<case_id>/routing",
            "Routing's view: deadline, handler, allowed actions",
            ("grid_member", "community_admin", "district_admin", "unit_handler", "bureau_handler"),
            response=rs.RoutingCaseOut,
            tags=ROUTING_TAGS,
        )
    )
    def case_routing(self, call, case_id):
        return self.routing.get_case(case_id, call.scope)

    @http("PUT", "/api/v1/communities/<code>/routing-rules")
    @endpoint(
        Route(
            "PUT",
            "/api/v1/communities/<code>/routing-rules",
            "Replace the community's auto-routing rules",
            ADMINS,
            body=rs.RuleSet,
            response=rs.RuleOut,
            many=True,
            tags=ROUTING_TAGS,
        )
    )
    def set_rules(self, call, code):
        return self.routing.set_rules(code, call.body, call.scope)

    @http("PUT", "/api/v1/communities/<code>/limits")
    @endpoint(
        Route(
            "PUT",
            "/api/v1/communities/<code>/limits",
            "Set the community's time limits",
            ADMINS,
            body=rs.LimitsIn,
            response=rs.LimitsOut,
            tags=ROUTING_TAGS,
        )
    )
    def set_limits(self, call, code):
        return self.routing.set_limits(code, call.body, call.scope)

    @http("POST", "/api/v1/bureaus")
    @endpoint(
        Route(
            "POST",
            "/api/v1/bureaus",
            "Register a district bureau (webhook secret is returned once)",
            ("district_admin",),
            body=rs.BureauIn,
            response=rs.BureauOut,
            status=201,
            tags=ROUTING_TAGS,
            idempotent=True,
        )
    )
    def add_bureau(self, call):
        return self.routing.add_bureau(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/bureaus")
    @endpoint(
        Route(
            "GET",
            "/api/v1/bureaus",
            "List district bureaus",
            STAFF + ("bureau_handler",),
            response=rs.page_of(rs.BureauListed),
            tags=ROUTING_TAGS,
        )
    )
    def list_bureaus(self, call):
        return {"items": self.routing.list_bureaus(), "next_cursor": None}

    @http("GET", "/api/v1/bureaus/<code>/deliveries")
    @endpoint(
        Route(
            "GET",
            "/api/v1/bureaus/<code>/deliveries",
            "Webhook delivery attempts to a bureau",
            ("district_admin", "bureau_handler"),
            response=rs.page_of(rs.DeliveryOut),
            tags=ROUTING_TAGS,
        )
    )
    def deliveries(self, call, code):
        if call.principal.role == "bureau_handler" and call.principal.bureau != code:
            raise MinqingRoleError("a bureau sees only its own deliveries")
        return {"items": self.routing.deliveries(code, call.scope), "next_cursor": None}


class CalendarEndpoints:
    """The holiday calendar (docs/calendar.md): each year's State Council notice, loaded by the district."""

    @http("PUT", "/api/v1/calendar/<int:year>")
    @endpoint(
        Route(
            "PUT",
            "/api/v1/calendar/<int:year>",
            "Load the year's holiday schedule from the State Council's notice (replaces what was loaded)",
            ("district_admin",),
            body=rs.CalendarIn,
            response=rs.CalendarOut,
            tags=("calendar",),
        )
    )
    def put_calendar(self, call, year):
        return self.routing.put_calendar(year, call.body, call.scope)

    @http("GET", "/api/v1/calendar/<int:year>")
    @endpoint(
        Route(
            "GET",
            "/api/v1/calendar/<int:year>",
            "The year's days off and adjusted working days, and where they come from",
            STAFF + ("unit_handler", "bureau_handler"),
            response=rs.CalendarOut,
            tags=("calendar",),
        )
    )
    def get_calendar(self, call, year):
        return self.routing.get_calendar(year, call.scope)


MEETING_ROLES = ("grid_member", "community_admin", "district_admin", "unit_handler")


class MeetingEndpoints:
    """Joint meetings (联席会议) and claims; mixed into GatewayService."""

    @http("GET", "/api/v1/communities/<code>/hot-issues")
    @endpoint(
        Route(
            "GET",
            "/api/v1/communities/<code>/hot-issues",
            "Hot issues detected in the community",
            STAFF,
            response=rs.page_of(rs.HotIssueOut),
            tags=("meetings",),
        )
    )
    def hot_issues(self, call, code):
        return {"items": self.routing.hot_issues(code, call.scope), "next_cursor": None}

    @http("POST", "/api/v1/communities/<code>/meetings")
    @endpoint(
        Route(
            "POST",
            "/api/v1/communities/<code>/meetings",
            "Convene a joint meeting with an agenda",
            ADMINS,
            body=rs.MeetingIn,
            response=rs.MeetingOut,
            status=201,
            tags=("meetings",),
            idempotent=True,
        )
    )
    def convene_meeting(self, call, code):
        return self.routing.convene_meeting(code, call.body, call.scope, call.idem)

    @http("GET", "/api/v1/meetings/<meeting_id>")
    @endpoint(
        Route(
            "GET",
            "/api/v1/meetings/<meeting_id>",
            "A meeting with its agenda",
            MEETING_ROLES,
            response=rs.MeetingOut,
            tags=("meetings",),
        )
    )
    def get_meeting(self, call, meeting_id):
        return self.routing.get_meeting(meeting_id, call.scope)

    @http("POST", "/api/v1/agenda-items/<item_id>/claim")
    @endpoint(
        Route(
            "POST",
            "/api/v1/agenda-items/<item_id>/claim",
            "Resident units claim an item as a project",
            MEETING_ROLES,
            body=rs.ClaimIn,
            response=rs.ProjectOut,
            status=201,
            tags=("meetings",),
            idempotent=True,
        )
    )
    def claim_item(self, call, item_id):
        return self.routing.claim_item(item_id, call.body, call.scope, call.idem)

    @http("GET", "/api/v1/projects/<project_id>")
    @endpoint(
        Route(
            "GET",
            "/api/v1/projects/<project_id>",
            "A claimed project",
            MEETING_ROLES,
            response=rs.ProjectOut,
            tags=("meetings",),
        )
    )
    def get_project(self, call, project_id):
        return self.routing.get_project(project_id, call.scope)

    @http("POST", "/api/v1/projects/<project_id>/complete")
    @endpoint(
        Route(
            "POST",
            "/api/v1/projects/<project_id>/complete",
            "Complete a project; its open cases resolve",
            MEETING_ROLES,
            body=rs.CompleteIn,
            response=rs.ProjectOut,
            tags=("meetings",),
            idempotent=True,
        )
    )
    def complete_project(self, call, project_id):
        return self.routing.complete_project(project_id, call.body, call.scope, call.idem)

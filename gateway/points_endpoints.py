"""Gateway endpoints served by the points service: member files, the ledger, rules, activities, awards,
rewards and redemptions, rankings, annual files and the expiry policy."""

from __future__ import annotations

import base64

from werkzeug.wrappers import Response

from gateway.api import Route, endpoint
from gateway.web import http
from minqing.vocabulary import STAFF_ROLES
from services.points import schemas as ps

STAFF = STAFF_ROLES
ADMINS = ("community_admin", "district_admin")
# a party member may hold any login but a bureau's; what they may see of others the service decides
MEMBERS = ("resident", "grid_member", "community_admin", "unit_handler", "district_admin", "deputy")
TAGS = ("points",)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _write(method, path, summary, roles, body, response, status=200):
    return endpoint(
        Route(method, path, summary, roles, body=body, response=response, status=status, tags=TAGS, idempotent=True)
    )


def _read(path, summary, roles, query=None, response=None, many=False, media=()):
    return endpoint(
        Route("GET", path, summary, roles, query=query, response=response, many=many, media=media, tags=TAGS)
    )


ATTENDANCE = {  # path segment → (action, roles, summary)
    "signups": ("sign_up", MEMBERS, "Sign a member up (a member signs up themself)"),
    "cancellations": ("cancel", MEMBERS, "Cancel a sign-up before the start"),
    "check-ins": ("check_in", STAFF, "Check a member in (`at` for a paper sheet entered later)"),
    "check-outs": ("check_out", STAFF, "Check a member out: hours become an award"),
}
ENDINGS = {
    "close": "Close after the end: no-shows recorded, open check-ins checked out at the end",
    "cancel": "Cancel the activity before it starts",
}


def _activity_steps() -> dict:
    """One declared endpoint per step (each its own OpenAPI path), served by one werkzeug rule."""
    steps = {}
    for segment, (action, roles, summary) in ATTENDANCE.items():

        def attend(self, call, activity_id, action=action):
            return self.points.attend(activity_id, action, call.body, call.scope, call.idem)

        path = f"/api/v1/activities/<activity_id>/{segment}"
        steps[segment] = _write("POST", path, summary, roles, ps.AttendanceIn, ps.ActivityOut)(attend)
    for action, summary in ENDINGS.items():

        def end(self, call, activity_id, action=action):
            return self.points.end_activity(activity_id, action, call.scope, call.idem)

        path = f"/api/v1/activities/<activity_id>/{action}"
        steps[action] = _write("POST", path, summary, STAFF, ps.NoBody, ps.ActivityOut)(end)
    return steps


_ACTIVITY_STEPS = _activity_steps()


# the printable page is self-contained: its one inline stylesheet, no script, no request anywhere else
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class PointsEndpoints:
    """Mixed into GatewayService; needs `self.points` (an RpcProxy)."""

    # --- member files ----------------------------------------------------------------------------
    @http("POST", "/api/v1/members")
    @_write(
        "POST", "/api/v1/members", "Register a party member's file", MEMBERS, ps.PartyMemberIn, ps.PartyMemberOut, 201
    )
    def register_member(self, call):
        return self.points.register_member(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/members")
    @_read(
        "/api/v1/members",
        "Find members by specialty, branch, status or name",
        STAFF,
        ps.PartyMemberQuery,
        ps.page_of(ps.PartyMemberOut),
    )
    def search_members(self, call):
        return self.points.search_members(call.query, call.scope)

    @http("GET", "/api/v1/members/<member_id>")
    @_read("/api/v1/members/<member_id>", "A member's file", MEMBERS, response=ps.PartyMemberOut)
    def get_member(self, call, member_id):
        return self.points.get_member(member_id, call.scope)

    @http("PATCH", "/api/v1/members/<member_id>")
    @_write(
        "PATCH",
        "/api/v1/members/<member_id>",
        "Change a member's file",
        MEMBERS,
        ps.PartyMemberChange,
        ps.PartyMemberOut,
    )
    def update_member(self, call, member_id):
        return self.points.update_member(member_id, call.body, call.scope, call.idem)

    @http("GET", "/api/v1/members/<member_id>/points")
    @_read(
        "/api/v1/members/<member_id>/points",
        "Balance, points earned and the ledger's entries, newest first",
        MEMBERS,
        ps.EntryQuery,
        ps.PointsOut,
    )
    def member_points(self, call, member_id):
        return self.points.member_points(member_id, call.query, call.scope)

    @http("POST", "/api/v1/members/<member_id>/points/corrections")
    @_write(
        "POST",
        "/api/v1/members/<member_id>/points/corrections",
        "Correct the ledger: reverse an entry or adjust, with a reason",
        ADMINS,
        ps.CorrectionIn,
        ps.EntryOut,
        201,
    )
    def correct_points(self, call, member_id):
        return self.points.correct_points(member_id, call.body, call.scope, call.idem)

    @http("GET", "/api/v1/members/<member_id>/file")
    @_read(
        "/api/v1/members/<member_id>/file",
        "The member's annual file: format=json, html (to print) or xlsx",
        MEMBERS,
        ps.FileQuery,
        ps.AnnualFileOut,
        media=("text/html", XLSX),
    )
    def member_file(self, call, member_id):
        names = {c["code"]: c["name"] for c in self.intake.list_communities(call.scope)}
        found = self.points.member_file(member_id, call.query, call.scope, names)
        year, fmt = call.query["year"], call.query.get("format", "json")
        if fmt == "xlsx":
            return Response(
                base64.b64decode(found),
                content_type=XLSX,
                headers={"Content-Disposition": f"attachment; filename=member-{member_id}-{year}.xlsx"},
            )
        if fmt == "html":
            return Response(
                found, content_type="text/html; charset=utf-8", headers={"Content-Security-Policy": PAGE_CSP}
            )
        return found

    # --- rules -------------------------------------------------------------------------------------
    @http("GET", "/api/v1/point-rules")
    @_read(
        "/api/v1/point-rules",
        "A community's point rules (current versions)",
        MEMBERS,
        ps.CommunityQuery,
        ps.PointRuleOut,
        many=True,
    )
    def list_rules(self, call):
        return self.points.list_rules(call.query, call.scope)

    @http("POST", "/api/v1/point-rules")
    @_write("POST", "/api/v1/point-rules", "Add a point rule", ADMINS, ps.PointRuleIn, ps.PointRuleOut, 201)
    def create_rule(self, call):
        return self.points.create_rule(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/point-rules/<community>/<code>")
    @_read("/api/v1/point-rules/<community>/<code>", "A rule with every version", MEMBERS, response=ps.PointRuleOut)
    def get_rule(self, call, community, code):
        return self.points.get_rule(community, code, call.scope)

    @http("PATCH", "/api/v1/point-rules/<community>/<code>")
    @_write(
        "PATCH",
        "/api/v1/point-rules/<community>/<code>",
        "Change a rule: a new version; past awards keep theirs",
        ADMINS,
        ps.PointRuleChange,
        ps.PointRuleOut,
    )
    def change_rule(self, call, community, code):
        return self.points.change_rule(community, code, call.body, call.scope, call.idem)

    # --- activities ------------------------------------------------------------------------------
    @http("POST", "/api/v1/activities")
    @_write("POST", "/api/v1/activities", "Publish an activity", STAFF, ps.ActivityIn, ps.ActivityOut, 201)
    def publish_activity(self, call):
        return self.points.publish_activity(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/activities")
    @_read(
        "/api/v1/activities",
        "A community's activities, latest first",
        MEMBERS,
        ps.ActivityQuery,
        ps.page_of(ps.ActivityOut),
    )
    def list_activities(self, call):
        return self.points.list_activities(call.query, call.scope)

    @http("GET", "/api/v1/activities/<activity_id>")
    @_read("/api/v1/activities/<activity_id>", "An activity with its sign-ups", MEMBERS, response=ps.ActivityOut)
    def get_activity(self, call, activity_id):
        return self.points.get_activity(activity_id, call.scope)

    @http(
        "POST",
        '/api/v1/activities/<activity_id>/<any(signups,cancellations,"check-ins","check-outs",close,cancel):step>',
    )
    def activity_step(self, request, activity_id, step):
        return _ACTIVITY_STEPS[step](self, request, activity_id=activity_id)

    # --- awards ------------------------------------------------------------------------------------
    @http("GET", "/api/v1/awards")
    @_read("/api/v1/awards", "Awards (pending ones await approval)", MEMBERS, ps.AwardQuery, ps.page_of(ps.AwardOut))
    def list_awards(self, call):
        return self.points.list_awards(call.query, call.scope)

    @http("POST", "/api/v1/awards/<int:award_id>/decision")
    @_write(
        "POST",
        "/api/v1/awards/<int:award_id>/decision",
        "Approve or reject a pending award",
        STAFF,
        ps.DecisionIn,
        ps.AwardOut,
    )
    def decide_award(self, call, award_id):
        return self.points.decide_award(award_id, call.body, call.scope, call.idem)

    # --- rewards and redemptions -----------------------------------------------------------------
    @http("GET", "/api/v1/rewards")
    @_read("/api/v1/rewards", "The rewards catalogue", MEMBERS, ps.RewardQuery, ps.RewardOut, many=True)
    def list_rewards(self, call):
        return self.points.list_rewards(call.query, call.scope)

    @http("POST", "/api/v1/rewards")
    @_write("POST", "/api/v1/rewards", "Add a reward with price and stock", ADMINS, ps.RewardIn, ps.RewardOut, 201)
    def add_reward(self, call):
        return self.points.add_reward(call.body, call.scope, call.idem)

    @http("PATCH", "/api/v1/rewards/<reward_id>")
    @_write(
        "PATCH", "/api/v1/rewards/<reward_id>", "Reprice, restock or withdraw", ADMINS, ps.RewardChange, ps.RewardOut
    )
    def change_reward(self, call, reward_id):
        return self.points.change_reward(reward_id, call.body, call.scope, call.idem)

    @http("POST", "/api/v1/redemptions")
    @_write(
        "POST",
        "/api/v1/redemptions",
        "Redeem points for a reward (atomic; send an Idempotency-Key)",
        MEMBERS,
        ps.RedemptionIn,
        ps.RedemptionOut,
        201,
    )
    def redeem(self, call):
        return self.points.redeem(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/redemptions")
    @_read(
        "/api/v1/redemptions",
        "Redemptions, newest first",
        MEMBERS,
        ps.RedemptionQuery,
        ps.page_of(ps.RedemptionOut),
    )
    def list_redemptions(self, call):
        return self.points.list_redemptions(call.query, call.scope)

    @http("POST", "/api/v1/redemptions/<redemption_id>/cancel")
    @_write(
        "POST",
        "/api/v1/redemptions/<redemption_id>/cancel",
        "Cancel before pickup: points and stock come back",
        MEMBERS,
        ps.CancelIn,
        ps.RedemptionOut,
    )
    def cancel_redemption(self, call, redemption_id):
        return self.points.cancel_redemption(redemption_id, call.body, call.scope, call.idem)

    @http("POST", "/api/v1/redemptions/<redemption_id>/pickup")
    @_write(
        "POST",
        "/api/v1/redemptions/<redemption_id>/pickup",
        "Staff confirm the member picked the reward up",
        STAFF,
        ps.NoBody,
        ps.RedemptionOut,
    )
    def pick_up(self, call, redemption_id):
        return self.points.pick_up(redemption_id, call.scope, call.idem)

    # --- rankings and expiry ---------------------------------------------------------------------
    @http("GET", "/api/v1/rankings")
    @_read(
        "/api/v1/rankings",
        "Members ranked by points earned in a period (YYYY, YYYY-Qn, YYYY-MM), per community or branch",
        STAFF,
        ps.RankingQuery,
        ps.RankingOut,
    )
    def rankings(self, call):
        return self.points.rankings(call.query, call.scope)

    @http("GET", "/api/v1/point-expiry")
    @_read("/api/v1/point-expiry", "The community's expiry policy", MEMBERS, ps.CommunityQuery, ps.ExpiryOut)
    def get_expiry(self, call):
        return self.points.get_expiry(call.query, call.scope)

    @http("PUT", "/api/v1/point-expiry")
    @_write(
        "PUT",
        "/api/v1/point-expiry",
        "Set (years) or remove (null) the expiry policy",
        ADMINS,
        ps.ExpiryIn,
        ps.ExpiryOut,
    )
    def set_expiry(self, call):
        return self.points.set_expiry(call.body, call.scope, call.idem)

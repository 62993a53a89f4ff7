"""Gateway endpoints served by the feedback service: replies, ratings, polls and votes, the rates."""

from __future__ import annotations

import base64

from werkzeug.wrappers import Response

from gateway.api import Route, endpoint
from gateway.web import http
from minqing.errors import NotFound
from services.feedback import schemas as fs

STAFF = ("grid_member", "community_admin", "district_admin")
ANSWERERS = STAFF + ("unit_handler",)
TAGS = ("feedback",)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FeedbackEndpoints:
    """Mixed into GatewayService; needs `self.feedback` (an RpcProxy)."""

    @http("POST", "/api/v1/cases/<case_id>/replies")
    @endpoint(
        Route(
            "POST",
            "/api/v1/cases/<case_id>/replies",
            "Answer the resident (one of the six methods)",
            ANSWERERS,
            body=fs.ReplyIn,
            response=fs.ReplyOut,
            status=201,
            tags=TAGS,
            idempotent=True,
        )
    )
    def reply(self, call, case_id):
        return self.feedback.reply(case_id, call.body, call.scope, call.idem)

    @http("POST", "/api/v1/cases/<case_id>/rating")
    @endpoint(
        Route(
            "POST",
            "/api/v1/cases/<case_id>/rating",
            "The resident's verdict (staff: recorded from a hotline callback); dissatisfied reopens",
            ("resident",) + STAFF,
            body=fs.RatingIn,
            response=fs.RatingOut,
            status=201,
            tags=TAGS,
            idempotent=True,
        )
    )
    def rate(self, call, case_id):
        return self.feedback.rate(case_id, call.body, call.scope, call.idem)

    @http("GET", "/api/v1/cases/<case_id>/feedback")
    @endpoint(
        Route(
            "GET",
            "/api/v1/cases/<case_id>/feedback",
            "Replies and ratings of a case",
            ANSWERERS,
            response=fs.FeedbackOut,
            tags=TAGS,
        )
    )
    def case_feedback(self, call, case_id):
        return self.feedback.case_feedback(case_id, call.scope)

    @http("GET", "/api/v1/stats")
    @endpoint(
        Route(
            "GET",
            "/api/v1/stats",
            "Rates per community, grid, handler or channel and period",
            STAFF,
            query=fs.StatsQuery,
            response=fs.StatsOut,
            tags=TAGS,
        )
    )
    def stats(self, call):
        return self.feedback.stats(call.query, call.scope)

    @http("GET", "/api/v1/stats/report.xlsx")
    @endpoint(
        Route(
            "GET",
            "/api/v1/stats/report.xlsx",
            "A community's monthly report as an Excel workbook",
            STAFF,
            query=fs.ReportQuery,
            media=(XLSX,),
            tags=TAGS,
        )
    )
    def monthly_report(self, call):
        code, period = call.query["community"], call.query["period"]
        names = {c["code"]: c["name"] for c in self.intake.list_communities(call.scope)}
        if code not in names:
            raise NotFound(f"community {code!r} not found")
        workbook = base64.b64decode(self.feedback.monthly_report(code, names[code], period, call.scope))
        return Response(
            workbook,
            content_type=XLSX,
            headers={"Content-Disposition": f"attachment; filename=minqing-{code}-{period}.xlsx"},
        )

    @http("POST", "/api/v1/supervisions")
    @endpoint(
        Route(
            "POST",
            "/api/v1/supervisions",
            "Record supervision of a case, handler, grid or the community",
            STAFF + ("deputy",),
            body=fs.SupervisionIn,
            response=fs.SupervisionOut,
            status=201,
            tags=TAGS,
            idempotent=True,
        )
    )
    def record_supervision(self, call):
        return self.feedback.record_supervision(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/supervisions")
    @endpoint(
        Route(
            "GET",
            "/api/v1/supervisions",
            "Supervision records (open, overdue, by kind or target); a deputy sees the records they made",
            STAFF + ("deputy",),
            query=fs.SupervisionQuery,
            response=fs.page_of(fs.SupervisionOut),
            tags=TAGS,
        )
    )
    def list_supervisions(self, call):
        return self.feedback.list_supervisions(call.query, call.scope)

    @http("POST", "/api/v1/supervisions/<supervision_id>/close")
    @endpoint(
        Route(
            "POST",
            "/api/v1/supervisions/<supervision_id>/close",
            "Close a supervision record",
            STAFF,
            body=fs.CloseIn,
            response=fs.SupervisionOut,
            tags=TAGS,
            idempotent=True,
        )
    )
    def close_supervision(self, call, supervision_id):
        return self.feedback.close_supervision(supervision_id, call.body, call.scope, call.idem)

    @http("POST", "/api/v1/communities/<code>/visit-plans")
    @endpoint(
        Route(
            "POST",
            "/api/v1/communities/<code>/visit-plans",
            "Plan home visits to a grid's unvisited households",
            STAFF,
            body=fs.VisitPlanIn,
            response=fs.VisitPlanOut,
            status=201,
            tags=TAGS,
            idempotent=True,
        )
    )
    def plan_visits(self, call, code):
        return self.feedback.plan_visits(code, call.body, call.scope, call.idem)

    @http("POST", "/api/v1/visits")
    @endpoint(
        Route(
            "POST",
            "/api/v1/visits",
            "Record a visit (home, reception, return); a problem found becomes a case",
            STAFF,
            body=fs.VisitIn,
            response=fs.VisitOut,
            status=201,
            tags=TAGS,
            idempotent=True,
        )
    )
    def record_visit(self, call):
        return self.feedback.record_visit(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/visits")
    @endpoint(
        Route(
            "GET",
            "/api/v1/visits",
            "Visits of a community: planned, done, missed (a resident: their own household's, once linked)",
            STAFF + ("resident",),
            query=fs.VisitQuery,
            response=fs.page_of(fs.VisitOut),
            tags=TAGS,
        )
    )
    def list_visits(self, call):
        return self.feedback.list_visits(call.query, call.scope)

    @http("GET", "/api/v1/communities/<code>/visit-coverage")
    @endpoint(
        Route(
            "GET",
            "/api/v1/communities/<code>/visit-coverage",
            "Households visited / households, per grid",
            STAFF,
            response=fs.CoverageOut,
            tags=TAGS,
        )
    )
    def visit_coverage(self, call, code):
        return self.feedback.visit_coverage(code, call.scope)

    @http("POST", "/api/v1/polls")
    @endpoint(
        Route(
            "POST",
            "/api/v1/polls",
            "Open a poll of some buildings' households (one vote per household)",
            ("community_admin", "district_admin"),
            body=fs.PollIn,
            response=fs.PollOut,
            status=201,
            tags=TAGS,
            idempotent=True,
        )
    )
    def create_poll(self, call):
        return self.feedback.create_poll(call.body, call.scope, call.idem)

    @http("GET", "/api/v1/polls/<poll_id>")
    @endpoint(
        Route(
            "GET",
            "/api/v1/polls/<poll_id>",
            "A poll with its (provisional or final) result",
            STAFF,
            response=fs.PollOut,
            tags=TAGS,
        )
    )
    def get_poll(self, call, poll_id):
        return self.feedback.get_poll(poll_id, call.scope)

    @http("POST", "/api/v1/polls/<poll_id>/votes")
    @endpoint(
        Route(
            "POST",
            "/api/v1/polls/<poll_id>/votes",
            "Record a household's vote (a repeat replaces it; a resident votes for their linked household)",
            (*STAFF, "resident"),
            body=fs.VoteIn,
            response=fs.VoteOut,
            tags=TAGS,
            idempotent=True,
        )
    )
    def vote(self, call, poll_id):
        return self.feedback.vote(poll_id, call.body, call.scope, call.idem)

    @http("POST", "/api/v1/polls/<poll_id>/close")
    @endpoint(
        Route(
            "POST",
            "/api/v1/polls/<poll_id>/close",
            "Close a poll now and decide it",
            ("community_admin", "district_admin"),
            response=fs.PollOut,
            tags=TAGS,
        )
    )
    def close_poll(self, call, poll_id):
        return self.feedback.close_poll(poll_id, call.scope)

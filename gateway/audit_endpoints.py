"""The audit trail for district admins: every service's administrative changes and the gateway's reads of
unmasked personal data, merged newest first (minqing/audit.py), and exported as CSV or xlsx."""

from __future__ import annotations

import io
import json

from openpyxl import Workbook
from werkzeug.wrappers import Response

from gateway.api import Route, endpoint
from gateway.web import http
from minqing import audit, cells
from services.intake.schemas import page_of

TAGS = ("audit",)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# every service that keeps an audit table (each answers `audit_page`)
AUDITED = ("intake", "routing", "feedback", "points", "accounts")
EXPORT_LIMIT = 10_000  # rows in one file (within the request timeout); narrow `from`/`to` for more
COLUMNS = ("at", "service", "actor", "role", "action", "community", "target", "correlation_id", "detail")


class AuditEndpoints:
    """Mixed into GatewayService; needs an RpcProxy per service in AUDITED."""

    def _audit_page(self, query: dict, scope: dict) -> dict:
        calls = [getattr(self, name).audit_page.call_async(query, scope) for name in AUDITED]
        return audit.merge([c.result() for c in calls], int(query.get("limit") or 50))

    @http("GET", "/api/v1/audit")
    @endpoint(
        Route(
            "GET",
            "/api/v1/audit",
            "The audit trail: administrative changes and reads of unmasked personal data, newest first",
            ("district_admin",),
            query=audit.AuditQuery,
            response=page_of(audit.AuditEntryOut),
            tags=TAGS,
        )
    )
    def audit_trail(self, call):
        found = self._audit_page(call.query, call.scope)
        # the trail holds what was changed, personal data included: reading it is itself recorded
        if found["items"]:
            self._publish_read(call, "/api/v1/audit", "/api/v1/audit", [item["id"] for item in found["items"]])
        return found

    @http("GET", "/api/v1/audit/export")
    @endpoint(
        Route(
            "GET",
            "/api/v1/audit/export",
            "The audit trail as a file (format=csv or xlsx), every entry the filters select",
            ("district_admin",),
            query=audit.AuditExportQuery,
            media=("text/csv", XLSX),
            tags=TAGS,
        )
    )
    def audit_export(self, call):
        query = {k: v for k, v in call.query.items() if k not in ("format", "cursor")} | {"limit": "500"}
        rows: list[dict] = []
        while len(rows) < EXPORT_LIMIT:
            found = self._audit_page(query, call.scope)
            rows.extend(found["items"])
            if not found["next_cursor"]:
                break
            query["cursor"] = found["next_cursor"]
        rows = rows[:EXPORT_LIMIT]
        if rows:
            self._publish_read(call, "/api/v1/audit/export", "/api/v1/audit/export", [row["id"] for row in rows])
        table = [[_text(row[c]) for c in COLUMNS] for row in rows]
        if call.query.get("format") == "xlsx":
            book = Workbook()
            sheet = book.active
            sheet.title = "audit"
            cells.append(sheet, list(COLUMNS))
            for values in table:
                cells.append(sheet, values)
            out = io.BytesIO()
            book.save(out)
            body, content_type, name = out.getvalue(), XLSX, "minqing-audit.xlsx"
        else:
            body, content_type, name = (
                cells.csv_bytes(list(COLUMNS), table),
                "text/csv; charset=utf-8",
                "minqing-audit.csv",
            )
        return Response(
            body, content_type=content_type, headers={"Content-Disposition": f"attachment; filename={name}"}
        )


def _text(value) -> str:
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "" if value is None else str(value)

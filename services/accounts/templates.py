"""The messages residents receive, one Chinese template per event. The SMS providers hold their own copy of
each template (approved by the carrier); `params` are what fills it, `text` is what the log notifier writes."""

from __future__ import annotations

SIGN = "【民情】"

TEMPLATES: dict[str, str] = {
    "sign_in_code": "您的登录验证码为{code}，5分钟内有效。如非本人操作，请忽略本短信。",
    "case_registered": "您反映的问题已受理，编号{reference}。我们会尽快处理，请留意后续短信。",
    "case_assigned": "您反映的问题（编号{reference}）已交由{handler}办理。",
    "case_resolved": "您反映的问题（编号{reference}）已办结：{summary}",
    "reply_sent": "您反映的问题（编号{reference}）已答复，请对办理结果进行评价：{link}",
    "case_reopened": "您反映的问题（编号{reference}）已重新办理，我们会尽快给您答复。",
    "case_closed": "您反映的问题（编号{reference}）已办结归档，感谢您的参与。",
}
# the event behind each case message
EVENT_TEMPLATES = {
    "case.registered": "case_registered",
    "case.assigned": "case_assigned",
    "case.resolved": "case_resolved",
    "reply.sent": "reply_sent",
    "case.reopened": "case_reopened",
    "case.closed": "case_closed",
}
# a provider that numbers its template's variables ({1}, {2}: Tencent Cloud) gets them in this order
PARAM_ORDER = {
    "sign_in_code": ("code",),
    "case_registered": ("reference",),
    "case_assigned": ("reference", "handler"),
    "case_resolved": ("reference", "summary"),
    "reply_sent": ("reference", "link"),
    "case_reopened": ("reference",),
    "case_closed": ("reference",),
}
MAX_PARAM = 60  # a provider's variable is short; long summaries are cut


def render(template: str, params: dict) -> str:
    return SIGN + TEMPLATES[template].format(**params)


def short(value: str | None) -> str:
    value = (value or "").strip()
    return value if len(value) <= MAX_PARAM else value[: MAX_PARAM - 1] + "…"

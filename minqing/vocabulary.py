"""The method's fixed vocabularies (GLOSSARY.md), shared by every service and the gateway."""

from __future__ import annotations

from marshmallow import validate

# 6 intake channels (集中受理)
CHANNELS = ("online", "hotline", "mailbox", "deputies_studio", "home_visit", "forum")
CHANNEL_LABELS = {
    "online": "网络平台",
    "hotline": "服务热线",
    "mailbox": "民情信箱",
    "deputies_studio": "两代表一委员工作室",
    "home_visit": "上门走访",
    "forum": "座谈会",
}
# 5 handling types (分类办理)
HANDLING_TYPES = ("immediate", "supplement", "committed", "suggestion", "escalated")
# 6 feedback methods (跟踪反馈)
FEEDBACK_METHODS = ("in_person", "on_site", "online", "hotline_callback", "letter", "meeting")
# 5 kinds of supervision (接受监督)
SUPERVISION_KINDS = ("individual", "social", "media", "evaluation", "deputies")

# `deputy`: people's congress and party congress deputies and CPPCC members (两代表一委员), who follow cases
ROLES = ("resident", "grid_member", "community_admin", "unit_handler", "bureau_handler", "district_admin", "deputy")
STAFF_ROLES = ("grid_member", "community_admin", "district_admin")

CASE_STATUSES = (
    "registered",
    "classified",
    "assigned",
    "accepted",
    "in_progress",
    "awaiting_supplement",
    "escalated",
    "bureau_accepted",
    "returned",
    "resolved",
    "replied",
    "rated",
    "closed",
    "reopened",
    "merged",
    "withdrawn",
)
OPEN_STATUSES = tuple(
    s for s in CASE_STATUSES if s not in ("resolved", "replied", "rated", "closed", "merged", "withdrawn")
)


def one_of(choices: tuple[str, ...], allow_none: bool = False) -> validate.Validator:
    """OneOf whose message names the allowed values and what was sent (STYLE.md)."""
    inner = validate.OneOf(choices, error="must be one of {choices}; got {input!r}")
    if not allow_none:
        return inner

    def check(value):
        if value is not None:
            inner(value)

    return check

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
HANDLING_TYPE_LABELS = {
    "immediate": "即办件",
    "supplement": "补办件",
    "committed": "承诺件",
    "suggestion": "建议件",
    "escalated": "上报件",
}
# 6 feedback methods (跟踪反馈)
FEEDBACK_METHODS = ("in_person", "on_site", "online", "hotline_callback", "letter", "meeting")
FEEDBACK_METHOD_LABELS = {
    "in_person": "上门答复",
    "on_site": "现场咨询",
    "online": "网络平台",
    "hotline_callback": "热线回访",
    "letter": "书面函复",
    "meeting": "召集会议",
}
# 5 kinds of supervision (接受监督)
SUPERVISION_KINDS = ("individual", "social", "media", "evaluation", "deputies")
SUPERVISION_KIND_LABELS = {
    "individual": "个体监督",
    "social": "社会监督",
    "media": "舆论监督",
    "evaluation": "评议监督",
    "deputies": "代表监督",
}

# `deputy`: people's congress and party congress deputies and CPPCC members (两代表一委员), who follow cases
ROLES = ("resident", "grid_member", "community_admin", "unit_handler", "bureau_handler", "district_admin", "deputy")
STAFF_ROLES = ("grid_member", "community_admin", "district_admin")
ROLE_LABELS = {
    "resident": "居民",
    "grid_member": "网格员",
    "community_admin": "社区工作人员",
    "unit_handler": "驻区单位",
    "bureau_handler": "区直部门",
    "district_admin": "区级管理员",
    "deputy": "代表委员",
}

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
CASE_STATUS_LABELS = {
    "registered": "已登记",
    "classified": "已分类",
    "assigned": "已派单",
    "accepted": "已接单",
    "in_progress": "办理中",
    "awaiting_supplement": "待补充材料",
    "escalated": "已上报",
    "bureau_accepted": "部门已签收",
    "returned": "已退回",
    "resolved": "已办结",
    "replied": "已答复",
    "rated": "已评价",
    "closed": "已关闭",
    "reopened": "重新办理",
    "merged": "已合并",
    "withdrawn": "已撤回",
}
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


# party-member points (services/points): the codes its API answers with, for the console's labels
MEMBER_STATUSES = ("serving", "retired")
MEMBER_STATUS_LABELS = {"serving": "在职党员", "retired": "退休党员"}
ENTRY_KINDS = ("award", "redemption", "refund", "correction", "expiry")
ENTRY_KIND_LABELS = {
    "award": "积分奖励",
    "redemption": "兑换扣减",
    "refund": "兑换退回",
    "correction": "更正",
    "expiry": "过期清零",
}
AWARD_STATUSES = ("pending", "awarded", "capped", "rejected", "reversed")
AWARD_STATUS_LABELS = {
    "pending": "待审核",
    "awarded": "已入账",
    "capped": "已达上限",
    "rejected": "已驳回",
    "reversed": "已冲正",
}
REDEMPTION_STATUSES = ("reserved", "picked_up", "cancelled")
REDEMPTION_STATUS_LABELS = {"reserved": "待领取", "picked_up": "已领取", "cancelled": "已取消"}

# supervision records (services/feedback): who supervised and what they looked at
SUPERVISOR_TYPES = ("deputy", "resident", "media", "panel", "staff")
SUPERVISOR_TYPE_LABELS = {
    "deputy": "代表委员",
    "resident": "居民",
    "media": "媒体",
    "panel": "评议团",
    "staff": "工作人员",
}
SUPERVISION_TARGETS = ("case", "handler", "grid", "community")
SUPERVISION_TARGET_LABELS = {"case": "诉求", "handler": "承办人", "grid": "网格", "community": "社区"}

# joint meetings (services/routing): a hot issue goes on an agenda, a unit claims it as a project
HOT_ISSUE_STATUSES = ("open", "on_agenda", "claimed", "done")
HOT_ISSUE_STATUS_LABELS = {"open": "待上会", "on_agenda": "已上会", "claimed": "已认领", "done": "已办结"}
AGENDA_STATUSES = ("open", "claimed")
AGENDA_STATUS_LABELS = {"open": "待认领", "claimed": "已认领"}
PROJECT_STATUSES = ("active", "completed")
PROJECT_STATUS_LABELS = {"active": "推进中", "completed": "已完成"}

# visits (services/feedback, 民情走访)
VISIT_KINDS = ("home", "reception", "return")
VISIT_KIND_LABELS = {"home": "入户走访", "reception": "接待来访", "return": "回访"}
VISIT_STATUSES = ("planned", "done", "missed")
VISIT_STATUS_LABELS = {"planned": "计划走访", "done": "已走访", "missed": "未遇"}

# polls (services/feedback, 议事表决): one vote per household
POLL_OPTIONS = ("yes", "no", "abstain")
POLL_OPTION_LABELS = {"yes": "同意", "no": "反对", "abstain": "弃权"}
POLL_STATUSES = ("open", "closed")
POLL_STATUS_LABELS = {"open": "表决中", "closed": "已结束"}
POLL_BASES = ("votes_cast", "eligible")
POLL_BASIS_LABELS = {"votes_cast": "按参与投票户数", "eligible": "按全部应投户数"}

# the holiday calendar (services/routing, docs/calendar.md)
CALENDAR_DAY_KINDS = ("holiday", "workday")
CALENDAR_DAY_KIND_LABELS = {"holiday": "放假", "workday": "调休上班"}
CALENDAR_SOURCES = ("official", "library", "statutory")
CALENDAR_SOURCE_LABELS = {"official": "国务院通知", "library": "节假日库推算", "statutory": "仅法定节日"}

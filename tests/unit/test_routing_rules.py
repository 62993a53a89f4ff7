"""Routing's pure parts: the workflow state machine (services.routing.machine), auto-routing rules
(services.routing.rules) and what is public to other bureaus (services.routing.public). No broker, no DB."""

from types import SimpleNamespace

import pytest

from minqing.errors import Conflict
from minqing.vocabulary import CASE_STATUSES
from services.routing import machine, public, rules
from services.routing.machine import STEPS, allowed_from, check, check_version

# --- the state machine -------------------------------------------------------------------------------

ENTRY = ("registered", "classified", "returned", "reopened")
WORKING = ("assigned", "accepted", "in_progress")

# the workflow as documented: action → (sources, target, event). Actions added later are checked generically.
CORE = {
    "classify": (ENTRY, "classified", "case.classified"),
    "assign": (("classified", "assigned", "returned", "reopened"), "assigned", "case.assigned"),
    "return": (WORKING, "returned", "case.returned"),
    "accept": (("assigned",), "accepted", "case.accepted"),
    "start": (("assigned", "accepted"), "in_progress", "case.started"),
    "request_supplement": (WORKING, "awaiting_supplement", "case.supplement_requested"),
    "supplement_received": (("awaiting_supplement",), "in_progress", "case.supplement_received"),
    "resolve": (WORKING, "resolved", "case.resolved"),
    "escalate": (ENTRY + ("escalated",) + WORKING, "escalated", "case.escalated"),  # from escalated: a redirect
    "bureau_accept": (("escalated",), "bureau_accepted", "case.bureau_accepted"),
    "bureau_return": (("escalated", "bureau_accepted"), "returned", "case.bureau_returned"),
    "bureau_resolve": (("escalated", "bureau_accepted"), "resolved", "case.resolved"),
    "reopen": (("resolved", "replied", "rated", "reopened"), "reopened", "case.reopened"),
}
FINISHED = ("closed", "merged", "withdrawn")


@pytest.mark.parametrize("action", sorted(CORE))
def test_every_core_action_has_its_documented_sources_target_and_event(action):
    sources, target, event = CORE[action]
    step = STEPS[action]
    assert set(step.sources) == set(sources)
    assert (step.target, step.event) == (target, event)


@pytest.mark.parametrize("action", sorted(STEPS))
@pytest.mark.parametrize("status", CASE_STATUSES)
def test_check_allows_exactly_the_sources_and_a_refusal_names_what_is_allowed(action, status):
    step = STEPS[action]
    if status in step.sources:
        assert check(action, status) is step
        assert action in allowed_from(status)
        return
    with pytest.raises(Conflict) as refused:
        check(action, status)
    detail = refused.value.detail
    assert refused.value.status == 409
    assert detail.startswith(f"cannot {action.replace('_', ' ')} a case that is {status}; allowed from {status}: ")
    named = detail.split(f"allowed from {status}: ", 1)[1]
    allowed = allowed_from(status)
    assert named == (", ".join(allowed) if allowed else "nothing (the case is finished)")
    assert action not in allowed


def test_refusal_from_registered_names_classify_and_escalate():
    with pytest.raises(Conflict) as refused:
        check("resolve", "registered")
    assert "cannot resolve a case that is registered; allowed from registered: classify, escalate" in str(refused.value)
    assert refused.value.detail == str(refused.value)


def test_refusal_names_bureau_actions_with_spaces_and_lists_them_sorted():
    with pytest.raises(Conflict, match="cannot bureau accept a case that is bureau_accepted") as refused:
        check("bureau_accept", "bureau_accepted")
    assert refused.value.detail.endswith("allowed from bureau_accepted: bureau_resolve, bureau_return")


def test_allowed_from_is_sorted_and_matches_steps():
    for status in CASE_STATUSES:
        allowed = allowed_from(status)
        assert allowed == sorted(allowed)
        assert allowed == sorted(a for a, s in STEPS.items() if status in s.sources)


@pytest.mark.parametrize("status", FINISHED)
def test_finished_states_allow_nothing(status):
    assert allowed_from(status) == []
    with pytest.raises(Conflict, match=rf"allowed from {status}: nothing \(the case is finished\)$"):
        check("reopen", status)


@pytest.mark.parametrize("status", ("resolved", "replied", "rated"))
def test_answered_states_allow_only_what_steps_says(status):
    assert allowed_from(status) == sorted(a for a, s in STEPS.items() if status in s.sources)
    assert "reopen" in allowed_from(status)
    for action in ("resolve", "bureau_resolve", "assign", "escalate", "classify"):
        with pytest.raises(Conflict, match=f"allowed from {status}: "):
            check(action, status)


def test_every_state_the_machine_names_is_a_known_case_status():
    named = {s for step in STEPS.values() for s in (*step.sources, step.target)}
    assert named <= set(CASE_STATUSES)


def test_escalated_case_is_the_bureaus_but_staff_may_redirect_it_until_accepted():
    assert allowed_from("escalated") == ["bureau_accept", "bureau_resolve", "bureau_return", "escalate"]
    assert allowed_from("bureau_accepted") == ["bureau_resolve", "bureau_return"]


def test_every_endpoint_the_gateway_serves_is_named_by_the_machine_and_nothing_else():
    """allowed_actions names endpoints (path segments after /api/v1/cases/{id}/): the one mapping is
    machine.ENDPOINTS, and it matches the gateway's routes exactly."""
    from gateway.routing_endpoints import BUREAU_ACTIONS, CASE_ACTIONS, HANDLERS, STAFF

    served = {action: segment for segment, (action, *_) in CASE_ACTIONS.items()}
    served |= {action: f"bureau/{segment}" for segment, (action, *_) in BUREAU_ACTIONS.items()}
    assert {action: segment for action, (segment, _) in machine.ENDPOINTS.items()} == served
    assert set(machine.ENDPOINTS) == set(STEPS) - {"reopen", "resolve_by_project"}
    for segment, (action, roles, *_) in CASE_ACTIONS.items():
        assert roles == {"staff": STAFF, "handler": HANDLERS}[machine.ENDPOINTS[action][1]], segment


@pytest.mark.parametrize(
    ("status", "parties", "callable_"),
    (
        ("registered", {"staff", "handler"}, ["classify", "escalate"]),
        ("assigned", {"handler"}, ["accept", "request-supplement", "resolve", "start"]),
        (
            "assigned",
            {"staff", "handler"},
            ["accept", "assign", "escalate", "request-supplement", "resolve", "return", "start"],
        ),
        ("awaiting_supplement", {"handler"}, ["supplement-received"]),
        ("escalated", {"bureau"}, ["bureau/accept", "bureau/resolve", "bureau/return"]),
        ("escalated", {"staff", "handler"}, ["escalate"]),
        ("resolved", {"staff", "handler"}, []),  # reopening is the resident's, through feedback
        ("replied", {"staff", "handler", "bureau"}, []),
        ("assigned", set(), []),
    ),
)
def test_callable_from_names_what_a_party_can_call_as_its_endpoint(status, parties, callable_):
    assert machine.callable_from(status, parties) == callable_


def test_unknown_action_is_a_programming_error_not_a_conflict():
    with pytest.raises(KeyError):
        check("teleport", "registered")


def test_check_version_accepts_same_or_absent_version():
    check_version(3, 3)
    check_version(3, None)


@pytest.mark.parametrize("expected", (1, 2, 4, 99))
def test_check_version_refuses_a_stale_or_future_version(expected):
    with pytest.raises(Conflict) as refused:
        check_version(3, expected)
    assert refused.value.status == 409
    assert f"version {expected}, now 3" in refused.value.detail and "reload and retry" in refused.value.detail


def test_machine_exports_are_the_ones_the_service_uses():
    assert machine.WORKING == WORKING
    assert set(machine.REOPENABLE) == {"resolved", "replied", "rated", "reopened"}


# --- auto-routing rules ------------------------------------------------------------------------------


def rule(id_, priority=100, category=None, keywords=(), handling_type="immediate", handler_ref=None):
    return rules.RuleView(
        id=id_,
        priority=priority,
        category=category,
        keywords=tuple(keywords),
        handling_type=handling_type,
        handler_kind="grid_leader",
        handler_ref=handler_ref,
        committed_days=None,
    )


def test_category_rule_matches_its_category_only():
    elevator = rule(1, category="elevator")
    assert rules.matches(elevator, "elevator", "电梯困人")
    assert rules.matches(elevator, "elevator", "")
    assert not rules.matches(elevator, "sanitation", "电梯困人")
    assert not rules.matches(elevator, None, "电梯困人")


def test_keyword_rule_matches_any_of_its_words_in_the_text():
    water = rule(2, keywords=("积水", "漏水"))
    assert rules.matches(water, None, "楼道积水严重")
    assert rules.matches(water, "elevator", "楼上漏水到电梯井")  # no category on the rule: any category
    assert not rules.matches(water, None, "路灯不亮")
    assert not rules.matches(water, None, "")


def test_category_and_keywords_must_both_match():
    both = rule(3, category="property_management", keywords=("物业",))
    assert rules.matches(both, "property_management", "小区无物业管理")
    assert not rules.matches(both, "property_management", "小区绿化带杂草丛生")


def test_category_mismatch_beats_a_keyword_match():
    both = rule(4, category="property_management", keywords=("积水",))
    assert not rules.matches(both, "sanitation", "地下车库积水")
    assert rules.choose([both], "sanitation", "地下车库积水") is None


def test_a_rule_with_neither_category_nor_keywords_never_matches():
    blank = rule(5)
    assert not rules.matches(blank, None, "任何内容")
    assert not rules.matches(blank, "elevator", "电梯")
    assert rules.choose([blank], "elevator", "电梯") is None


def test_choose_takes_the_lowest_priority_number_first():
    low, high = rule(10, priority=30, keywords=("积水",)), rule(11, priority=10, keywords=("积水",))
    assert rules.choose([low, high], None, "积水") is high
    assert rules.choose([high, low], None, "积水") is high


def test_choose_breaks_priority_ties_by_rule_id():
    later, earlier = rule(21, priority=10, category="elevator"), rule(7, priority=10, keywords=("电梯",))
    assert rules.choose([later, earlier], "elevator", "电梯困人") is earlier
    assert rules.choose([earlier, later], "elevator", "电梯困人") is earlier


def test_choose_skips_non_matching_rules_and_returns_none_when_nothing_matches():
    ruleset = [
        rule(1, priority=10, category="elevator", handling_type="committed"),
        rule(2, priority=20, keywords=("积水", "漏水")),
        rule(3, priority=30, category="property_management", handling_type="escalated", handler_ref="housing"),
    ]
    assert rules.choose(ruleset, "elevator", "电梯停运").id == 1
    assert rules.choose(ruleset, "elevator", "电梯井漏水").id == 1  # priority 10 wins over the keyword rule
    assert rules.choose(ruleset, None, "楼道积水").id == 2
    assert rules.choose(ruleset, "property_management", "小区无物业管理").id == 3
    assert rules.choose(ruleset, "greening", "绿化带杂草丛生") is None
    assert rules.choose([], "elevator", "电梯") is None


# --- what other bureaus see ---------------------------------------------------------------------------


def stand_in_case(bureau=None):
    return SimpleNamespace(id="5f0c2a9e7b1d4c3e8a6f90b1c2d3e4f5", community="maxian", bureau=bureau)


def envelope(type_, **data):
    return {"type": type_, "data": data}


def test_routing_key_for_a_transfer_carries_the_bureau():
    assert public.routing_key("case.escalated", "maxian", "education") == "case.escalated.maxian.education"


def test_routing_key_for_answers_is_type_and_community():
    assert public.routing_key("case.bureau_accepted", "maxian", "education") == "case.bureau_accepted.maxian"
    assert public.routing_key("case.bureau_returned", "maxian", "education") == "case.bureau_returned.maxian"
    assert public.routing_key("case.resolved", "maxian", "education") == "case.resolved.maxian"
    assert public.routing_key("case.escalated", "maxian", None) == "case.escalated.maxian"


def test_public_types_are_the_transfer_and_the_bureaus_answers():
    assert set(public.PUBLIC_TYPES) == {
        "case.escalated",
        "case.bureau_accepted",
        "case.bureau_returned",
        "case.resolved",
    }
    assert public.PUBLIC_EXCHANGE.name == "minqing.public"
    assert public.PUBLIC_EXCHANGE.type == "topic" and public.PUBLIC_EXCHANGE.durable


@pytest.mark.parametrize("type_", ("case.escalated", "case.bureau_accepted", "case.bureau_returned", "case.resolved"))
def test_public_types_are_public_when_a_bureau_is_involved(type_):
    assert public.is_public(envelope(type_, bureau="education"), stand_in_case())
    assert public.is_public(envelope(type_), stand_in_case(bureau="education"))


def test_a_case_no_bureau_ever_saw_stays_private():
    assert not public.is_public(envelope("case.resolved", summary="已修复"), stand_in_case())
    assert not public.is_public(envelope("case.resolved", bureau=None), stand_in_case(bureau=None))


@pytest.mark.parametrize(
    "type_", ("case.registered", "case.classified", "case.assigned", "case.overdue", "case.returned", "case.reopened")
)
def test_internal_event_types_are_never_public(type_):
    assert not public.is_public(envelope(type_, bureau="education"), stand_in_case(bureau="education"))


def test_webhook_secret_is_standard_webhooks_shaped():
    secret = public.new_webhook_secret()
    assert secret.startswith("whsec_") and len(secret) > len("whsec_") + 24
    assert public.new_webhook_secret() != secret


def test_backoff_grows_and_ends():
    assert list(public.BACKOFF_SECONDS) == sorted(public.BACKOFF_SECONDS)
    assert public.BACKOFF_SECONDS[0] > 0

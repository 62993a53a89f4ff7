"""Auto-routing by a community's rules: the first rule (by priority) whose category and keywords match."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleView:
    id: int
    priority: int
    category: str | None
    keywords: tuple[str, ...]
    handling_type: str
    handler_kind: str  # grid_leader, member, unit, bureau
    handler_ref: str | None
    committed_days: int | None


def matches(rule: RuleView, category: str | None, text: str) -> bool:
    if rule.category and rule.category != category:
        return False
    if rule.keywords and not any(word in text for word in rule.keywords):
        return False
    return bool(rule.category or rule.keywords)  # a rule with neither would swallow every case


def choose(rules: list[RuleView], category: str | None, text: str) -> RuleView | None:
    for rule in sorted(rules, key=lambda r: (r.priority, r.id)):
        if matches(rule, category, text):
            return rule
    return None

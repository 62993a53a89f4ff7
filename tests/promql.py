"""What deploy/'s alert rules and dashboards query, and what a process's /metrics exposes: series and labels.

Shared by tests/unit/test_deploy.py (against an exposition built the way every process builds it) and
tests/integration/test_metrics.py (against the running processes' /metrics).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
# a family with no sample yet (a labelled metric nobody has touched) still names its series by its type
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}
TARGET_LABELS = {"job", "instance"}  # added by Prometheus at scrape time


def deploy_queries() -> list[tuple[str, str]]:
    """(where, PromQL expression) for every alert rule and every dashboard panel target in deploy/."""
    out = []
    for group in yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))["groups"]:
        out += [(rule["alert"], rule["expr"]) for rule in group["rules"]]
    for path in sorted((DEPLOY / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            out += [(f"{path.name}: {panel['title']}", t["expr"]) for t in panel.get("targets", [])]
    return out


def _strip(expr: str) -> str:
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return re.sub(r"\[[^\]]*\]", "", expr)


def promql_metric_names(expr: str) -> set[str]:
    """The series names a PromQL expression selects (not functions, keywords, labels, strings or ranges)."""
    expr = re.sub(r"\{[^}]*\}", "", _strip(expr))
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word, before = match.group(), expr[: match.start()]
        if expr[match.end() :].lstrip().startswith("(") or word in PROMQL_KEYWORDS:
            continue  # a function or an operator
        if before and (before[-1].isdigit() or before[-1] == "."):
            continue  # the exponent of a number such as 1e3
        names.add(word)
    return names


def promql_label_names(expr: str) -> set[str]:
    """The label names an expression matches on or groups by."""
    expr = _strip(expr)
    labels = set()
    for selector in re.findall(r"\{([^}]*)\}", expr):
        labels |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", selector))
    for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
        labels |= {word.strip() for word in group.split(",") if word.strip()}
    return labels


def series_names(family) -> set[str]:
    """The series names a parsed metric family stands for: its samples', or by its type if it has none yet."""
    names = {sample.name for sample in family.samples}
    return names | {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}


def exposed(text: str) -> dict[str, set[str]]:
    """Series name → the label names it is exposed with, parsed from Prometheus text.

    A labelled metric nobody has touched yet has no sample, so its label names cannot be seen: it maps to
    None, and only its name is checked."""
    out: dict[str, set[str] | None] = {}
    for family in text_string_to_metric_families(text):
        labels = set().union(*(set(s.labels) for s in family.samples)) if family.samples else None
        for name in series_names(family):
            out[name] = labels if out.get(name) is None else out[name] | (labels or set())
    return out


def mismatches(expr: str, where: str, series: dict[str, set[str] | None]) -> list[str]:
    """What `expr` queries that `series` (from :func:`exposed`) does not have; rabbitmq_* and up are not ours."""
    problems, labels = [], set(TARGET_LABELS)
    names = promql_metric_names(expr)
    if not names:
        problems.append(f"{where}: no metric in {expr!r}")
    for name in names:
        if name.startswith("rabbitmq_") or name == "up":
            return problems  # the broker's and Prometheus' own series: not checked here
        if name not in series:
            problems.append(f"{where}: {name!r} is not exposed ({expr!r})")
        elif series[name] is not None:
            labels |= series[name]
        else:
            return problems  # not touched yet: its labels are checked where it has samples
    for label in promql_label_names(expr) - labels:
        problems.append(f"{where}: label {label!r} is on none of {sorted(names)} ({expr!r})")
    return problems

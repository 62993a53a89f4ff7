"""A community's point rules (积分项目与评分标准): seeded with the method's examples, edited by community
admins; every change is a new version and the old ones stay, so an award names the terms it was earned under."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from minqing.errors import Conflict, NotFound
from services.points.models import PointRule, PointRuleVersion
from services.points.rules import DEFAULT_RULES, Standard

STANDARD_FIELDS = ("name", "points", "unit", "cap_day", "cap_month", "cap_year", "needs_approval", "active", "note")


def standard(version: PointRuleVersion) -> Standard:
    return Standard(
        version.points, version.unit, version.cap_day, version.cap_month, version.cap_year, version.needs_approval
    )


def ensure_defaults(session: Session, community: str, now: datetime) -> None:
    """Give a community the default rules the first time it needs any; a no-op afterwards."""
    have = set(session.scalars(select(PointRule.code).where(PointRule.community == community)))
    for code, (name, std) in DEFAULT_RULES.items():
        if code in have:
            continue
        try:
            with session.begin_nested():
                rule = PointRule(community=community, code=code, current_version=1)
                session.add(rule)
                session.flush()
                session.add(_version(rule, 1, {"name": name, **std.__dict__}, "system", now))
                session.flush()
        except IntegrityError:
            pass  # another worker seeded it first


def _version(rule: PointRule, number: int, values: dict, actor: str, now: datetime) -> PointRuleVersion:
    fields = {k: values.get(k) for k in STANDARD_FIELDS}
    fields["active"] = values.get("active", True)
    fields["needs_approval"] = bool(values.get("needs_approval", False))
    return PointRuleVersion(rule_id=rule.id, version=number, changed_by=actor, valid_from=now, **fields)


def create(session: Session, community: str, data: dict, actor: str, now: datetime) -> PointRule:
    ensure_defaults(session, community, now)
    rule = PointRule(community=community, code=data["code"], current_version=1)
    try:
        with session.begin_nested():
            session.add(rule)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"rule {data['code']!r} already exists in {community!r}; change it instead") from exc
    session.add(_version(rule, 1, data, actor, now))
    session.flush()
    return rule


def get(session: Session, community: str, code: str, lock: bool = False) -> PointRule:
    query = select(PointRule).where(PointRule.community == community, PointRule.code == code)
    rule = session.scalars(query.with_for_update() if lock else query).first()
    if rule is None:
        raise NotFound(f"rule {code!r} not found in {community!r}")
    return rule


def version(session: Session, rule: PointRule, number: int | None = None) -> PointRuleVersion:
    found = session.scalars(
        select(PointRuleVersion).where(
            PointRuleVersion.rule_id == rule.id, PointRuleVersion.version == (number or rule.current_version)
        )
    ).first()
    if found is None:
        raise NotFound(f"rule {rule.code!r} has no version {number}")
    return found


def current(session: Session, community: str, code: str, now: datetime) -> tuple[PointRule, PointRuleVersion]:
    ensure_defaults(session, community, now)
    rule = get(session, community, code)
    return rule, version(session, rule)


def change(session: Session, rule: PointRule, changes: dict, actor: str, now: datetime) -> PointRuleVersion:
    """A new version with `changes` over the current one; expects `rule` locked."""
    if changes.get("expected_version") not in (None, rule.current_version):
        raise Conflict(f"rule {rule.code!r} is at version {rule.current_version}, not {changes['expected_version']}")
    before = version(session, rule)
    values = {k: getattr(before, k) for k in STANDARD_FIELDS} | {
        k: v for k, v in changes.items() if k in STANDARD_FIELDS
    }
    if values == {k: getattr(before, k) for k in STANDARD_FIELDS}:
        return before  # nothing changed: no new version
    rule.current_version += 1
    new = _version(rule, rule.current_version, values, actor, now)
    session.add(new)
    session.flush()
    return new


def view(session: Session, rule: PointRule, with_history: bool = False) -> dict:
    versions = list(
        session.scalars(
            select(PointRuleVersion).where(PointRuleVersion.rule_id == rule.id).order_by(PointRuleVersion.version)
        )
    )
    now_ = versions[-1]
    out = {"code": rule.code, "community": rule.community, "version": rule.current_version}
    out |= {k: getattr(now_, k) for k in STANDARD_FIELDS} | {
        "changed_by": now_.changed_by,
        "valid_from": now_.valid_from,
    }
    if with_history:
        out["history"] = [
            {"version": v.version, "changed_by": v.changed_by, "valid_from": v.valid_from}
            | {k: getattr(v, k) for k in STANDARD_FIELDS}
            for v in versions
        ]
    return out


def listing(session: Session, community: str) -> list[dict]:
    """Every rule of the community; the defaults it has not used (nor changed) yet are shown as they would be
    seeded, without writing them: a read changes nothing."""
    stored = {
        rule.code: view(session, rule)
        for rule in session.scalars(select(PointRule).where(PointRule.community == community))
    }
    unused = {code: default_view(community, code) for code in DEFAULT_RULES if code not in stored}
    return [rule for _, rule in sorted((stored | unused).items())]


def lookup(session: Session, community: str, code: str) -> dict:
    """One rule with its history; a default not yet seeded as it would be (see `listing`)."""
    rule = session.scalars(select(PointRule).where(PointRule.community == community, PointRule.code == code)).first()
    if rule is not None:
        return view(session, rule, with_history=True)
    if code not in DEFAULT_RULES:
        raise NotFound(f"rule {code!r} not found in {community!r}")
    current = default_view(community, code)
    return current | {"history": [{k: v for k, v in current.items() if k not in ("code", "community")}]}


def default_view(community: str, code: str) -> dict:
    """A default rule not yet stored: version 1 by `system`, valid from whenever it is first used."""
    name, std = DEFAULT_RULES[code]
    values = {k: None for k in STANDARD_FIELDS} | {"name": name, "active": True, **std.__dict__}
    return {"code": code, "community": community, "version": 1, **values, "changed_by": "system", "valid_from": None}

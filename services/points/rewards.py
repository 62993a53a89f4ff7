"""Rewards and redemption: a catalogue with points prices and stock. A redemption takes the points and
the stock in one transaction, each with a guarded UPDATE (`balance >= price`, `stock >= quantity`), so
concurrent requests can neither spend the same points twice nor take stock below zero. Cancelling refunds
both; staff confirm the pickup."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from minqing import paging
from minqing.errors import Conflict, InvalidInput, NotFound
from services.intake.directory import can_see
from services.points import ledger, members
from services.points.models import Member, Redemption, Reward


def add(session: Session, data: dict, now: datetime) -> Reward:
    reward = Reward(
        id=uuid.uuid4().hex,
        community=data["community"],
        name=data["name"],
        description=data.get("description"),
        price=data["price"],
        stock=data["stock"],
        active=True,
        created_at=now,
        updated_at=now,
    )
    session.add(reward)
    session.flush()
    return reward


def get(session: Session, reward_id: str, scope: dict) -> Reward:
    reward = session.get(Reward, reward_id)
    if reward is None or not can_see(scope, reward.community):
        raise NotFound(f"reward {reward_id!r} not found")
    return reward


def change(session: Session, reward: Reward, data: dict, now: datetime) -> Reward:
    """Rename, reprice, switch off, or restock by `stock_delta` (relative, so two restocks both count)."""
    for key in ("name", "description", "price", "active"):
        if key in data:
            setattr(reward, key, data[key])
    delta = data.get("stock_delta")
    if delta:
        row = session.execute(
            update(Reward)
            .where(Reward.id == reward.id, Reward.stock + delta >= 0)
            .values(stock=Reward.stock + delta, updated_at=now)
            .returning(Reward.stock),
            execution_options={"synchronize_session": False},
        ).first()
        if row is None:
            raise Conflict(f"reward {reward.id!r} has fewer than {-delta} in stock")
        set_committed_value(reward, "stock", row.stock)
    reward.updated_at = now
    session.flush()
    return reward


def listing(session: Session, query: dict, scope: dict) -> list[Reward]:
    if not can_see(scope, query["community"]):
        return []
    q = select(Reward).where(Reward.community == query["community"])
    if not query.get("include_inactive"):
        q = q.where(Reward.active.is_(True))
    return list(session.scalars(q.order_by(Reward.price, Reward.name)))


def _take_stock(session: Session, reward: Reward, quantity: int, now: datetime) -> None:
    row = session.execute(
        update(Reward)
        .where(Reward.id == reward.id, Reward.active.is_(True), Reward.stock >= quantity)
        .values(stock=Reward.stock - quantity, updated_at=now)
        .returning(Reward.stock),
        execution_options={"synchronize_session": False},
    ).first()
    if row is None:
        raise Conflict(f"{reward.name}: not enough in stock" if reward.active else f"{reward.name} is withdrawn")
    set_committed_value(reward, "stock", row.stock)


def redeem(session: Session, member: Member, reward: Reward, quantity: int, actor: str, now: datetime) -> Redemption:
    if reward.community != member.community:
        raise InvalidInput("the reward is from another community", {"reward": ["not in the member's community"]})
    if not member.active:
        raise Conflict(f"member {member.id!r} is inactive")
    price = reward.price * quantity
    redemption_id = uuid.uuid4().hex
    # points first, stock second, always in this order, so two redemptions cannot deadlock
    ledger.post(
        session,
        member,
        -price,
        "redemption",
        f"兑换 {reward.name} ×{quantity}",
        actor,
        now,
        source=f"redemption:{redemption_id}",
    )
    _take_stock(session, reward, quantity, now)
    redemption = Redemption(
        id=redemption_id,
        community=member.community,
        member_id=member.id,
        reward_id=reward.id,
        reward_name=reward.name,
        quantity=quantity,
        points=price,
        status="reserved",
        requested_by=actor,
        created_at=now,
    )
    session.add(redemption)
    session.flush()
    return redemption


def get_redemption(session: Session, redemption_id: str, scope: dict) -> Redemption:
    found = session.scalars(select(Redemption).where(Redemption.id == redemption_id).with_for_update()).first()
    if found is None or not can_see(scope, found.community):
        raise NotFound(f"redemption {redemption_id!r} not found")
    members.get(session, found.member_id, scope)  # a member sees only their own
    return found


def cancel(session: Session, redemption: Redemption, actor: str, reason: str | None, now: datetime) -> Redemption:
    if redemption.status == "cancelled":
        return redemption
    if redemption.status != "reserved":
        raise Conflict(f"redemption {redemption.id!r} was already {redemption.status}; it cannot be cancelled")
    member = session.get(Member, redemption.member_id)
    note = f"取消兑换 {redemption.reward_name} ×{redemption.quantity}" + (f"：{reason}" if reason else "")
    ledger.post(session, member, redemption.points, "refund", note, actor, now, source=f"redemption:{redemption.id}")
    session.execute(
        update(Reward)
        .where(Reward.id == redemption.reward_id)
        .values(stock=Reward.stock + redemption.quantity, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    redemption.status, redemption.cancelled_at = "cancelled", now
    redemption.cancelled_by, redemption.cancel_reason = actor, reason
    return redemption


def pick_up(session: Session, redemption: Redemption, actor: str, now: datetime) -> Redemption:
    if redemption.status == "picked_up":
        return redemption
    if redemption.status != "reserved":
        raise Conflict(f"redemption {redemption.id!r} is {redemption.status}")
    redemption.status, redemption.picked_up_at, redemption.picked_up_by = "picked_up", now, actor
    return redemption


def page(session: Session, query: dict, scope: dict) -> dict:
    if not can_see(scope, query["community"]):
        return {"items": [], "next_cursor": None}
    q = select(Redemption).where(Redemption.community == query["community"])
    if query.get("status"):
        q = q.where(Redemption.status == query["status"])
    if query.get("member"):
        q = q.where(Redemption.member_id == query["member"])
    if scope["role"] not in members.STAFF:
        q = q.join(Member, Member.id == Redemption.member_id).where(Member.user_id == scope["sub"])
    if query.get("cursor"):
        at, last_id = paging.decode(query["cursor"], 2, (datetime.fromisoformat,))
        q = q.where((Redemption.created_at < at) | ((Redemption.created_at == at) & (Redemption.id > last_id)))
    rows = list(session.scalars(q.order_by(Redemption.created_at.desc(), Redemption.id).limit(query["limit"] + 1)))
    return paging.page(rows, query["limit"], lambda row: (row.created_at.isoformat(), row.id))

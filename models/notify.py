"""The WeChat budget and delivery bookkeeping: per-resident subscription ledger and staff digest items.

Imports nothing of the project but `models`. Workers spend the ledger; the intake API records accepts into it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, intpk, timestamp, utcnow
from .entities import Notification, NotificationState
from .outbox import amend_notifications

# Staff events folded into one daily digest per person instead of one message each.
DIGEST_EVENTS = frozenset({"triage_overdue", "implementation_overdue"})
# Staff events told promptly but gathered: the first one's outbox row waits BATCH_SECONDS (its next_attempt_at)
# while later ones to the same person join it, so several within that time are one message naming their count.
# The sweep wakes the delivery for it once due (every sweep_interval, 15 s by default): out within a minute.
BATCHED_EVENTS = frozenset({"complaint_new_in_unit", "complaint_note_added"})
BATCH_SECONDS = 30
_BATCH_MARGIN = 2  # seconds before its send time a gathering row is left alone for the delivery to claim


class Subscription(Base):
    """One resident's standing with one subscribe-message template: accepts granted and spent.

    One-time templates allow one send per accept; `accepted - spent` is what is left. A long-term template
    (`long_term`) is never spent. `refused_at` is set when WeChat answered 43101 or the user tapped 拒绝.
    """

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("resident_id", "template_id"),)

    id: Mapped[intpk]
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    template_id: Mapped[str] = mapped_column(String(64))
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    spent: Mapped[int] = mapped_column(Integer, default=0)
    long_term: Mapped[bool] = mapped_column(default=False)
    refused_at: Mapped[dt.datetime | None]
    updated_at: Mapped[timestamp]

    @property
    def left(self) -> int:
        return max(self.accepted - self.spent, 0)


class DigestItem(Base):
    """A staff event waiting for the recipient's next daily digest (sent as one message)."""

    __tablename__ = "digest_items"
    __table_args__ = (Index("ix_digest_items_staff_pending", "staff_id", "digested_at"),)

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    event: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[timestamp]
    digested_at: Mapped[dt.datetime | None]


class Notice(Base):
    """A time-based event already announced (a triage or implementation gone overdue, a meeting reminded).

    The periodic check inserts the mark and the notification in one transaction; the unique key makes a second
    check, concurrent or after a restart, find the mark and announce nothing.
    """

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("kind", "subject_id"),)

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int]
    created_at: Mapped[timestamp]


def claim_notice(session: Session, kind: str, subject_id: int) -> bool:
    """Mark `kind` announced for `subject_id`; False if it was already (by this or a concurrent check).

    Side effects: inserts the mark inside a savepoint (flushed, not committed): a concurrent inserter makes one
    of the two wait and then fail on the unique key, or, on PostgreSQL, wait for the other's commit.
    """
    try:
        with session.begin_nested():
            session.add(Notice(kind=kind, subject_id=subject_id, created_at=utcnow()))
        return True
    except IntegrityError:
        return False


def record_subscription_results(session: Session, resident_id: int, results: dict[str, str],
                                long_term: set[str]) -> dict[str, int]:
    """Record what wx.requestSubscribeMessage answered (`accept`, `reject`, `ban`, `filter` per template).

    Side effects: one accept adds one send to the resident's ledger row for that template (created on first
    use); a refusal stamps `refused_at`. Flushes; returns the sends left per template.
    """
    now = utcnow()
    left: dict[str, int] = {}
    for template_id, answer in results.items():
        row = session.scalar(select(Subscription).where(Subscription.resident_id == resident_id,
                                                        Subscription.template_id == template_id))
        if row is None:
            row = Subscription(resident_id=resident_id, template_id=template_id, accepted=0, spent=0,
                               long_term=template_id in long_term, updated_at=now)
            session.add(row)
        if answer == "accept":
            row.accepted += 1
            row.refused_at = None
        else:
            row.refused_at = now
        row.updated_at = now
        session.flush()
        left[template_id] = row.left
    return left


def spend_subscription(session: Session, resident_id: int, template_id: str) -> bool | None:
    """Spend one send of a resident's one-time subscription: True if spent, False if none left, None if unknown.

    Side effects: a compare-and-set on the ledger row (safe under concurrent workers); no commit. A resident
    with no ledger row for the template (accepts recorded before the ledger existed) is left to WeChat.
    """
    row = session.scalar(select(Subscription).where(Subscription.resident_id == resident_id,
                                                    Subscription.template_id == template_id))
    if row is None:
        return None
    if row.long_term:
        return True
    done = session.execute(update(Subscription)
                           .where(Subscription.id == row.id, Subscription.accepted > Subscription.spent)
                           .values(spent=Subscription.spent + 1, updated_at=utcnow())
                           .execution_options(synchronize_session=False)).rowcount
    return bool(done)


def spend_subscriptions(session: Session, template_id: str, resident_ids: list[int]) -> dict[int, bool | None]:
    """`spend_subscription` for many residents (each once) in two statements; {resident id: spent?}. No commit."""
    if not resident_ids:
        return {}
    spent = set(session.scalars(update(Subscription)
                                .where(Subscription.template_id == template_id,
                                       Subscription.resident_id.in_(resident_ids),
                                       Subscription.long_term.is_(False),
                                       Subscription.accepted > Subscription.spent)
                                .values(spent=Subscription.spent + 1, updated_at=utcnow())
                                .returning(Subscription.resident_id)
                                .execution_options(synchronize_session=False)).all())
    rest = [r for r in resident_ids if r not in spent]
    known = dict(session.execute(select(Subscription.resident_id, Subscription.long_term)
                                 .where(Subscription.template_id == template_id,
                                        Subscription.resident_id.in_(rest))).all()) if rest else {}
    return {r: True if r in spent or known.get(r) else (False if r in known else None) for r in resident_ids}


def refund_subscription(session: Session, resident_id: int, template_id: str) -> None:
    """Give back a spent send WeChat did not use (it refused the call for a transient reason). No commit."""
    session.execute(update(Subscription)
                    .where(Subscription.resident_id == resident_id, Subscription.template_id == template_id,
                           Subscription.spent > 0, Subscription.long_term.is_(False))
                    .values(spent=Subscription.spent - 1)
                    .execution_options(synchronize_session=False))


def exhaust_subscription(session: Session, resident_id: int, template_id: str) -> None:
    """WeChat said 43101: whatever the ledger thought, nothing is left. Side effect: upserts the row; no commit."""
    now = utcnow()
    where = (Subscription.resident_id == resident_id, Subscription.template_id == template_id)
    values = {"spent": Subscription.accepted, "refused_at": now, "updated_at": now}
    done = session.execute(update(Subscription).where(*where).values(**values)
                           .execution_options(synchronize_session=False)).rowcount
    if done:
        return
    try:
        with session.begin_nested():  # another worker may be inserting the same row right now
            session.add(Subscription(resident_id=resident_id, template_id=template_id, accepted=0, spent=0,
                                     long_term=False, refused_at=now, updated_at=now))
    except IntegrityError:
        session.execute(update(Subscription).where(*where).values(**values)
                        .execution_options(synchronize_session=False))


def left_on_ledger(session: Session, resident_id: int, template_id: str) -> int | None:
    """Sends left on a resident's one-time ledger for a template (None without a ledger row). No side effects."""
    row = session.execute(select(Subscription.accepted, Subscription.spent, Subscription.long_term)
                          .where(Subscription.resident_id == resident_id,
                                 Subscription.template_id == template_id)).first()
    if row is None or row.long_term:
        return None
    return max(row.accepted - row.spent, 0)


def hold_empty_ledger(session: Session, resident_id: int, template_id: str) -> bool:
    """Lock a resident's ledger row for the session's transaction and say whether it has nothing left.

    Side effects: a no-op UPDATE that takes the row's write lock (PostgreSQL: the row; SQLite: the database)
    until the caller ends the transaction, so no accept can be recorded meanwhile. No commit.
    """
    row = session.execute(update(Subscription)
                          .where(Subscription.resident_id == resident_id, Subscription.template_id == template_id,
                                 Subscription.long_term.is_(False))
                          .values(updated_at=Subscription.updated_at)
                          .returning(Subscription.accepted, Subscription.spent)
                          .execution_options(synchronize_session=False)).first()
    return row is not None and row.accepted <= row.spent


def add_digest_item(session: Session, staff_id: int, event: str, params: dict[str, Any]) -> DigestItem:
    """Queue a staff event for the next daily digest. Side effect: adds the row; no commit."""
    item = DigestItem(staff_id=staff_id, event=event, params=params, created_at=utcnow())
    session.add(item)
    return item


def gather(session: Session, values: dict[str, Any]) -> Notification | None:
    """Join a batched staff event (`values`: the outbox row notify would write) to the recipient's row of that
    event still gathering; returns that row, or None after making `values` the first of a new batch.

    Side effects: the joined row's params (count, latest time, complaint ids; the unit's name dropped when the
    units differ) updated under its row lock, so a concurrent join waits and counts on top; no commit. Two
    transactions starting a batch for one person at the same moment make two rows (two messages, not a lost one).
    """
    now = values["created_at"]
    params = values["params"]
    row = session.execute(
        select(Notification.id, Notification.params)
        .where(Notification.state == NotificationState.pending,
               Notification.created_at > now - dt.timedelta(seconds=BATCH_SECONDS),
               Notification.next_attempt_at > now + dt.timedelta(seconds=_BATCH_MARGIN),
               Notification.recipient_kind == values["recipient_kind"],
               Notification.recipient_id == values["recipient_id"], Notification.event == values["event"])
        .order_by(Notification.id.desc()).limit(1).with_for_update()).first()
    if row is None:
        values["params"] = {**params, "count": "1", "complaint_ids": [params.get("complaint_id")]}
        values["next_attempt_at"] = now + dt.timedelta(seconds=BATCH_SECONDS)
        return None
    joined = dict(row.params)
    joined["count"] = str(int(joined.get("count", "1")) + 1)
    joined["complaint_ids"] = [*joined.get("complaint_ids", []), params.get("complaint_id")]
    joined["at"] = params.get("at", joined.get("at"))
    if joined.get("unit_name") != params.get("unit_name"):
        joined["unit_name"] = ""  # several units: the message names none (its fixed words instead)
    amend_notifications(session, Notification.id == row.id, params=joined)
    return session.get(Notification, row.id, populate_existing=True)

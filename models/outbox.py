"""The outbox's one writer: a notification row is added by `add_notification` (through `lifecycle.notify`), moved
between states only by `move_notifications`, along NOTIFICATION_MOVES, and amended (its gathered params, a removed
openid) only by `amend_notifications`. Nothing else writes the `notifications` table.

Every move is a compare-and-set on the row's state, so two workers, a sweep and an admin can race for a row and
exactly one wins; the callers read the ids that moved from the returned rows or the row count.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.engine import Result
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from .entities import Notification, NotificationState

N = NotificationState

# from -> the states a row may move to
NOTIFICATION_MOVES: dict[NotificationState, frozenset[NotificationState]] = {
    N.pending: frozenset({N.sending}),  # claimed by a delivery, committed before WeChat is called
    # WeChat's answer: sent; retried later; refused for good; undeliverable (no quota); unknown (read timeout,
    # or the sweep found the worker gone)
    N.sending: frozenset({N.sent, N.pending, N.failed, N.undeliverable, N.needs_review}),
    N.undeliverable: frozenset({N.pending}),  # held for quota, released when the resident subscribes again
    N.failed: frozenset({N.pending}),  # an admin's re-send
    # an admin's re-send, or WeChat's subscribe_msg_sent_event settling a send whose outcome was unknown
    N.needs_review: frozenset({N.pending, N.sent, N.failed}),
    N.sent: frozenset(),
}
_INSERT = insert(Notification.__table__).returning(Notification.__table__.c.id)


def add_notification(session: Session, values: dict[str, Any]) -> int:
    """Insert one outbox row in the caller's transaction (Core, no unit of work); returns its id."""
    return session.connection().execute(_INSERT, values).scalar_one()


def move_notifications(session: Session, *where: ColumnElement[bool], from_: NotificationState | tuple,
                       to: NotificationState, returning: tuple = (), **values: Any) -> Result:
    """Move the rows matching `where` that are still in `from_` (one state or several) to `to`, setting `values`.

    Raises ValueError for a move NOTIFICATION_MOVES does not allow (a bug, not an input). Returns the statement's
    result: its rows when `returning` names columns, else its row count.
    """
    sources = from_ if isinstance(from_, tuple) else (from_,)
    for source in sources:
        if to not in NOTIFICATION_MOVES[source]:
            raise ValueError(f"notification move {source.value} -> {to.value} is not allowed")
    statement = (update(Notification).where(*where, Notification.state.in_(sources)).values(state=to, **values)
                 .execution_options(synchronize_session=False))
    if returning:
        statement = statement.returning(*returning)
    return session.execute(statement)


def amend_notifications(session: Session, *where: ColumnElement[bool], **values: Any) -> int:
    """Change the columns of the matching rows that are not their state (`params` a gathering row collects, the
    `openid` of a person whose data was removed); returns how many rows changed."""
    if "state" in values:
        raise ValueError("a notification's state changes only through move_notifications")
    return session.execute(update(Notification).where(*where).values(**values)
                           .execution_options(synchronize_session=False)).rowcount

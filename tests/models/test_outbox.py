"""The outbox's one writer: rows move only along NOTIFICATION_MOVES, each move a compare-and-set on the state."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Notification, NotificationState, utcnow
from models.outbox import NOTIFICATION_MOVES, add_notification, amend_notifications, move_notifications

N = NotificationState


def _row(db, state: NotificationState) -> int:
    return add_notification(db, {"event": "complaint_received", "recipient_kind": "resident", "recipient_id": 1,
                                 "openid": "o-1", "params": {}, "state": state, "attempts": 0, "created_at": utcnow()})


@pytest.mark.parametrize(("source", "target"), [(s, t) for s in N for t in N])
def test_a_row_moves_only_along_the_table(db, source, target):
    row_id = _row(db, source)
    if target in NOTIFICATION_MOVES[source]:
        assert move_notifications(db, Notification.id == row_id, from_=source, to=target).rowcount == 1
        assert db.scalar(select(Notification.state).where(Notification.id == row_id)) == target
    else:
        with pytest.raises(ValueError):
            move_notifications(db, Notification.id == row_id, from_=source, to=target)
        assert db.scalar(select(Notification.state).where(Notification.id == row_id)) == source


def test_a_move_is_a_compare_and_set_so_one_of_two_claims_wins(db):
    row_id = _row(db, N.pending)
    first = move_notifications(db, Notification.id == row_id, from_=N.pending, to=N.sending).rowcount
    second = move_notifications(db, Notification.id == row_id, from_=N.pending, to=N.sending).rowcount
    assert (first, second) == (1, 0)


def test_amending_never_changes_the_state(db):
    row_id = _row(db, N.pending)
    assert amend_notifications(db, Notification.id == row_id, openid=None) == 1
    with pytest.raises(ValueError):
        amend_notifications(db, Notification.id == row_id, state=N.sent)
    assert db.execute(select(Notification.state, Notification.openid).where(Notification.id == row_id)).one() \
        == (N.pending, None)

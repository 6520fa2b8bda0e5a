"""The sweep: what a lost Redis, a crash or a back-off left behind is woken again from the database.

Run every `sweep_interval` seconds by the sweep process beside each `xinma worker` (workers/worker.py).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, or_, select

from models import Complaint, ComplaintState, Notification, NotificationState, utcnow
from models.intake import overdue_photo_checks
from models.outbox import move_notifications

from .queues import wake
from .runtime import runtime

N = NotificationState


def sweep(now: dt.datetime | None = None) -> dict[str, int]:
    """Flag sends left half-done; wake the delivery job for rows and checks that waited too long.

    Side effects: `sending` rows older than `sending_stale_seconds` become needs_review (never re-sent); photos
    WeChat left without a verdict 35 minutes after their check go to staff review; when pending rows are past the
    grace period (or past their back-off) or complaints wait for their content check past it, the delivery job is
    woken (held content checks retried).
    """
    rt = runtime()
    now = now or utcnow()
    grace = now - dt.timedelta(seconds=rt.settings.sweep_grace_seconds)
    stale = now - dt.timedelta(seconds=rt.settings.sending_stale_seconds)
    counts = {"notifications": 0, "content_checks": 0, "needs_review": 0}
    with rt.session() as session:
        counts["needs_review"] = move_notifications(
            session, Notification.claimed_at < stale, from_=N.sending, to=N.needs_review, finished_at=now,
            last_error="worker stopped during the WeChat call; check before re-sending").rowcount
        counts["photos_to_review"] = overdue_photo_checks(session, now)
        session.commit()
        counts["notifications"] = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.state == N.pending,
            or_(and_(Notification.next_attempt_at.is_(None), Notification.created_at < grace),
                Notification.next_attempt_at <= now)))
        counts["content_checks"] = session.scalar(select(func.count()).select_from(Complaint).where(
            Complaint.state == ComplaintState.submitted, Complaint.created_at < grace))
    if (counts["notifications"] or counts["content_checks"]) and rt.queue is not None:
        wake(rt.queue, held=bool(counts["content_checks"]))
    return counts


def fold_statistics(limit: int = 20_000) -> int:
    """Fold the statistics deltas committed so far into the running sums (models.stats.fold); returns how many.

    Side effects: one transaction per `limit` deltas, each deleting them and upserting the sums they change.
    """
    from models.stats import fold

    rt = runtime()
    total = 0
    while True:
        with rt.session() as session:
            folded = fold(session, limit)
            session.commit()
        total += folded
        if folded < limit:
            return total

"""RQ jobs. Each takes a row id, re-loads it, and is safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging

from rq import get_current_job
from sqlalchemy import select, update

from models import (
    SYSTEM,
    Complaint,
    ComplaintState,
    Notification,
    NotificationState,
    transition_complaint,
    utcnow,
)
from wechat import WeChatError, WeChatNoSubscription, WeChatRetryable, WeChatUserInactive

from . import templates
from .queues import enqueue
from .runtime import runtime

log = logging.getLogger(__name__)
N = NotificationState


def _final_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


def _finish(notification_id: int, state: NotificationState, error: str | None = None) -> None:
    with runtime().session() as session:
        session.execute(update(Notification).where(Notification.id == notification_id,
                                                   Notification.state == N.sending)
                        .values(state=state, last_error=error and error[:400],
                                finished_at=utcnow() if state != N.pending else None))
        session.commit()


def deliver_notification(notification_id: int) -> str:
    """Send one outbox row through WeChat, at most once.

    Claims the row (pending -> sending) in its own commit before calling WeChat, so a worker that dies
    after WeChat accepted leaves a `sending` row for the sweep to mark needs_review, never to resend.
    """
    rt = runtime()
    with rt.session() as session:
        claimed = session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.state == N.pending)
            .values(state=N.sending, claimed_at=utcnow(), attempts=Notification.attempts + 1)
        ).rowcount
        session.commit()
        if not claimed:
            return "not pending"
        row = session.get(Notification, notification_id)
        openid, event, params = row.openid, row.event, dict(row.params)
    if not openid:
        _finish(notification_id, N.undeliverable, "no_openid: recipient has not bound WeChat")
        return "undeliverable"
    template_id, data, page = templates.render(event, params)
    try:
        rt.wechat.send_subscribe_message(openid, template_id, data, page=f"{page}&n={notification_id}",
                                         miniprogram_state=rt.settings.miniprogram_state)
    except WeChatNoSubscription as exc:
        _finish(notification_id, N.undeliverable, f"{exc.errcode}: {exc.errmsg}")
        return "undeliverable"
    except WeChatRetryable as exc:
        if _final_attempt():
            _finish(notification_id, N.failed, f"{exc.errcode}: {exc.errmsg}")
            return "failed"
        _finish(notification_id, N.pending, f"{exc.errcode}: {exc.errmsg}")
        raise
    except WeChatError as exc:
        _finish(notification_id, N.failed, f"{exc.errcode}: {exc.errmsg}")
        return "failed"
    _finish(notification_id, N.sent)
    return "sent"


def check_complaint_content(complaint_id: int) -> str:
    """Check a new complaint's text with msgSecCheck and let it into triage, flagged if WeChat says so."""
    rt = runtime()
    with rt.session() as session:
        complaint = session.get(Complaint, complaint_id)
        if complaint is None or complaint.state != ComplaintState.submitted:
            return "not submitted"
        try:
            result = rt.wechat.msg_sec_check(complaint.resident.openid, complaint.text)
            verdict = result.suggest
        except WeChatUserInactive:
            verdict = "unchecked"
        except WeChatRetryable:
            if not _final_attempt():
                raise
            verdict = "unchecked"
        complaint.content_check = verdict
        transition_complaint(session, complaint, "accept", actor=SYSTEM, data={"content_check": verdict})
        session.commit()
    return verdict


def sweep() -> dict[str, int]:
    """Re-hand rows whose job was lost (Redis down or flushed, a worker died); flag sends left half-done."""
    rt = runtime()
    now = utcnow()
    grace = now - dt.timedelta(seconds=rt.settings.sweep_grace_seconds)
    stale = now - dt.timedelta(seconds=rt.settings.sending_stale_seconds)
    counts = {"notifications": 0, "content_checks": 0, "needs_review": 0}
    queue = rt.queue
    with rt.session() as session:
        counts["needs_review"] = session.execute(
            update(Notification).where(Notification.state == N.sending, Notification.claimed_at < stale)
            .values(state=N.needs_review, finished_at=now,
                    last_error="worker stopped during the WeChat call; check before re-sending")
        ).rowcount
        session.commit()
        pending = session.scalars(select(Notification.id).where(Notification.state == N.pending,
                                                                Notification.created_at < grace)
                                  .order_by(Notification.id).limit(5000)).all()
        checks = session.scalars(select(Complaint.id).where(Complaint.state == ComplaintState.submitted,
                                                            Complaint.created_at < grace)
                                 .order_by(Complaint.id).limit(5000)).all()
    counts["notifications"] = sum(enqueue(queue, "notification", i) for i in pending)
    counts["content_checks"] = sum(enqueue(queue, "content_check", i) for i in checks)
    return counts

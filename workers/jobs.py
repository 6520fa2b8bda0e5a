"""RQ jobs. Each takes a row id, re-loads it, and is safe to run twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor

from rq import get_current_job
from sqlalchemy import and_, or_, select, text, update

from models import (
    SYSTEM,
    Complaint,
    ComplaintState,
    Notification,
    NotificationState,
    transition_complaint,
    utcnow,
)
from models.notify import exhaust_subscription as ledger_exhaust
from models.notify import refund_subscription as ledger_refund
from models.notify import spend_subscription as ledger_spend
from models.notify import spend_subscriptions as ledger_spend_many
from wechat import WeChatError, WeChatNoSubscription, WeChatOutcomeUnknown, WeChatRetryable, WeChatUserInactive

from . import templates
from .queues import JOBS, enqueue, hand_over
from .runtime import runtime

log = logging.getLogger(__name__)
N = NotificationState


def _final_attempt() -> bool:
    job = get_current_job()
    return job is None or not job.retries_left


@dataclasses.dataclass
class _Claimed:
    """What a delivery needs of a claimed row (read with the claim, so no ORM object crosses threads)."""

    id: int
    openid: str | None
    event: str
    params: dict
    recipient_kind: str
    recipient_id: int
    attempts: int
    ledger: bool = False  # a ledger send was spent for it (refund it if WeChat did not use it)


@dataclasses.dataclass
class _Outcome:
    label: str  # sent | undeliverable | needs_review | retry | failed
    error: str | None = None
    exhausted: bool = False  # WeChat said 43101: empty the ledger


CLAIM_COLUMNS = (Notification.id, Notification.openid, Notification.event, Notification.params,
                 Notification.recipient_kind, Notification.recipient_id, Notification.attempts)


def _claim(session, ids: list[int]) -> tuple[list[_Claimed], list[str]]:
    """pending -> sending as one compare-and-set, committed before WeChat is called; spends the ledger.

    Whoever wins a row sends it; every other job skips it. Rows whose resident's ledger is known to be empty
    are finished undeliverable (no_quota) in the same commit without calling WeChat.
    """
    now = utcnow()
    claimed = [_Claimed(*row) for row in session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.state == N.pending,
               or_(Notification.next_attempt_at.is_(None),
                   Notification.next_attempt_at <= now + dt.timedelta(seconds=1)))
        .values(state=N.sending, claimed_at=now, attempts=Notification.attempts + 1)
        .returning(*CLAIM_COLUMNS)
        .execution_options(synchronize_session=False)).all()]
    ready, finished = [], []
    wants: dict[str, list[_Claimed]] = {}  # one-time template -> resident rows that spend the ledger
    for row in sorted(claimed, key=lambda r: r.id):
        spec = templates.TEMPLATES.get(row.event)
        if row.openid and spec and row.recipient_kind == "resident" and spec["kind"] == "one_time":
            wants.setdefault(templates.template_id(row.event), []).append(row)
        ready.append(row)
    for template_id, rows in wants.items():
        seen: set[int] = set()
        first = [r for r in rows if not (r.recipient_id in seen or seen.add(r.recipient_id))]
        verdicts = ledger_spend_many(session, template_id, [r.recipient_id for r in first])
        for row in rows:
            spent = verdicts[row.recipient_id] if row in first else ledger_spend(session, row.recipient_id,
                                                                                 template_id)
            if spent is False:
                outcome = _Outcome("undeliverable", "no_quota: waiting for the resident to subscribe again")
                finished.append(_record(session, row, outcome, None))
                ready.remove(row)
            row.ledger = spent is True
    session.commit()
    return ready, finished


def _send(rt, row: _Claimed) -> _Outcome:
    """Call WeChat for one claimed row and classify the answer. No database access (safe in threads)."""
    if not row.openid:
        return _Outcome("undeliverable", "no_openid: recipient has not bound WeChat")
    try:
        template_id, data, page = templates.render(row.event, row.params)
    except (KeyError, ValueError) as exc:
        return _Outcome("failed", f"bad_template: {exc.__class__.__name__} {exc}")
    try:
        rt.wechat.send_subscribe_message(row.openid, template_id, data, page=f"{page}&n={row.id}",
                                         miniprogram_state=rt.settings.miniprogram_state)
    except WeChatNoSubscription as exc:
        return _Outcome("undeliverable", f"{exc.errcode}: {exc.errmsg}", exhausted=True)
    except WeChatOutcomeUnknown as exc:
        return _Outcome("needs_review", f"outcome_unknown: {exc.errmsg}; WeChat may have delivered it")
    except WeChatRetryable as exc:
        return _Outcome("retry", f"{exc.errcode}: {exc.errmsg}")
    except WeChatError as exc:
        return _Outcome("failed", f"{exc.errcode}: {exc.errmsg}")
    return _Outcome("sent")


STATES = {"sent": N.sent, "undeliverable": N.undeliverable, "needs_review": N.needs_review, "failed": N.failed}


def _record(session, row: _Claimed, outcome: _Outcome, retry_intervals: list[float] | None) -> str:
    """Write one row's outcome if this worker still holds its claim; adjust the ledger. No commit.

    Returns the final label ("retry" rows become pending with their back-off time, or failed after the last).
    """
    template_id = templates.template_id(row.event)
    if outcome.exhausted and row.recipient_kind == "resident":
        ledger_exhaust(session, row.recipient_id, template_id)
    elif row.ledger and outcome.label in ("retry", "failed"):
        ledger_refund(session, row.recipient_id, template_id)  # WeChat did not use the send
    label, error, retry_at = outcome.label, outcome.error, None
    if label == "retry":
        intervals = retry_intervals or []
        if row.attempts > len(intervals):
            label, error = "failed", f"gave up after {row.attempts} attempts; last: {error}"
        else:
            retry_at = utcnow() + dt.timedelta(seconds=intervals[row.attempts - 1])
    done = session.execute(update(Notification).where(Notification.id == row.id, Notification.state == N.sending)
                           .values(state=N.pending if retry_at else STATES[label], last_error=error and error[:400],
                                   next_attempt_at=retry_at, finished_at=None if retry_at else utcnow())
                           .execution_options(synchronize_session=False)).rowcount
    return label if done else "lost claim"


def _relaxed_commit(session) -> None:
    """Commit outcomes without waiting for the disk (PostgreSQL): if the server crashes and loses this commit,
    the rows fall back to `sending`, which the sweep turns into needs_review; nothing is ever re-sent."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def _schedule_retries(rt, rows: list[_Claimed]) -> None:
    for row in rows:
        delay = rt.retry_intervals[row.attempts - 1]
        try:
            rt.queue.enqueue_in(dt.timedelta(seconds=delay), JOBS["notification"][0], row.id,
                                job_id=f"notification-{row.id}-retry-{row.attempts}", result_ttl=300,
                                failure_ttl=86400)
        except Exception as exc:  # Redis down: the sweep hands the row over once its retry time has come
            log.warning("could not schedule the retry of notification %s: %s", row.id, exc.__class__.__name__)


def _deliver(rt, ids: list[int], pool: ThreadPoolExecutor | None) -> list[str]:
    with rt.session() as session:
        claimed, finished = _claim(session, ids)
        if not claimed:
            return finished
        if pool is None or len(claimed) == 1:
            outcomes = [_send(rt, row) for row in claimed]
        else:
            outcomes = list(pool.map(lambda row: _send(rt, row), claimed))
        _relaxed_commit(session)
        sent = [row.id for row, outcome in zip(claimed, outcomes, strict=True) if outcome.label == "sent"]
        mine: set[int] = set()
        if sent:  # the common case, in one statement
            mine = set(session.scalars(update(Notification)
                                       .where(Notification.id.in_(sent), Notification.state == N.sending)
                                       .values(state=N.sent, last_error=None, next_attempt_at=None,
                                               finished_at=utcnow())
                                       .returning(Notification.id)
                                       .execution_options(synchronize_session=False)).all())
        labels = [("sent" if row.id in mine else "lost claim") if outcome.label == "sent"
                  else _record(session, row, outcome, rt.retry_intervals)
                  for row, outcome in zip(claimed, outcomes, strict=True)]
        session.commit()
    _schedule_retries(rt, [row for row, label in zip(claimed, labels, strict=True) if label == "retry"])
    return finished + labels


def deliver_notification(notification_id: int) -> str:
    """Send one outbox row through WeChat, at most once; returns the outcome.

    Side effects: claims the row (pending -> sending) in its own commit before calling WeChat, so a worker
    that dies after WeChat accepted leaves a `sending` row for the sweep to mark needs_review, never to resend.
    Spends one send of the resident's subscription ledger (refunded if WeChat refused for a transient reason);
    a resident whose ledger is empty is not sent to (undeliverable, no_quota: the app asks them to subscribe
    again). Transient failures are retried after the configured back-off (a scheduled job, and the sweep as
    a safety net), then the row is failed (dead letters). A read timeout is needs_review: see
    `wechat.WeChatOutcomeUnknown`.
    """
    labels = _deliver(runtime(), [int(notification_id)], None)
    return labels[0] if labels else "not pending"


def deliver_notifications(notification_ids: list[int]) -> dict[str, int]:
    """Deliver a batch of outbox rows, each exactly as `deliver_notification` does, several sends in flight.

    Side effects: rows are claimed and finished a chunk at a time (XINMA_DELIVERY_THREADS rows, sent
    concurrently), so a crash leaves at most one chunk in `sending` (the sweep marks it needs_review).
    Returns outcome counts.
    """
    rt = runtime()
    ids = sorted({int(i) for i in notification_ids})
    counts: dict[str, int] = {}
    if not ids:
        return counts
    try:
        _ = rt.wechat.access_token  # warm the token once, before the threads ask for it
    except WeChatError:
        pass  # each row meets the same failure and records it
    size = max(1, rt.delivery_threads)
    with ThreadPoolExecutor(size, thread_name_prefix="deliver") as pool:
        for start in range(0, len(ids), size):
            for label in _deliver(rt, ids[start:start + size], pool):
                counts[label] = counts.get(label, 0) + 1
    return counts


def check_complaint_content(complaint_id: int) -> str:
    """Check a new complaint's text with msgSecCheck and let it into triage, flagged if WeChat says so."""
    rt = runtime()
    with rt.session() as session:
        complaint = session.get(Complaint, complaint_id)
        if complaint is None or complaint.state != ComplaintState.submitted:
            return "not submitted"
        data = {}
        try:
            # msgSecCheck v2 needs the openid of a recently active user. Text WeChat cannot check (an H5 resident
            # has no openid) is never let through unchecked: it goes to staff's manual review queue instead.
            if complaint.resident.openid:
                verdict = rt.wechat.msg_sec_check(complaint.resident.openid, complaint.text).suggest
            else:
                verdict, data = "review", {"unchecked": "no_openid"}
        except WeChatUserInactive:
            verdict, data = "review", {"unchecked": "user_inactive"}
        except WeChatRetryable:
            if not _final_attempt():
                raise
            # WeChat unreachable: the complaint stays held in `submitted`; the sweep checks it again later.
            complaint.content_check = "held"
            session.commit()
            return "held"
        complaint.content_check = verdict
        transition_complaint(session, complaint, "accept", actor=SYSTEM, data={"content_check": verdict, **data})
        session.commit()
    return verdict


def sweep() -> dict[str, int]:
    """Re-hand rows whose job was lost (Redis down or flushed, a worker died); flag sends left half-done.

    Side effects: `sending` rows older than `sending_stale_seconds` become needs_review (never re-sent);
    pending rows past the grace period (and past their back-off) are handed to RQ in batches, unless jobs are
    still queued ahead of them.
    """
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
        pending = session.scalars(select(Notification.id).where(
            Notification.state == N.pending,
            or_(and_(Notification.next_attempt_at.is_(None), Notification.created_at < grace),
                Notification.next_attempt_at < now - dt.timedelta(seconds=1)))
            .order_by(Notification.id).limit(20000)).all()
        checks = session.scalars(select(Complaint.id).where(Complaint.state == ComplaintState.submitted,
                                                            Complaint.created_at < grace)
                                 .order_by(Complaint.id).limit(5000)).all()
    if pending and _queue_busy(queue):
        # Jobs are still queued (a large fan-out being worked through): they cover these rows; hand over only
        # those waiting far longer than any queue should take.
        with rt.session() as session:
            pending = session.scalars(select(Notification.id).where(
                Notification.id.in_(pending), Notification.created_at < now - dt.timedelta(seconds=600))).all()
    counts["notifications"] = hand_over(queue, pending, round_id=f"sweep{int(now.timestamp())}")
    counts["content_checks"] = sum(enqueue(queue, "content_check", i) for i in checks)
    return counts


def _queue_busy(queue) -> bool:
    try:
        return queue.count > 0
    except Exception:  # Redis down: hand_over will fail too and the next round tries again
        return False


def send_digests(day: str | None = None) -> dict[str, int]:
    """Fold each staff member's waiting digest items into one long-term message (the daily digest).

    Side effects: one outbox row (event staff_digest) per staff member with items, handed to RQ after commit;
    the items are stamped digested in the same commit.
    """
    from .digest import build_digests

    rt = runtime()
    with rt.session() as session:
        made = build_digests(session)
        session.commit()
    return {"digests": made}

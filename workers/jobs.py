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
from models.message_templates import TEMPLATES
from models.notify import exhaust_subscription as ledger_exhaust
from models.notify import hold_empty_ledger
from models.notify import left_on_ledger as ledger_left
from models.notify import refund_subscription as ledger_refund
from models.notify import spend_subscription as ledger_spend
from models.notify import spend_subscriptions as ledger_spend_many
from web.settings import template_id as template_of
from wechat import WeChatError, WeChatNoSubscription, WeChatOutcomeUnknown, WeChatRetryable, WeChatUserInactive

from . import rendering
from .queues import JOBS, enqueue, hand_over
from .runtime import runtime

log = logging.getLogger(__name__)
N = NotificationState
LANES = 2  # chunks of a batch in progress at once: one lane's bookkeeping overlaps the other's sends


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
    last_error: str | None = None
    ledger: bool = False  # a ledger send was spent for it (refund it if WeChat did not use it)

    @property
    def ambiguous(self) -> bool:
        """An earlier attempt timed out after WeChat got the request: it may have delivered the message."""
        return bool(self.last_error and self.last_error.startswith(AMBIGUOUS))


@dataclasses.dataclass
class _Outcome:
    label: str  # sent | undeliverable | needs_review | retry | failed | unknown (read timeout)
    error: str | None = None
    exhausted: bool = False  # WeChat said 43101: empty the ledger


CLAIM_COLUMNS = (Notification.id, Notification.openid, Notification.event, Notification.params,
                 Notification.recipient_kind, Notification.recipient_id, Notification.attempts,
                 Notification.last_error)

# Read timeouts (WeChat got the request; no answer came). WeChat has no idempotency key for subscribe messages
# and its subscribe_msg_sent_event reports only asynchronous failures, so nothing can confirm whether a
# timed-out send was delivered. The policy:
# - a connect failure or a connect timeout never reached WeChat: retried after back-off like a 5xx;
# - a read timeout on a one-time template whose ledger this send emptied (the resident's last accept) is
#   retried after back-off, because WeChat's own quota makes a second delivery impossible: if the first
#   attempt delivered, the re-send is refused with 43101, and the row is marked sent (delivered by the
#   timed-out attempt); if it did not, the re-send delivers it. The re-send holds the ledger row locked and
#   checks that nothing is left, so an accept recorded meanwhile cannot reopen the door to a second copy;
# - any other read timeout (a long-term staff template, a resident with accepts to spare) could deliver
#   twice if re-sent: the row becomes needs_review for a person to check.
AMBIGUOUS = "ambiguous: "


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
        spec = TEMPLATES.get(row.event)
        if row.ambiguous:
            row.ledger = True  # its unit was spent by the attempt that timed out; it is not spent again
        elif row.openid and spec and row.recipient_kind == "resident" and spec["kind"] == "one_time":
            wants.setdefault(template_of(row.event), []).append(row)
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
        template_id, data, page = rendering.render(row.event, row.params)
    except (KeyError, ValueError) as exc:
        return _Outcome("failed", f"bad_template: {exc.__class__.__name__} {exc}")
    if row.ambiguous:
        return _resend_guarded(rt, row, template_id, data, page)
    return _call(rt, row, template_id, data, page)


def _call(rt, row: _Claimed, template_id: str, data: dict, page: str) -> _Outcome:
    try:
        rt.wechat.send_subscribe_message(row.openid, template_id, data, page=f"{page}&n={row.id}",
                                         miniprogram_state=rt.settings.miniprogram_state)
    except WeChatNoSubscription as exc:
        return _Outcome("undeliverable", f"{exc.errcode}: {exc.errmsg}", exhausted=True)
    except WeChatOutcomeUnknown as exc:
        return _Outcome("unknown", f"outcome_unknown: {exc.errmsg}; WeChat may have delivered it")
    except WeChatRetryable as exc:
        return _Outcome("retry", f"{exc.errcode}: {exc.errmsg}")
    except WeChatError as exc:
        return _Outcome("failed", f"{exc.errcode}: {exc.errmsg}")
    return _Outcome("sent")


def _resend_guarded(rt, row: _Claimed, template_id: str, data: dict, page: str) -> _Outcome:
    """Re-send a row whose earlier attempt timed out, only while WeChat's quota makes a duplicate impossible.

    Side effects: holds the resident's ledger row locked (its own transaction, rolled back) for the call, so
    no accept is recorded between the check and the send.
    """
    with rt.session() as session:
        if not hold_empty_ledger(session, row.recipient_id, template_id):
            session.rollback()
            return _Outcome("needs_review", "outcome_unknown: the resident has accepts to spare, so a re-send "
                                            "could deliver twice; check before re-sending")
        outcome = _call(rt, row, template_id, data, page)
        session.rollback()
    if outcome.exhausted:  # the one send was used: by the attempt that timed out
        return _Outcome("sent", "delivered by an attempt that timed out: WeChat refused the re-send with 43101")
    return outcome


STATES = {"sent": N.sent, "undeliverable": N.undeliverable, "needs_review": N.needs_review, "failed": N.failed}


def _record(session, row: _Claimed, outcome: _Outcome, retry_intervals: list[float] | None) -> str:
    """Write one row's outcome if this worker still holds its claim; adjust the ledger. No commit.

    Returns the final label ("retry" rows become pending with their back-off time, or failed after the last).
    """
    template_id = template_of(row.event)
    label, error, retry_at = outcome.label, outcome.error, None
    ambiguous = row.ambiguous
    if label == "unknown":
        ambiguous = ambiguous or _quota_guards(session, row, template_id)
        label = "retry" if ambiguous else "needs_review"
    if outcome.exhausted and row.recipient_kind == "resident":
        ledger_exhaust(session, row.recipient_id, template_id)
    elif row.ledger and not ambiguous and label in ("retry", "failed"):
        ledger_refund(session, row.recipient_id, template_id)  # WeChat did not use the send
    if label == "retry":
        intervals = retry_intervals or []
        if row.attempts > len(intervals):
            label, error = ("needs_review" if ambiguous else "failed"), f"gave up after {row.attempts} attempts; " \
                                                                        f"last: {error}"
        else:
            retry_at = utcnow() + dt.timedelta(seconds=intervals[row.attempts - 1])
    if ambiguous and label in ("retry", "needs_review") and error and not error.startswith(AMBIGUOUS):
        error = AMBIGUOUS + error
    done = session.execute(update(Notification).where(Notification.id == row.id, Notification.state == N.sending)
                           .values(state=N.pending if retry_at else STATES[label], last_error=error and error[:400],
                                   next_attempt_at=retry_at, finished_at=None if retry_at else utcnow())
                           .execution_options(synchronize_session=False)).rowcount
    return label if done else "lost claim"


def _quota_guards(session, row: _Claimed, template_id: str) -> bool:
    """Whether WeChat's one-time quota stops a re-send of this timed-out row from delivering a second copy."""
    spec = TEMPLATES.get(row.event) or {}
    return (row.ledger and row.recipient_kind == "resident" and spec.get("kind") == "one_time"
            and ledger_left(session, row.recipient_id, template_id) == 0)


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
        sent = [row.id for row, outcome in zip(claimed, outcomes, strict=True)
                if outcome.label == "sent" and outcome.error is None]
        mine: set[int] = set()
        if sent:  # the common case, in one statement
            mine = set(session.scalars(update(Notification)
                                       .where(Notification.id.in_(sent), Notification.state == N.sending)
                                       .values(state=N.sent, last_error=None, next_attempt_at=None,
                                               finished_at=utcnow())
                                       .returning(Notification.id)
                                       .execution_options(synchronize_session=False)).all())
        labels = [("sent" if row.id in mine else "lost claim") if outcome.label == "sent" and outcome.error is None
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
    a safety net), then the row is failed (dead letters). A read timeout is retried only where WeChat's quota
    rules out a second copy, else needs_review: see AMBIGUOUS above.
    """
    labels = _deliver(runtime(), [int(notification_id)], None)
    return labels[0] if labels else "not pending"


def deliver_notifications(notification_ids: list[int]) -> dict[str, int]:
    """Deliver a batch of outbox rows, each exactly as `deliver_notification` does, several sends in flight.

    Side effects: the batch is worked a chunk at a time by LANES lanes, each on its own database session:
    claim the chunk's rows (one commit), send them at once on the shared pool of XINMA_DELIVERY_THREADS
    threads, record each outcome (one commit). While one lane waits for WeChat the other talks to the
    database, so sends never wait for bookkeeping. A row is claimed only just before its send, so a crash
    leaves at most one chunk per lane in `sending` (the sweep marks those needs_review, never re-sends them)
    and the rest pending (the sweep hands them over again). The access token is shared by the threads and
    fetched once before they start. Returns outcome counts.
    """
    rt = runtime()
    ids = sorted({int(i) for i in notification_ids})
    counts: dict[str, int] = {}
    if not ids:
        return counts
    rt.session().close()  # build this process's engine before the threads share it
    try:
        _ = rt.wechat.access_token  # warm the token once, before the threads ask for it
    except WeChatError:
        pass  # each row meets the same failure and records it
    threads = max(1, rt.delivery_threads)
    lanes = min(LANES, threads)
    size = max(1, threads // lanes)
    chunks = [ids[start:start + size] for start in range(0, len(ids), size)]
    with ThreadPoolExecutor(threads, thread_name_prefix="send") as senders, \
            ThreadPoolExecutor(lanes, thread_name_prefix="lane") as lane_pool:
        for labels in lane_pool.map(lambda chunk: _deliver(rt, chunk, senders), chunks):
            for label in labels:
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


def _queue_busy(queue) -> bool:
    try:
        return queue.count > 0
    except Exception:  # Redis down: hand_over will fail too and the next round tries again
        return False


def send_digests(day: str | None = None) -> dict[str, int]:
    """Fold each staff member's waiting digest items into one long-term message (the daily digest).

    Side effects: one outbox row (event staff_digest) per staff member with items, handed over after commit;
    the items are stamped digested in the same commit.
    """
    from .digest import build_digests
    from .periodic import check_due

    # Announce what has come due first: another worker's sweep may be announcing it at this very moment, and it
    # belongs in today's digest (the marks in `notices` keep each announcement to one, whoever makes it).
    check_due()
    rt = runtime()
    with rt.session() as session:
        made = build_digests(session)
        session.commit()
    return {"digests": made}

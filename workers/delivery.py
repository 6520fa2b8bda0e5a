"""The delivery job: every WeChat message (a receipt, a fan-out) and every content check goes this one way.

`deliver` claims what is due, calls WeChat with many calls in flight on the process's thread pool but one at a
time per openid (WeChat answers 43108 to concurrent sends to one user), records the outcomes, and loops while
anything is due. The claim is committed before WeChat is called, so a row is never sent twice whatever RQ or
the sweep do. A transient failure puts the row back to pending with its `next_attempt_at` (the one retry
mechanism: the next loop or the sweep's wake-up claims it when due).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections import Counter

from sqlalchemy import exists, func, or_, select, text
from sqlalchemy.orm import aliased

from models import Notification, NotificationState, utcnow
from models.message_templates import TEMPLATES
from models.notify import exhaust_subscription as ledger_exhaust
from models.notify import hold_empty_ledger
from models.notify import left_on_ledger as ledger_left
from models.notify import refund_subscription as ledger_refund
from models.notify import spend_subscription as ledger_spend
from models.notify import spend_subscriptions as ledger_spend_many
from models.outbox import move_notifications
from web.settings import template_id as template_of
from wechat import WeChatError, WeChatNoSubscription, WeChatOutcomeUnknown, WeChatRetryable
from wechat.errors import WeChatUserBusy

from . import content_checks, rendering
from .queues import BUCKET, wake
from .runtime import runtime

log = logging.getLogger(__name__)
N = NotificationState
MAX_RUN = 5.0  # seconds a job works before it hands on to the current bucket's job (others wait in the queue)
TAIL = 0.1  # seconds past its bucket's end a job still looks, for the clocks of web nodes and workers to differ
POLL = 0.05  # seconds between looks while a job waits for its bucket to end
LINGER = 2.0  # a row coming due this soon (a short retry) is waited for instead of left to the sweep
USER_BUSY_DELAY = 1.0  # seconds before a send WeChat refused with 43108 is tried again


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
    busy: bool = False  # WeChat said 43108: another call to this user was in flight


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
STATES = {"sent": N.sent, "undeliverable": N.undeliverable, "needs_review": N.needs_review, "failed": N.failed}


def deliver(bucket: int | None = None, held: bool = False) -> dict[str, int]:
    """Deliver every due outbox row and run every waiting content check; returns outcome counts.

    Side effects: two loops, deliveries here and content checks on a thread of their own (a slow check never
    holds a receipt back), each claiming what is due, calling WeChat and recording the outcomes while anything
    is due, for at most MAX_RUN seconds (then the current bucket's job is woken to go on). With `bucket` (a job
    woken by commits) neither returns before that bucket has ended, so a row committed meanwhile is never left
    waiting for the sweep. `held`: complaints whose check failed for a transient reason are checked again.
    """
    rt = runtime()
    try:
        _ = rt.wechat.access_token  # fetched before any claim: a worker stuck on WeChat's token holds no row
    except WeChatError:
        pass  # each call meets the same failure and records it
    until = (bucket + 1) * BUCKET + TAIL if bucket is not None else 0.0
    sent: Counter[str] = Counter()
    checked: Counter[str] = Counter()
    left: list[bool] = []  # whether the checks' loop stopped with work left
    sending = threading.Event()  # the last delivery round found rows to send

    def send(counts: Counter) -> int:
        done = deliver_due(rt, counts, pool)
        if done:
            sending.set()
        else:
            sending.clear()
        return done

    def checks() -> None:
        rounds = iter([held])  # the first round retries held checks if asked, the next ones never

        def check(counts: Counter) -> int:
            if sending.is_set():
                time.sleep(POLL)  # receipts first: a pause between check rounds while rows wait to be sent
            return len(content_checks.check_due(rt, counts, held=next(rounds, False), pool=pool))

        left.append(_loop(check, checked, until, lambda: None))

    with rt.calls_pool() as pool:
        checker = threading.Thread(target=checks, name="content-checks")
        checker.start()
        try:
            unfinished = _loop(send, sent, until, lambda: _next_due(rt))
        finally:
            checker.join()
    if unfinished or any(left):
        wake(rt.queue)  # more is due: the current bucket's jobs go on, queued behind whatever waits
    return dict(sent + checked)


def _loop(work, counts: Counter, until: float, next_due) -> bool:
    """Run `work` while it finds something to do, then until `until` (wall clock) and while `next_due()` says
    a retry comes due within LINGER; True if it stopped after MAX_RUN with work left."""
    started = time.monotonic()
    while True:
        if work(counts):
            if time.monotonic() - started < MAX_RUN:
                continue
            return True
        soon = next_due()
        now = time.time()
        if soon is None and now >= until:
            return False
        time.sleep(POLL if now < until or soon is None else max(soon, 0.01))


def deliver_due(rt, counts: Counter, pool=None) -> int:
    """Claim up to one row per openid (as many as the pool sends at once), send them, record; returns how many.

    Side effects: two commits (the claim, then the outcomes); WeChat calls on `pool` (one after another without).
    """
    with rt.session() as session:
        claimed, finished = _claim(session, rt.delivery_threads)
        counts.update(finished)
        if not claimed:
            return len(finished)
        if pool is None or len(claimed) == 1:
            outcomes = [_send(rt, row) for row in claimed]
        else:
            outcomes = list(pool.map(lambda row: _send(rt, row), claimed))
        _relaxed_commit(session)
        sent = [row.id for row, outcome in zip(claimed, outcomes, strict=True)
                if outcome.label == "sent" and outcome.error is None]
        mine: set[int] = set()
        if sent:  # the common case, in one statement
            mine = set(move_notifications(session, Notification.id.in_(sent), from_=N.sending, to=N.sent,
                                          returning=(Notification.id,), last_error=None, next_attempt_at=None,
                                          finished_at=utcnow()).scalars().all())
        counts.update(("sent" if row.id in mine else "lost claim") if outcome.label == "sent" and outcome.error is None
                      else _record(session, row, outcome, rt.retry_intervals)
                      for row, outcome in zip(claimed, outcomes, strict=True))
        session.commit()
    return len(claimed) + len(finished)


def _claim(session, limit: int) -> tuple[list[_Claimed], list[str]]:
    """Due pending rows -> sending, at most one per openid and none for an openid with a send in flight,
    committed before WeChat is called; spends the ledger. Returns the rows to send and the labels of those
    finished without a call.

    Whoever wins a row sends it (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two workers take different rows;
    SQLite: the update's `state = pending` decides). Rows whose resident's ledger is known to be empty are
    finished undeliverable (no_quota) in the same commit without calling WeChat.
    """
    now = utcnow()
    busy = aliased(Notification)
    candidates = session.execute(
        select(Notification.id, Notification.openid)
        .where(Notification.state == N.pending,
               or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now),
               ~exists().where(busy.state == N.sending, busy.openid == Notification.openid))
        .order_by(Notification.id).limit(limit * 4)
        .with_for_update(skip_locked=True, of=Notification)).all()
    picked, seen = [], set()
    for row_id, openid in candidates:
        if openid is not None and openid in seen:
            continue  # this user's next message goes in a later round, after this one is answered
        seen.add(openid)
        picked.append(row_id)
        if len(picked) == limit:
            break
    if not picked:
        session.rollback()
        return [], []
    claimed = [_Claimed(*row) for row in move_notifications(
        session, Notification.id.in_(picked), from_=N.pending, to=N.sending, returning=CLAIM_COLUMNS,
        claimed_at=now, attempts=Notification.attempts + 1).all()]
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
        seen_residents: set[int] = set()
        first = [r for r in rows if not (r.recipient_id in seen_residents or seen_residents.add(r.recipient_id))]
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


def _next_due(rt) -> float | None:
    """Seconds until the next pending row comes due, if within LINGER (a short retry worth waiting for)."""
    now = utcnow()
    with rt.session() as session:
        soonest = session.scalar(select(func.min(Notification.next_attempt_at)).where(
            Notification.state == N.pending, Notification.next_attempt_at > now,
            Notification.next_attempt_at <= now + dt.timedelta(seconds=LINGER)))
    if soonest is None:
        return None
    soonest = soonest if soonest.tzinfo else soonest.replace(tzinfo=dt.UTC)
    return max((soonest - now).total_seconds(), 0.0)


def _send(rt, row: _Claimed) -> _Outcome:
    """Call WeChat for one claimed row and classify the answer. No database access but the guarded re-send."""
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
        # the row's id rides on the page's query (n=), so the mini-program can tell which message was tapped
        joined = f"{page}{'&' if '?' in page else '?'}n={row.id}"
        rt.wechat.send_subscribe_message(row.openid, template_id, data, page=joined,
                                         miniprogram_state=rt.settings.miniprogram_state)
    except WeChatNoSubscription as exc:
        return _Outcome("undeliverable", f"{exc.errcode}: {exc.errmsg}", exhausted=True)
    except WeChatOutcomeUnknown as exc:
        return _Outcome("unknown", f"outcome_unknown: {exc.errmsg}; WeChat may have delivered it")
    except WeChatUserBusy as exc:
        return _Outcome("retry", f"{exc.errcode}: {exc.errmsg}", busy=True)
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
    attempts = row.attempts - 1 if outcome.busy else row.attempts  # a 43108 is WeChat's "not now", not an attempt
    if outcome.busy:
        retry_at = utcnow() + dt.timedelta(seconds=USER_BUSY_DELAY)
    elif label == "retry":
        intervals = retry_intervals or []
        if row.attempts > len(intervals):
            label, error = ("needs_review" if ambiguous else "failed"), f"gave up after {row.attempts} attempts; " \
                                                                        f"last: {error}"
        else:
            retry_at = utcnow() + dt.timedelta(seconds=intervals[row.attempts - 1])
    if ambiguous and label in ("retry", "needs_review") and error and not error.startswith(AMBIGUOUS):
        error = AMBIGUOUS + error
    done = move_notifications(session, Notification.id == row.id, from_=N.sending,
                              to=N.pending if retry_at else STATES[label], last_error=error and error[:400],
                              attempts=attempts, next_attempt_at=retry_at,
                              finished_at=None if retry_at else utcnow()).rowcount
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

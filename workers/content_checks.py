"""Content checks: a new complaint's text goes through msgSecCheck before it enters triage.

Run by the delivery job (`workers.delivery.deliver`) in each of its rounds, on the same thread pool and with
the same rule: many checks in flight, one at a time per resident.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import select

from models import SYSTEM, Complaint, ComplaintState, Resident, transition_complaint
from models.errors import Conflict
from wechat import WeChatError, WeChatRetryable, WeChatUserInactive

from .runtime import runtime

HELD = "held"  # WeChat could not be reached: the complaint stays submitted until the sweep has it checked again


def check_due(rt, counts: Counter, *, held: bool = False, ids: list[int] | None = None,
              pool=None) -> dict[int, str]:
    """Check the text of complaints waiting in `submitted` and let each into triage, flagged if WeChat says so.

    Takes those never checked (with `held`, also those WeChat could not check before; with `ids`, exactly
    those), at most XINMA_DELIVERY_THREADS, calling WeChat on `pool` (one after another without). Returns each
    complaint's verdict (HELD if WeChat was unreachable). Side effects: PostgreSQL locks the complaints (`FOR
    UPDATE SKIP LOCKED`, so two workers take different ones) for the calls; each accepted complaint is moved by
    `transition_complaint` as a compare-and-set; one commit.
    """
    query = (select(Complaint.id, Complaint.text, Resident.openid, Complaint.state_changed_at)
             .join(Resident, Resident.id == Complaint.resident_id)
             .where(Complaint.state == ComplaintState.submitted))
    if ids is not None:
        query = query.where(Complaint.id.in_(ids))
    elif not held:
        query = query.where(Complaint.content_check.is_(None))
    with rt.session() as session:
        rows = session.execute(query.order_by(Complaint.id).limit(max(1, rt.delivery_threads))
                               .with_for_update(skip_locked=True, of=Complaint)).all()
        if not rows:
            session.rollback()
            return {}
        by_user: dict[str | int, list] = defaultdict(list)
        for row in rows:
            by_user[row.openid or -row.id].append(row)
        groups = list(by_user.values())
        if pool is None or len(groups) == 1:
            results = [_check_one_user(rt, group) for group in groups]
        else:
            results = list(pool.map(lambda group: _check_one_user(rt, group), groups))
        verdicts = {}
        for row, (verdict, data) in ((row, result) for group, found in zip(groups, results, strict=True)
                                     for row, result in zip(group, found, strict=True)):
            complaint = session.get(Complaint, row.id)
            if verdict != HELD or complaint.content_check != HELD:  # held again: nothing new to write
                try:
                    transition_complaint(session, complaint, "hold" if verdict == HELD else "accept", actor=SYSTEM,
                                         data={"content_check": verdict, **data}, expect=row.state_changed_at,
                                         values={"content_check": verdict})
                except Conflict:  # another worker checked it first (SQLite, where nothing is locked)
                    session.expire(complaint)
                    continue
            verdicts[row.id] = verdict
            counts[f"content_{verdict}"] += 1
        session.commit()
    return verdicts


def _check_one_user(rt, rows) -> list[tuple[str, dict]]:
    """msgSecCheck each of one resident's complaints in turn; no database access (runs on the pool)."""
    return [_check(rt, row.openid, row.text) for row in rows]


def _check(rt, openid: str | None, content: str) -> tuple[str, dict]:
    # msgSecCheck v2 needs the openid of a recently active user. Text WeChat cannot check (an H5 resident has no
    # openid) is never let through unchecked: it goes to staff's manual review queue instead.
    if not openid:
        return "review", {"unchecked": "no_openid"}
    try:
        return rt.wechat.msg_sec_check(openid, content).suggest, {}
    except WeChatUserInactive:
        return "review", {"unchecked": "user_inactive"}
    except WeChatRetryable:
        return HELD, {}
    except WeChatError as exc:  # WeChat refused the check itself: staff look at the text instead
        return "review", {"unchecked": "wechat_error", "errcode": exc.errcode}


def check_complaint_content(complaint_id: int) -> str:
    """Check one complaint now, as the delivery job would; returns its verdict, or "not submitted".

    Side effects: see `check_due`.
    """
    verdicts = check_due(runtime(), Counter(), ids=[int(complaint_id)])
    return verdicts.get(int(complaint_id), "not submitted")

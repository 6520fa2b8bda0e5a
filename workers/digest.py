"""The staff daily digest: many small staff events become one long-term message per person per day."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from council.coverage import due_for_staff
from models import Staff, StaffRole, utcnow
from models.base import CHINA
from models.lifecycle import notify
from models.notify import DigestItem, claim_notice

# How each digest event is counted in the one-line summary (a `thing` field: 20 characters at most).
LABELS = {"complaint_new_in_unit": "新反映", "triage_overdue": "分拣逾期", "implementation_overdue": "落实逾期"}
SUMMARY_LIMIT = 20
DUE_SOON_DAYS = 7  # a secretary without other news hears of their next council this many days ahead


def council_due(session: Session, staff: Staff, today: dt.date) -> tuple[str, bool] | None:
    """The secretary's line about their next council (the soonest due of their units with a cadence), and whether
    it calls for a digest by itself (overdue, or due within DUE_SOON_DAYS); None without a cadence."""
    dues = due_for_staff(session, staff, today)
    if not dues:
        return None
    first = dues[0]
    when = f"{first.next_due.month}月{first.next_due.day}日"
    if first.overdue:
        return f"议事会逾期：应于{when}前召开", True
    return f"议事会应于{when}前召开", (first.next_due - today).days <= DUE_SOON_DAYS


def build_digests(session: Session, now: dt.datetime | None = None) -> int:
    """Write one staff_digest outbox row per staff member with waiting items, and per secretary whose council is
    due within DUE_SOON_DAYS or overdue (once a day); returns how many. A secretary's digest tells when their
    council is next due (议事频次): first when it is soon or overdue, else after the counts if the message's 20
    characters still hold it.

    Side effects: adds the rows (handed to RQ after the caller's commit), stamps the items digested and marks the
    day's council reminder given (notices).
    """
    items = session.scalars(select(DigestItem).where(DigestItem.digested_at.is_(None))
                            .order_by(DigestItem.staff_id, DigestItem.id).with_for_update(skip_locked=True)).all()
    per_staff: dict[int, list[DigestItem]] = defaultdict(list)
    for item in items:
        per_staff[item.staff_id].append(item)
    now = now or utcnow()
    today = now.astimezone(CHINA).date()
    secretaries = session.scalars(select(Staff).where(Staff.role == StaffRole.secretary, Staff.active.is_(True))
                                  .order_by(Staff.id)).all()
    due = {s.id: line for s in secretaries if (line := council_due(session, s, today)) is not None}
    made = 0
    for staff_id in sorted(set(per_staff) | {sid for sid, (_, urgent) in due.items() if urgent}):
        mine = per_staff.get(staff_id, [])
        staff = session.get(Staff, staff_id)
        counts: dict[str, int] = defaultdict(int)
        for item in mine:
            counts[item.event] += 1
            item.digested_at = now
        if staff is None or not staff.active:
            continue
        if not mine and not claim_notice(session, f"council_due:{today:%Y%m%d}", staff.id):
            continue  # today's council reminder went out already
        line, urgent = due.get(staff_id, (None, False))
        parts = [line] if urgent else []
        for part in [f"{LABELS.get(event, event)}{n}件" for event, n in counts.items()] + ([] if urgent else [line]):
            if part and (not parts or len("，".join([*parts, part])) <= SUMMARY_LIMIT):
                parts.append(part)
        notify(session, "staff_digest", recipient_kind="staff", recipient_id=staff.id, openid=staff.openid,
               params={"summary": "，".join(parts), "count": str(max(len(mine), 1)), "at": now.isoformat()})
        made += 1
    session.flush()
    return made


def due_today(now: dt.datetime, hour: int) -> str | None:
    """The digest's day key (YYYYMMDD, China time) once today's digest hour has come, else None."""
    local = now.astimezone(CHINA)
    return local.strftime("%Y%m%d") if local.hour >= hour else None

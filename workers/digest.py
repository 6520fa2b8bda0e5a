"""The staff daily digest: many small staff events become one long-term message per person per day."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Staff, utcnow
from models.base import CHINA
from models.lifecycle import notify
from models.notify import DigestItem

# How each digest event is counted in the one-line summary (a `thing` field: 20 characters at most).
LABELS = {"complaint_new_in_unit": "新反映", "triage_overdue": "分拣逾期", "implementation_overdue": "落实逾期"}


def build_digests(session: Session) -> int:
    """Write one staff_digest outbox row per staff member with waiting items; returns how many.

    Side effects: adds the rows (handed to RQ after the caller's commit) and stamps the items digested.
    """
    items = session.scalars(select(DigestItem).where(DigestItem.digested_at.is_(None))
                            .order_by(DigestItem.staff_id, DigestItem.id).with_for_update(skip_locked=True)).all()
    per_staff: dict[int, list[DigestItem]] = defaultdict(list)
    for item in items:
        per_staff[item.staff_id].append(item)
    now = utcnow()
    made = 0
    for staff_id, mine in per_staff.items():
        staff = session.get(Staff, staff_id)
        counts: dict[str, int] = defaultdict(int)
        for item in mine:
            counts[item.event] += 1
            item.digested_at = now
        if staff is None or not staff.active:
            continue
        summary = "，".join(f"{LABELS.get(event, event)}{n}件" for event, n in counts.items())
        notify(session, "staff_digest", recipient_kind="staff", recipient_id=staff.id, openid=staff.openid,
               params={"summary": summary, "count": str(len(mine)), "at": now.isoformat()})
        made += 1
    session.flush()
    return made


def due_today(now: dt.datetime, hour: int) -> str | None:
    """The digest's day key (YYYYMMDD, China time) once today's digest hour has come, else None."""
    local = now.astimezone(CHINA)
    return local.strftime("%Y%m%d") if local.hour >= hour else None

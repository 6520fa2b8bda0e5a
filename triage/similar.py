"""Similar open complaints: the SQL narrows to the same community, category and open states; Python scores.

The score is the Dice coefficient of the texts' character bigrams, which suits Chinese without a word segmenter.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Complaint, ComplaintState, Staff, UnitLevel, utcnow
from models.scope import nearest

OPEN = (ComplaintState.submitted, ComplaintState.awaiting_triage, ComplaintState.promoted)
WINDOW_DAYS = 180
CANDIDATES = 500
THRESHOLD = 0.25
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


def bigrams(text: str) -> frozenset[str]:
    chars = _NOISE.sub("", text.lower())
    if len(chars) < 2:
        return frozenset([chars]) if chars else frozenset()
    return frozenset(chars[i:i + 2] for i in range(len(chars) - 1))


def dice(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


@dataclasses.dataclass(frozen=True)
class Match:
    id: int
    text: str
    unit_name: str
    state: ComplaintState
    topic_id: int | None
    created_at: dt.datetime
    score: float


def similar(session: Session, staff: Staff, complaint: Complaint, *, limit: int = 5) -> list[Match]:
    """Open complaints of the same category in the complaint's community (its own and sibling grids) that the worker
    may see, most similar first; reads only."""
    from .services import scope_units

    area = nearest(complaint.unit, UnitLevel.community) or complaint.unit
    names = {u.id: u.name for u in scope_units(session, staff) if u.path.startswith(area.path)}
    since = utcnow() - dt.timedelta(days=WINDOW_DAYS)
    rows = session.execute(
        select(Complaint.id, Complaint.text, Complaint.unit_id, Complaint.state, Complaint.topic_id,
               Complaint.created_at)
        .where(Complaint.unit_id.in_(list(names)),
               Complaint.category == complaint.category, Complaint.state.in_(OPEN),
               Complaint.id != complaint.id, Complaint.created_at >= since)
        .order_by(Complaint.created_at.desc())
        .limit(CANDIDATES)
    ).all()
    mine = bigrams(complaint.text)
    scored = [Match(r[0], r[1], names[r[2]], r[3], r[4], r[5], round(dice(mine, bigrams(r[1])), 2)) for r in rows]
    scored = [m for m in scored if m.score >= THRESHOLD]
    scored.sort(key=lambda m: (-m.score, m.id))
    return scored[:limit]

"""Council jobs: reminders before meetings and the daily digest of overdue 领办 items.

Both are safe to run at any time: a meeting is reminded once (claimed on its row). Neither needs scheduling:
the sweep process of `xinma worker` runs the same reminders and announces each overdue 领办 once in the
staff daily digest (`workers.periodic`); these jobs remain for running by hand.
"""

from __future__ import annotations

import datetime as dt

from council.implementation import send_overdue_digest
from council.meetings import send_reminders
from models import utcnow
from models.base import CHINA

from .runtime import runtime

REMIND_AHEAD = dt.timedelta(hours=24)


def remind_meetings(ahead_hours: float | None = None) -> int:
    """Remind registered residents of meetings starting within the next day; writes outbox rows, commits."""
    ahead = dt.timedelta(hours=ahead_hours) if ahead_hours is not None else REMIND_AHEAD
    with runtime().session() as session:
        sent = send_reminders(session, now=utcnow(), ahead=ahead)
        session.commit()
    return sent


def overdue_digest() -> int:
    """Tell each unit's secretary how many of its 领办 items are past due, in one message; commits."""
    now = utcnow()
    with runtime().session() as session:
        sent = send_overdue_digest(session, today=now.astimezone(CHINA).date(), now=now)
        session.commit()
    return sent

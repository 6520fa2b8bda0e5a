"""The staff daily digest: enqueued once a day by the sweep process, built by its job."""

from __future__ import annotations

from models import utcnow

from .digest import build_digests, due_today
from .queues import enqueue
from .runtime import runtime


def schedule_digest(rt) -> bool:
    """Enqueue today's staff digest once, after XINMA_DIGEST_HOUR (China time, default 8).

    Side effects: a Redis SET NX marker per day, so many workers enqueue it once; should Redis lose the
    marker, a second run finds no undigested items and sends nothing twice.
    """
    day = due_today(utcnow(), rt.settings.digest_hour)
    if day is None:
        return False
    queue = rt.queue
    if not queue.connection.set(f"xinma:digest:{day}", "1", nx=True, ex=2 * 86400):
        return False
    return enqueue(queue, [("digest", day)]) >= 0


def send_digests(day: str | None = None) -> dict[str, int]:
    """Fold each staff member's waiting digest items into one long-term message (the daily digest).

    Side effects: one outbox row (event staff_digest) per staff member with items, handed to the delivery job
    after commit; the items are stamped digested in the same commit.
    """
    from .periodic import check_due

    # Announce what has come due first: another worker's sweep may be announcing it at this very moment, and it
    # belongs in today's digest (the marks in `notices` keep each announcement to one, whoever makes it).
    check_due()
    rt = runtime()
    with rt.session() as session:
        made = build_digests(session)
        session.commit()
    return {"digests": made}

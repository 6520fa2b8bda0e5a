"""What the hotspot tests share: the small labelled set loaded into the demo district as open complaints."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select

from models import Complaint, ComplaintState, Resident, Unit, utcnow

SMALL = Path(__file__).parent / "data" / "small.json"


def labelled() -> list[dict]:
    return json.loads(SMALL.read_text(encoding="utf-8"))["complaints"]


# The pages' tests: the small set's clear matters, 梁堂村's dogs said more alike (the small set's dogs are a test of
# recall, kept for the quality test), and noise that belongs to no hotspot.
DOGS = ["村里的狗不拴绳，追着上学的孩子跑", "遛狗不拴绳，昨天差点咬到我家孩子", "大黄狗不拴绳在路口乱窜，吓到老人了",
        "好几条狗不拴绳到处乱跑，晚上不敢出门"]


def page_set() -> list[dict]:
    rows = [r for r in labelled() if r["gold"] in ("wire_lt", "dance_pc", "fee_pc", "lights_hw", "noise_2",
                                                   "noise_4", "noise_6", "noise_7", "noise_9")]
    rows += [{"unit": "梁堂村第一网格", "category": "饲养宠物", "resident": 40 + n, "gold": "dogs_lt", "text": text}
             for n, text in enumerate(DOGS)]
    return rows


def load_small_set(session, rows: list[dict] | None = None, *, days_ago: float = 1.0) -> dict[int, str]:
    """Each complaint of the small set (or `rows`) written awaiting triage in its demo grid, by its resident (one
    openid per resident number); returns complaint id -> gold label. The demo district must be seeded."""
    rows = labelled() if rows is None else rows
    units = {u.name: u for u in session.scalars(select(Unit))}
    residents: dict[int, Resident] = {}
    gold = {}
    for n, row in enumerate(rows):
        who = residents.get(row["resident"])
        if who is None:
            who = residents[row["resident"]] = Resident(openid=f"o-hotspot-{row['resident']}", created_at=utcnow())
            session.add(who)
        at = utcnow() - dt.timedelta(days=days_ago, minutes=len(rows) - n)
        complaint = Complaint(unit=units[row["unit"]], resident=who, category=row["category"], text=row["text"],
                              state=ComplaintState.awaiting_triage, created_at=at, state_changed_at=at)
        session.add(complaint)
        session.flush()
        gold[complaint.id] = row["gold"]
    session.commit()
    return gold

"""Small factories for rows the tests set up directly."""

from __future__ import annotations

import itertools

from werkzeug.security import generate_password_hash

from models import Complaint, ComplaintState, Resident, Staff, StaffRole, Topic, TopicState, Unit, UnitLevel, utcnow
from qr.demo import add_unit

_seq = itertools.count(1)
PASSWORD = "correct horse battery"
PASSWORD_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")  # cheap: made once, for tests


def units(session) -> dict[str, Unit]:
    """A district with one street, two communities, and two grids in the first."""
    district = add_unit(session, f"D{next(_seq)}", "测试区", UnitLevel.district, None)
    street = add_unit(session, f"S{next(_seq)}", "测试街道", UnitLevel.street, district)
    community = add_unit(session, f"C{next(_seq)}", "幸福社区", UnitLevel.community, street)
    other = add_unit(session, f"C{next(_seq)}", "和谐社区", UnitLevel.community, street)
    grid = add_unit(session, f"G{next(_seq)}", "幸福社区第一网格", UnitLevel.grid, community)
    other_grid = add_unit(session, f"G{next(_seq)}", "和谐社区第一网格", UnitLevel.grid, other)
    return {"district": district, "street": street, "community": community, "other": other, "grid": grid,
            "other_grid": other_grid}


def staff(session, role: StaffRole, *covered: Unit, openid: str | None = None, username: str | None = None) -> Staff:
    person = Staff(username=username or f"user{next(_seq)}", display_name=f"工作人员{next(_seq)}",
                   password_hash=PASSWORD_HASH, role=role, openid=openid, units=list(covered),
                   created_at=utcnow())
    session.add(person)
    session.flush()
    return person


def resident(session, openid: str | None = None) -> Resident:
    person = Resident(openid=openid or f"o-resident-{next(_seq)}", created_at=utcnow())
    session.add(person)
    session.flush()
    return person


def complaint(session, unit: Unit, who: Resident, state: ComplaintState = ComplaintState.awaiting_triage,
              text: str = "楼道灯坏了一个月", topic: Topic | None = None) -> Complaint:
    now = utcnow()
    row = Complaint(unit=unit, resident=who, category="设施维修", text=text, state=state, created_at=now,
                    state_changed_at=now, topic=topic)
    if state == ComplaintState.merged:
        row.merged_into_id = complaint(session, unit, who).id
    session.add(row)
    session.flush()
    return row


def topic(session, unit: Unit, state: TopicState = TopicState.proposed, title: str = "楼道照明改造") -> Topic:
    now = utcnow()
    row = Topic(unit=unit, title=title, summary="", category="livelihood", state=state, created_at=now,
                state_changed_at=now)
    session.add(row)
    session.flush()
    return row

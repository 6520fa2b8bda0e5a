"""A demo district for `xinma up`: units from district to grid, staff for each role, a code per unit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from models import CouncilRoom, Staff, StaffRole, Unit, UnitLevel, utcnow

from .services import issue_code

DEMO_PASSWORD = "xinma-demo"

# (code, name, level, parent code, council room)
UNITS = [
    ("320312", "铜山区", UnitLevel.district, None, None),
    ("320312100", "张集镇", UnitLevel.street, "320312", "张集镇有事好商量协商议事室"),
    ("320312100201", "梁堂村", UnitLevel.community, "320312100", "梁堂村协商议事室"),
    ("320312100201-01", "梁堂村第一网格", UnitLevel.grid, "320312100201", None),
    ("320312100201-02", "梁堂村第二网格", UnitLevel.grid, "320312100201", None),
    ("320312100202", "汉王村", UnitLevel.community, "320312100", "汉王村协商议事室"),
    ("320312100202-01", "汉王村第一网格", UnitLevel.grid, "320312100202", None),
    ("320312001", "三堡街道", UnitLevel.street, "320312", None),
    ("320312001001", "彭城社区", UnitLevel.community, "320312001", "彭城社区19点议事厅"),
    ("320312001001-01", "彭城社区第一网格", UnitLevel.grid, "320312001001", None),
]

# (username, name, role, unit codes, openid)
STAFF = [
    ("admin", "区管理员", StaffRole.admin, ["320312"], None),
    ("wangge1", "李网格员", StaffRole.grid_worker, ["320312100201-01", "320312100201-02"], "demo-grid-liangtang"),
    ("wangge2", "赵网格员", StaffRole.grid_worker, ["320312100202-01"], "demo-grid-hanwang"),
    ("wangge3", "孙网格员", StaffRole.grid_worker, ["320312001001-01"], "demo-grid-pengcheng"),
    ("shuji1", "王书记", StaffRole.secretary, ["320312100201"], "demo-secretary-liangtang"),
    ("shuji2", "陈书记", StaffRole.secretary, ["320312100202"], "demo-secretary-hanwang"),
    ("shuji3", "刘书记", StaffRole.secretary, ["320312001001"], "demo-secretary-pengcheng"),
]


def add_unit(session: Session, code: str, name: str, level: UnitLevel, parent: Unit | None) -> Unit:
    """Add one unit under `parent`, with its materialised path."""
    unit = Unit(code=code, name=name, level=level, parent=parent, created_at=utcnow())
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path if parent else '/'}{unit.id}/"
    return unit


def seed_demo(session: Session) -> bool:
    """Create the demo district if the database has no units; False if it already had some."""
    if session.scalar(select(Unit.id).limit(1)) is not None:
        return False
    units: dict[str, Unit] = {}
    for code, name, level, parent, room in UNITS:
        units[code] = add_unit(session, code, name, level, units.get(parent) if parent else None)
        if room:
            session.add(CouncilRoom(unit_id=units[code].id, name=room, created_at=utcnow()))
        issue_code(session, units[code])
    password = generate_password_hash(DEMO_PASSWORD)
    for username, name, role, codes, openid in STAFF:
        session.add(Staff(username=username, display_name=name, password_hash=password, role=role, openid=openid,
                          units=[units[c] for c in codes], created_at=utcnow()))
    session.flush()
    return True

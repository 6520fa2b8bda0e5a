"""Which units a staff member may see and act in: the units they cover and everything below them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from .entities import Staff, Unit


def scope_clause(staff: Staff, unit_column=None) -> ColumnElement[bool]:
    """A WHERE clause true for rows whose unit lies in the staff member's scope."""
    unit_column = unit_column if unit_column is not None else Unit.id
    if not staff.units:
        return unit_column.in_([])
    subtree = select(Unit.id).where(or_(*[Unit.path.startswith(u.path) for u in staff.units]))
    return unit_column.in_(subtree)


def in_scope(staff: Staff, unit: Unit) -> bool:
    return any(unit.path.startswith(u.path) for u in staff.units)


def units_in_scope(session: Session, staff: Staff) -> list[Unit]:
    return list(session.scalars(select(Unit).where(scope_clause(staff)).order_by(Unit.path)))


def nearest(unit: Unit, level) -> Unit | None:
    """The unit itself or its nearest ancestor at `level` (a grid's community, say)."""
    while unit is not None and unit.level != level:
        unit = unit.parent
    return unit

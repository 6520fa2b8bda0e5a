"""Triage data: per-district rule sets and reason codes, complaint categories, the district's own days off and
working days, meeting cadences, home visits, sign-in lock-outs, invitations, and the short-lived codes that bind a
staff account to its WeChat openid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    cast,
    literal,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, enum_column, intpk, str32, str64, str200, timestamp, utcnow
from .entities import StaffRole, Unit, UnitLevel


class RuleSet(Base):
    """A district's deliberation rules (三议四不议, 五不议, or its own), and its triage time limit in working days.

    A rule set with no unit is the default for districts that have none of their own.
    """

    __tablename__ = "rule_sets"

    id: Mapped[intpk]
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), unique=True)
    code: Mapped[str32]
    name: Mapped[str64]
    triage_days: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[timestamp]

    reasons: Mapped[list[RuleReason]] = relationship(back_populates="rule_set", order_by="RuleReason.position",
                                                     lazy="selectin", cascade="all, delete-orphan")


class RuleReason(Base):
    """One reason code of a rule set's "do not deliberate" list (四不议 has four, 五不议 five)."""

    __tablename__ = "rule_reasons"
    __table_args__ = (UniqueConstraint("rule_set_id", "code", name="rule_set_code"),)

    id: Mapped[intpk]
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("rule_sets.id"), index=True)
    code: Mapped[str32]
    label: Mapped[str200]
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    rule_set: Mapped[RuleSet] = relationship(back_populates="reasons")


class Holiday(Base):
    """A district's own day off that working-day deadlines skip, on top of the national calendar (weekends and
    public holidays are skipped anyway). `unit_id` is the district that set it (None: set before districts had
    their own calendar)."""

    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("unit_id", "day", name="uq_holidays_unit_day"),)

    id: Mapped[intpk]
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str64]
    created_at: Mapped[dt.datetime | None]


class WorkingDay(Base):
    """A district's own working day where the national calendar has a day off (a weekend or holiday worked)."""

    __tablename__ = "working_days"
    __table_args__ = (UniqueConstraint("unit_id", "day", name="uq_working_days_unit_day"),)

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    name: Mapped[str64]
    created_at: Mapped[timestamp]


class ComplaintCategory(Base):
    """One category residents choose from when they report, per district: renamed (its label) or retired by the
    district's admin. A complaint keeps the label it was filed under, so a retired category stays readable."""

    __tablename__ = "complaint_categories"
    __table_args__ = (UniqueConstraint("unit_id", "label", name="uq_complaint_categories_unit_label"),)

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the district
    label: Mapped[str32]
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[timestamp]
    retired_at: Mapped[dt.datetime | None]


def district_categories(session: Session, district_id: int, defaults: list[str], *,
                        with_retired: bool = False) -> list[ComplaintCategory]:
    """The district's categories in their order, creating the default list the first time a district is asked
    (so every district starts with `defaults`). Side effect: those rows on first use; no commit."""
    rows = list(session.scalars(select(ComplaintCategory).where(ComplaintCategory.unit_id == district_id)
                                .order_by(ComplaintCategory.position, ComplaintCategory.id)))
    if not rows:
        now = utcnow()
        rows = [ComplaintCategory(unit_id=district_id, label=label, position=i, created_at=now)
                for i, label in enumerate(defaults)]
        session.add_all(rows)
        session.flush()
    return rows if with_retired else [row for row in rows if row.retired_at is None]


_UNIT_CATEGORIES = (
    select(ComplaintCategory.label, ComplaintCategory.retired_at)
    .join(Unit, Unit.path.like(literal("/") + cast(ComplaintCategory.unit_id, String) + literal("/%")))
    .where(Unit.id == bindparam("unit_id")).order_by(ComplaintCategory.position, ComplaintCategory.id))


def active_categories(session: Session, unit_id: int, defaults: list[str]) -> list[str]:
    """The labels a resident of the unit may choose (its district's active categories), in one query and without
    writing: a district whose list was never touched offers `defaults`."""
    rows = session.connection().execute(_UNIT_CATEGORIES, {"unit_id": unit_id}).all()
    if not rows:
        return list(defaults)
    return [label for label, retired_at in rows if retired_at is None]


class MeetingCadence(Base):
    """How often councils of one level must meet in a district (议事频次), in months; 0: no fixed cadence.

    A unit's own `meeting_cadence_months` overrides it; a level the district never set uses DEFAULT_CADENCE.
    """

    __tablename__ = "meeting_cadences"
    __table_args__ = (UniqueConstraint("unit_id", "level", name="uq_meeting_cadences_unit_level"),)

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)  # the district
    level: Mapped[UnitLevel] = enum_column(UnitLevel)
    months: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[timestamp]


# Dongning's practice: a village (community) council every two months, a town (street) at least twice a year.
DEFAULT_CADENCE = {UnitLevel.street: 6, UnitLevel.community: 2}
CADENCE_LEVELS = (UnitLevel.street, UnitLevel.community)
CADENCE_LIMIT = 24


def level_cadences(session: Session, district_id: int) -> dict[UnitLevel, int]:
    """The district's cadence per level (months; 0: none), its own setting or the default."""
    own = dict(session.execute(select(MeetingCadence.level, MeetingCadence.months)
                               .where(MeetingCadence.unit_id == district_id)).all())
    return {level: own.get(level, DEFAULT_CADENCE.get(level, 0)) for level in UnitLevel}


def cadence_of(unit, by_level: dict[UnitLevel, int]) -> int:
    """The unit's cadence in months: its own override, else its level's (0: no fixed cadence)."""
    if unit.meeting_cadence_months is not None:
        return unit.meeting_cadence_months
    return by_level.get(unit.level, 0)


class HomeVisit(Base):
    """上门协商: a grid worker talked with the parties at home; the notes stay with the complaint."""

    __tablename__ = "home_visits"

    id: Mapped[intpk]
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    notes: Mapped[str] = mapped_column(Text)
    created_at: Mapped[timestamp]


class SignInThrottle(Base):
    """Failed sign-ins per username; after too many the account is locked for a while."""

    __tablename__ = "sign_in_throttles"

    id: Mapped[intpk]
    username: Mapped[str64] = mapped_column(unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    last_failure_at: Mapped[dt.datetime | None]


class Invitation(Base):
    """An admin's invitation link to create one staff account with a role and units; only the token's hash is kept."""

    __tablename__ = "staff_invitations"

    id: Mapped[intpk]
    token_hash: Mapped[str64] = mapped_column(unique=True)
    role: Mapped[StaffRole] = enum_column(StaffRole)
    display_name: Mapped[str64]
    unit_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[timestamp]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str | None] = mapped_column(String(200))


class StaffBindCode(Base):
    """A staff member's short-lived code (绑定码) for binding their WeChat to the account; only its hash is kept.

    One per staff member: a new code replaces the previous one. Used codes are deleted.
    """

    __tablename__ = "staff_bind_codes"

    id: Mapped[intpk]
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), unique=True)
    code_hash: Mapped[str64] = mapped_column(unique=True)
    created_at: Mapped[timestamp]
    expires_at: Mapped[dt.datetime]

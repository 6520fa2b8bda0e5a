"""Triage data: per-district rule sets and reason codes, holidays, home visits, sign-in lock-outs, invitations,
and the short-lived codes that bind a staff account to its WeChat openid."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, enum_column, intpk, str32, str64, str200, timestamp
from .entities import StaffRole


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
    """A day off that working-day deadlines skip (weekends are skipped anyway); a working weekend is not modelled."""

    __tablename__ = "holidays"

    id: Mapped[intpk]
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    name: Mapped[str64]


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

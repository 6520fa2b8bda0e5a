"""Tables behind unit codes: scans counted per unit and day, and the private tracking links of H5 reports."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, intpk, timestamp
from .entities import Complaint


class UnitScan(Base):
    """How many times a unit's code was opened on one day (China time)."""

    __tablename__ = "unit_scans"
    __table_args__ = (UniqueConstraint("unit_id", "day"),)

    id: Mapped[intpk]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    count: Mapped[int] = mapped_column(Integer, default=0)


class TrackingLink(Base):
    """The private link an H5 reporter follows their complaint by; only the token's hash is stored."""

    __tablename__ = "tracking_links"

    id: Mapped[intpk]
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[timestamp]

    complaint: Mapped[Complaint] = relationship(lazy="joined")

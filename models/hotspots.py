"""Hotspot data: the words of each complaint's text, segmented once and kept, so suggesting hotspots for a
community's open complaints reads words instead of segmenting every text on every page."""

from __future__ import annotations

from sqlalchemy import ForeignKey, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ComplaintTerms(Base):
    """A complaint's words (space-separated, in text order) as the segmenter of `version` made them; a row of an
    older version is made again (the words depend on the segmenter's dictionary, synonyms and stopwords)."""

    __tablename__ = "complaint_terms"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(SmallInteger)
    terms: Mapped[str] = mapped_column(Text)

"""The words kept per complaint: the sweep segments the newest open complaints and drops the words of decided ones,
and a page reads kept words instead of segmenting again."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from council.hotspot_services import TERMS_VERSION, hotspots, keep_terms
from models import Complaint, ComplaintState, Staff
from models.hotspots import ComplaintTerms

from .support import load_small_set, page_set


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def kept(session) -> dict[int, str]:
    session.expire_all()
    return dict(session.execute(select(ComplaintTerms.complaint_id, ComplaintTerms.terms)).all())


def test_the_sweep_keeps_the_words_of_open_complaints_and_drops_decided_ones(session):
    gold = load_small_set(session, page_set())
    decided = min(gold)
    session.execute(update(Complaint).where(Complaint.id == decided).values(state=ComplaintState.solved))
    session.commit()
    assert keep_terms(session, limit=5) == 5  # the newest five first
    session.commit()
    assert sorted(kept(session)) == sorted(gold)[-5:]
    assert keep_terms(session) == len(gold) - 1 - 5
    session.commit()
    assert sorted(kept(session)) == sorted(set(gold) - {decided})
    assert keep_terms(session) == 0
    # Decided since: its words are dropped at the next round (they serve no hotspot, and retention may remove the
    # text they came from).
    wiring = sorted(i for i, g in gold.items() if g == "wire_lt")
    session.execute(update(Complaint).where(Complaint.id == wiring[0]).values(state=ComplaintState.not_deliberable))
    session.commit()
    keep_terms(session)
    session.commit()
    assert wiring[0] not in kept(session)


def test_words_of_an_older_segmenter_are_made_again(session):
    gold = load_small_set(session, page_set())
    first = min(gold)
    session.add(ComplaintTerms(complaint_id=first, version=TERMS_VERSION - 1, terms="旧词"))
    session.commit()
    keep_terms(session)
    session.commit()
    words = kept(session)[first].split()
    assert "旧词" not in words and words  # made again by this segmenter
    assert session.get(ComplaintTerms, first).version == TERMS_VERSION


def test_the_page_reads_kept_words(session):
    gold = load_small_set(session, page_set())
    keep_terms(session)
    wiring = min(i for i, g in gold.items() if g == "wire_lt")
    # What the page reads is what was kept: words kept for a complaint are the ones it clusters on.
    session.execute(update(ComplaintTerms).where(ComplaintTerms.complaint_id == wiring).values(terms="猫 橘色"))
    session.commit()
    secretary = session.scalar(select(Staff).where(Staff.username == "shuji1"))
    spots = hotspots(session, secretary, cached=False)
    assert wiring not in {i for h in spots for i in h.ids}
    assert [h.count for h in spots if h.category == "飞线充电"] == [4]

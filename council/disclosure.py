"""两公开: publish a topic's decision and its result on the unit's public board."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DomainError, Staff, Topic, TopicState, Unit, UnitLevel, utcnow
from models.council import Publication, PublicationKind
from models.lifecycle import notify, residents_behind
from models.scope import nearest
from web.messages import PUBLICATION_KINDS

from . import forms

READY = {
    PublicationKind.decision: ({TopicState.agreed, TopicState.implementing, TopicState.implemented,
                                TopicState.closed}, "达成共识"),
    PublicationKind.result: ({TopicState.implemented, TopicState.closed}, "落实"),
}


def publications(session: Session, topic: Topic) -> list[Publication]:
    return list(session.scalars(select(Publication).where(Publication.topic_id == topic.id).order_by(Publication.id)))


def publish(session: Session, staff: Staff, topic: Topic, *, kind: str, text: str, published_on: str | None = None
            ) -> Publication:
    """Publish the decision (after consensus) or the result (after implementation); residents behind are told."""
    kind = PublicationKind(forms.choice(kind, PUBLICATION_KINDS, "publication_kind_unknown"))
    body = forms.text(text, "publication_text_empty", 5000)
    day = forms.date(published_on) if published_on else forms.today()
    states, needed = READY[kind]
    if topic.state not in states:
        raise DomainError("publication_not_ready", status=409, kind=PUBLICATION_KINDS[kind.value], needed=needed)
    if session.scalar(select(Publication.id).where(Publication.topic_id == topic.id, Publication.kind == kind)):
        raise DomainError("publication_duplicate", status=409)
    row = Publication(unit_id=topic.unit_id, topic_id=topic.id, kind=kind, text=body, published_on=day,
                      staff_id=staff.id, created_at=utcnow())
    session.add(row)
    session.flush()
    for complaint in residents_behind(session, topic):
        notify(session, "topic_published", recipient_kind="resident", recipient_id=complaint.resident_id,
               openid=complaint.resident.openid,
               params={"topic_id": topic.id, "title": topic.title, "kind": kind.value, "result": kind.value,
                       "at": utcnow().isoformat()})
    return row


def result_published(session: Session, topic: Topic) -> bool:
    """Whether the topic's result is on its board today (its progress photos are shown there only then)."""
    return session.scalar(select(Publication.id).where(
        Publication.topic_id == topic.id, Publication.kind == PublicationKind.result,
        Publication.published_on <= forms.today())) is not None


def board(session: Session, unit: Unit) -> tuple[Unit, list[Publication]]:
    """The public board a unit's residents see: its community's publications up to today, newest first."""
    owner = nearest(unit, UnitLevel.community) or unit
    rows = session.scalars(select(Publication).where(Publication.unit_id == owner.id,
                                                     Publication.published_on <= forms.today())
                           .order_by(Publication.published_on.desc(), Publication.id.desc()).limit(100))
    return owner, list(rows)

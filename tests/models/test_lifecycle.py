"""Walk every row of both transition tables, and a few that are not there."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import (
    Actor,
    AuditEvent,
    Complaint,
    ComplaintState,
    Conflict,
    Notification,
    StaffRole,
    TopicState,
    transition_complaint,
    transition_topic,
)
from models.lifecycle import (
    COMPLAINT_NOTIFY,
    COMPLAINT_TRANSITIONS,
    TOPIC_NOTIFY_RESIDENTS,
    TOPIC_TRANSITIONS,
    NewComplaint,
)
from tests import factories


@pytest.fixture
def world(db):
    u = factories.units(db)
    secretary = factories.staff(db, StaffRole.secretary, u["community"], openid="o-secretary")
    worker = factories.staff(db, StaffRole.grid_worker, u["grid"])
    return {"units": u, "secretary": secretary, "worker": worker}


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


@pytest.mark.parametrize(("before", "action"), list(COMPLAINT_TRANSITIONS), ids=lambda v: str(getattr(v, "value", v)))
def test_every_complaint_transition(db, world, before, action):
    grid = world["units"]["grid"]
    resident = factories.resident(db)
    topic = factories.topic(db, world["units"]["community"])
    actor = Actor.staff(world["worker"])
    if before is None:
        complaint = NewComplaint(unit_id=grid.id, unit_name=grid.name, resident_id=resident.id,
                                 openid=resident.openid, category="停车", text="车位被占")
    else:
        complaint = factories.complaint(db, grid, resident, state=before, topic=topic)
    if action == "promote":
        complaint.topic = topic
    if action == "merge":
        complaint.merged_into_id = factories.complaint(db, grid, resident).id
    audits, notes = _count(db, AuditEvent), _count(db, Notification)

    complaint = transition_complaint(db, complaint, action, actor=actor, reason="理由")
    db.flush()

    assert complaint.state == COMPLAINT_TRANSITIONS[(before, action)]
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.subject_kind, event.subject_id, event.action) == ("complaint", complaint.id, action)
    assert event.from_state == (before.value if before else None)
    assert event.to_state == complaint.state.value
    assert (event.actor_kind, event.actor_id, event.reason) == ("staff", world["worker"].id, "理由")
    assert _count(db, AuditEvent) == audits + 1
    new_notes = db.scalars(select(Notification).order_by(Notification.id).offset(notes)).all()
    if action in COMPLAINT_NOTIFY:
        assert [(n.event, n.openid) for n in new_notes] == [(COMPLAINT_NOTIFY[action], resident.openid)]
    elif action == "accept":  # now in the queue: its grid workers are told (in one gathering row each)
        assert [(n.event, n.recipient_kind, n.recipient_id) for n in new_notes] == [
            ("complaint_new_in_unit", "staff", world["worker"].id)]
    else:
        assert new_notes == []


@pytest.mark.parametrize(("before", "action"), list(TOPIC_TRANSITIONS), ids=lambda v: str(getattr(v, "value", v)))
def test_every_topic_transition(db, world, before, action):
    community = world["units"]["community"]
    alice, bob = factories.resident(db), factories.resident(db)
    if before is None:
        from models import Topic

        topic = Topic(unit=community, title="停车难", summary="", category="livelihood")
    else:
        topic = factories.topic(db, community, state=before)
        for who in (alice, bob, alice):  # alice has two complaints behind it: told once
            factories.complaint(db, world["units"]["grid"], who, state=ComplaintState.promoted, topic=topic)
    notes = _count(db, Notification)
    data = None
    if action == "merge":  # into another topic of the unit, which takes its complaints
        target = factories.topic(db, community, state=TopicState.proposed)
        data = {"into_topic_id": target.id}

    transition_topic(db, topic, action, actor=Actor.staff(world["secretary"]), data=data)
    db.flush()

    assert topic.state == TOPIC_TRANSITIONS[(before, action)]
    if action == "merge":
        assert topic.merged_into_id == target.id
        assert db.scalar(select(func.count()).select_from(Complaint).where(Complaint.topic_id == target.id)) == 3
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.subject_kind, event.subject_id, event.action, event.to_state) == (
        "topic", topic.id, action, topic.state.value)
    new_notes = db.scalars(select(Notification).order_by(Notification.id).offset(notes)).all()
    if action == "propose":
        assert [(n.event, n.openid) for n in new_notes] == [("topic_proposed", "o-secretary")]
    elif action in TOPIC_NOTIFY_RESIDENTS:
        assert sorted(n.openid for n in new_notes) == sorted([alice.openid, bob.openid])
        assert {n.event for n in new_notes} == {TOPIC_NOTIFY_RESIDENTS[action]}
    else:
        assert new_notes == []


def _absent(table, states):
    return [(s, a) for s in states for a in sorted({a for _, a in table}) if (s, a) not in table]


@pytest.mark.parametrize(("before", "action"), _absent(COMPLAINT_TRANSITIONS, list(ComplaintState)))
def test_complaint_transitions_not_in_the_table_are_refused(db, world, before, action):
    topic = factories.topic(db, world["units"]["community"]) if before == ComplaintState.promoted else None
    complaint = factories.complaint(db, world["units"]["grid"], factories.resident(db), state=before, topic=topic)
    audits = _count(db, AuditEvent)
    with pytest.raises(Conflict) as info:
        transition_complaint(db, complaint, action, actor=Actor.staff(world["worker"]))
    assert info.value.code == "complaint_transition_not_allowed"
    assert complaint.state == before
    assert _count(db, AuditEvent) == audits


@pytest.mark.parametrize(("before", "action"), _absent(TOPIC_TRANSITIONS, list(TopicState))[:40])
def test_topic_transitions_not_in_the_table_are_refused(db, world, before, action):
    topic = factories.topic(db, world["units"]["community"], state=before)
    with pytest.raises(Conflict):
        transition_topic(db, topic, action, actor=Actor.staff(world["secretary"]))
    assert topic.state == before

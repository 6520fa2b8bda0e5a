"""Property: for any worker, complaint and page or action, a complaint outside the worker's units answers 404, is
logged and changes nothing; one inside answers the page (or a plain refusal of the empty form), never a 404."""

from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import StaffRole
from models.scope import in_scope
from qr.demo import add_unit
from tests import factories
from tests.triage.test_decisions import sign_in, snapshot, token

ACTIONS = ["view", "promote", "decline", "solve", "merge", "escalate", "visit", "join"]


@pytest.fixture
def world(app):
    from models import ComplaintState, TopicState, UnitLevel

    with app.extensions["xinma.sessionmaker"]() as session:
        u = factories.units(session)
        u["grid2"] = add_unit(session, "G-extra", "幸福社区第二网格", UnitLevel.grid, u["community"])
        units = list(u.values())
        scopes = [[u["grid"]], [u["grid2"]], [u["other_grid"]], [u["community"]], [u["other"]], [u["street"]],
                  [u["grid"], u["other_grid"]]]
        workers = [factories.staff(session, StaffRole.grid_worker, *scope, username=f"w{i}")
                   for i, scope in enumerate(scopes)]
        resident = factories.resident(session)
        complaints = [factories.complaint(session, unit, resident, text=f"{unit.name}的问题") for unit in units]
        # Merge targets and the topic to join are closed: a reachable one is refused in words, so nothing changes.
        targets = [factories.complaint(session, unit, resident, state=ComplaintState.solved) for unit in units]
        topic = factories.topic(session, u["other"], state=TopicState.closed)
        session.commit()
        visible = {(w.id, c.id): in_scope(w, c.unit) for w in workers for c in complaints}
        return {"workers": [w.username for w in workers], "worker_ids": [w.id for w in workers],
                "complaints": [c.id for c in complaints], "targets": [t.id for t in targets], "visible": visible,
                "topic": topic.id}


@pytest.fixture
def clients(app, world):
    out = []
    for username in world["workers"]:
        client = app.test_client()
        assert sign_in(client, username).status_code == 302
        out.append((client, token(client.get("/triage/").text)))
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_access_holds_for_every_page_and_action(app, world, clients, caplog, data):
    w = data.draw(st.integers(0, len(world["workers"]) - 1), label="worker")
    c = data.draw(st.sampled_from(world["complaints"]), label="complaint")
    action = data.draw(st.sampled_from(ACTIONS), label="action")
    client, csrf = clients[w]
    visible = world["visible"][(world["worker_ids"][w], c)]
    before = snapshot(app)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="triage.services"):
        if action == "view":
            res = client.get(f"/triage/complaints/{c}")
        else:
            fields = {"csrf_token": csrf}
            if action == "join":
                action, fields["topic_id"] = "promote", str(world["topic"])
            if action == "merge":
                fields["target_id"] = str(data.draw(st.sampled_from(world["targets"]), label="target"))
            res = client.post(f"/triage/complaints/{c}/{action}", data=fields)
    if not visible:
        assert res.status_code == 404 and "未找到" in res.text
        assert "outside their units" in caplog.text
    else:
        assert res.status_code == 200 if action == "view" else res.status_code in (400, 404)
        if res.status_code == 404:  # only the merge target or the topic may be out of reach, and it says which
            assert "未找到要合并到的反映" in res.text or "未找到这个议题" in res.text
            assert "outside their" in caplog.text
    if action != "view" or not visible:
        assert snapshot(app) == before

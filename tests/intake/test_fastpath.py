"""The one-statement submission path (PostgreSQL, no photos) writes exactly what the general path writes."""

from __future__ import annotations

import json

from sqlalchemy import select

from intake import fastpath, idempotency, services
from models import AuditEvent, Complaint, Notification
from models.intake import ComplaintContact, IdempotencyKey
from models.residents import authenticate_resident_ref, token_hash
from models.stats import StatDelta

from .support import auth, refused, sign_in

BODY = {"category": "停车", "text": "  小区门口车辆乱停，消防通道被堵。 ", "phone": "13812341234",
        "location": {"latitude": 34.2, "longitude": 117.1, "address": "3号楼门口"}}


def written(session, complaint_id: int) -> dict:
    """Everything a submission wrote, without ids and times."""
    complaint = session.get(Complaint, complaint_id)
    event = session.scalar(select(AuditEvent).where(AuditEvent.subject_kind == "complaint",
                                                    AuditEvent.subject_id == complaint_id))
    note = session.scalar(select(Notification).where(Notification.params["complaint_id"].as_integer()
                                                     == complaint_id))
    contact = session.get(ComplaintContact, complaint_id)
    key = session.scalar(select(IdempotencyKey).where(IdempotencyKey.response.contains(f'"id": {complaint_id},')
                                                      | IdempotencyKey.response.contains(f'"id":{complaint_id},')))
    answer = json.loads(key.response)["data"]
    assert answer.pop("created_at") == complaint.created_at.isoformat()
    assert answer.pop("id") == complaint_id
    answer["timeline"] = [{k: v for k, v in step.items() if k != "at"} for step in answer["timeline"]]
    params = dict(note.params)
    assert params.pop("complaint_id") == complaint_id
    assert params.pop("at") == complaint.created_at.isoformat()
    return {
        "complaint": (complaint.unit_id, complaint.resident_id, complaint.qr_code_id, complaint.category,
                      complaint.text, complaint.state.value, complaint.content_check,
                      complaint.state_changed_at == complaint.created_at),
        "audit": (event.action, event.from_state, event.to_state, event.actor_kind, event.actor_id, event.reason,
                  event.data),
        "notification": (note.event, note.recipient_kind, note.recipient_id, note.openid, note.state.value,
                         note.attempts, params),
        "contact": (contact.phone, contact.latitude, contact.longitude, contact.address),
        "key": (key.status_code, key.request_hash),
        "answer": answer,
    }


def test_both_paths_write_the_same_rows_and_answer(client, app, wechat_sandbox, scene):
    token = sign_in(client, wechat_sandbox)
    body = dict(BODY, scene=scene)
    engine = app.extensions["xinma.autocommit"]
    factory = app.extensions["xinma.sessionmaker"]
    with engine.connect() as conn:
        resident = authenticate_resident_ref(conn, f"Bearer {token}")
    if app.extensions["xinma.committer"] is None:
        assert engine.dialect.name == "sqlite"  # SQLite always takes the general path: there is nothing to compare
        return
    assert fastpath.usable(body)
    status, answer, replayed = app.extensions["xinma.committer"].submit(
        token_hash(f"Bearer {token}"), body, "parity-fast-0001", "10.0.0.9")
    assert status == 201 and not replayed
    fast_id = json.loads(answer)["data"]["id"]
    with factory() as session:
        row_id, _ = idempotency.claim(session, resident, "parity-general-0001", idempotency.request_hash(body))
        data = services.record_complaint(session, resident, **{k: body.get(k) for k in (
            "scene", "category", "text", "phone", "location", "photos")})
        idempotency.record(session, row_id, 201, {"ok": True, "data": data})
        session.commit()
        general_id = data["id"]
    with factory() as session:
        assert written(session, fast_id) == written(session, general_id)
        deltas = session.execute(select(StatDelta.unit_id, StatDelta.day, StatDelta.key, StatDelta.n)
                                 .order_by(StatDelta.id)).all()
    assert len(deltas) == 2 and deltas[0] == deltas[1]  # one statistics delta each, the same one


def test_refusals_on_the_fast_path_write_nothing(client, app, wechat_sandbox, scene):
    """Unknown and revoked scenes, a reused key: the same codes as the general path, and no row written."""
    from qr.services import rotate_code
    from tests.intake.support import counts

    token = sign_in(client, wechat_sandbox)
    before = counts(app)
    refused(client.post("/api/v1/complaints", json=dict(BODY, scene="A" * 16), headers=auth(token)),
            404, "scene_unknown")
    assert counts(app) == before
    headers = {**auth(token), "Idempotency-Key": "fast-refusal-0001"}
    first = client.post("/api/v1/complaints", json=dict(BODY, scene=scene), headers=headers)
    assert first.status_code == 201
    after_first = counts(app)
    with app.extensions["xinma.sessionmaker"]() as session:
        from models import QrCode

        rotate_code(session, session.scalar(select(QrCode).where(QrCode.token == scene)).unit)
        session.commit()
    again = client.post("/api/v1/complaints", json=dict(BODY, scene=scene), headers=headers)
    assert again.status_code == 201 and again.json == first.json  # a replay, though the code is revoked now
    assert again.headers["Idempotent-Replayed"] == "true"
    refused(client.post("/api/v1/complaints", json=dict(BODY, scene=scene, text="别的内容"), headers=headers),
            422, "idempotency_key_reused")
    refused(client.post("/api/v1/complaints", json=dict(BODY, scene=scene), headers=auth(token)),
            410, "scene_revoked")
    assert counts(app) == after_first

"""Complaint submission as a resident sees it: every row it writes, concurrent residents, refusals that write
nothing, a replayed key, a body no parser should recurse into."""

from __future__ import annotations

import threading

from sqlalchemy import select

from models import AuditEvent, Complaint, Notification, QrCode
from models.base import CHINA
from models.intake import ComplaintContact, IdempotencyKey
from models.stats import StatDelta, china_day
from qr.services import rotate_code

from .support import auth, counts, refused, sign_in

BODY = {"category": "停车", "text": "  小区门口车辆乱停，消防通道被堵。 ", "phone": "13812341234",
        "location": {"latitude": 34.2, "longitude": 117.1, "address": "3号楼门口"}}


def test_a_submission_writes_its_rows_once_in_one_transaction(client, app, wechat_sandbox, scene):
    """The complaint, its audit event, its receipt, its contact, its key with the answer to replay, and one
    statistics delta: all there after the 201, each once."""
    token = sign_in(client, wechat_sandbox)
    before = counts(app)
    res = client.post("/api/v1/complaints", json=dict(BODY, scene=scene),
                      headers={**auth(token), "Idempotency-Key": "rows-key-0001"})
    assert res.status_code == 201, res.json
    answer = res.json["data"]
    assert answer["text"] == BODY["text"].strip() and answer["phone"] == "138****1234"
    assert answer["location"] == BODY["location"] and answer["unit"]["full_name"].endswith("梁堂村第一网格")
    after = counts(app)
    # complaint, notification, audit event, contact and key: one more each; no resident, session or photo
    assert [b - a for a, b in zip(before, after, strict=True)] == [1, 1, 1, 0, 0, 0, 1, 1]
    with app.extensions["xinma.sessionmaker"]() as session:
        complaint = session.get(Complaint, answer["id"])
        assert complaint.created_at == complaint.state_changed_at
        assert answer["created_at"] == complaint.created_at.astimezone(CHINA).isoformat()  # +08:00
        assert complaint.qr_code_id == session.scalar(select(QrCode.id).where(QrCode.token == scene))
        contact = session.get(ComplaintContact, complaint.id)
        assert (contact.phone, contact.latitude, contact.longitude, contact.address) == (
            "13812341234", 34.2, 117.1, "3号楼门口")
        note = session.scalar(select(Notification))
        assert note.params["complaint_id"] == complaint.id and note.params["unit_name"] == "梁堂村第一网格"
        key = session.scalar(select(IdempotencyKey))
        assert key.status_code == 201 and key.response and key.resident_id == complaint.resident_id
        deltas = session.execute(select(StatDelta.unit_id, StatDelta.day, StatDelta.key, StatDelta.n)).all()
    assert deltas == [(complaint.unit_id, china_day(complaint.created_at), "c|submitted||1", 1)]


def test_concurrent_submissions_through_the_api(client, app, wechat_sandbox, scene):
    """Residents submitting at the same moment: each gets their own complaint and answer."""
    tokens = [sign_in(client, wechat_sandbox, f"o-rush-{n}") for n in range(12)]
    before = counts(app)
    barrier = threading.Barrier(len(tokens))
    results = {}

    def send(n: int, token: str) -> None:
        c = app.test_client()
        barrier.wait()
        results[n] = c.post("/api/v1/complaints", json=dict(BODY, scene=scene, text=f"第{n}号反映"),
                            headers={**auth(token), "Idempotency-Key": f"rush-key-{n:04d}"})

    threads = [threading.Thread(target=send, args=(n, t)) for n, t in enumerate(tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(results) == list(range(12))
    assert all(r.status_code == 201 for r in results.values()), [r.json for r in results.values()]
    assert {r.json["data"]["text"] for r in results.values()} == {f"第{n}号反映" for n in range(12)}
    assert len({r.json["data"]["id"] for r in results.values()}) == 12
    assert counts(app)[0] == before[0] + 12


def test_refusals_write_nothing_and_a_used_key_replays(client, app, wechat_sandbox, scene):
    """Unknown and revoked scenes, a reused key: their codes, and no row written; the first answer replays."""
    token = sign_in(client, wechat_sandbox)
    before = counts(app)
    refused(client.post("/api/v1/complaints", json=dict(BODY, scene="A" * 16), headers=auth(token)),
            404, "scene_unknown")
    assert counts(app) == before
    headers = {**auth(token), "Idempotency-Key": "refusal-key-0001"}
    first = client.post("/api/v1/complaints", json=dict(BODY, scene=scene), headers=headers)
    assert first.status_code == 201
    after_first = counts(app)
    with app.extensions["xinma.sessionmaker"]() as session:
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
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(AuditEvent.action)) == "submit"


def test_a_deeply_nested_body_is_a_clean_400(client, app, wechat_sandbox, scene):
    """Nesting past what the parser recurses into, or past what any field takes: 400 json_required, nothing
    written, the session still fine."""
    token = sign_in(client, wechat_sandbox)
    before = counts(app)
    headers = {**auth(token), "Content-Type": "application/json", "Idempotency-Key": "deep-key-0001"}
    refused(client.post("/api/v1/complaints", data="[" * 100000, headers=headers), 400, "json_required")
    deep = '{"scene": ' + "[" * 900 + "]" * 900 + ', "category": "停车", "text": "乱停车"}'
    refused(client.post("/api/v1/complaints", data=deep, headers=headers), 400, "json_required")
    refused(client.post("/api/v1/sessions", data="{" * 50000, content_type="application/json"), 400,
            "json_required")
    assert counts(app)[:3] == before[:3] and counts(app)[7] == before[7]
    assert client.post("/api/v1/complaints", json=dict(BODY, scene=scene), headers=headers).status_code == 201

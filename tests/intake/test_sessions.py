"""Resident sessions: opaque hashed tokens, absolute and idle expiry, sign-out, session_key kept on the server."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

from sqlalchemy import select, update

from models import ResidentSession, utcnow
from models.residents import token_hash

from .support import auth, counts, refused, sign_in


def test_token_is_random_opaque_and_stored_hashed(client, wechat_sandbox, app, demo):
    tokens = {sign_in(client, wechat_sandbox, "o-a"), sign_in(client, wechat_sandbox, "o-a")}
    assert len(tokens) == 2
    with app.extensions["xinma.sessionmaker"]() as session:
        stored = set(session.scalars(select(ResidentSession.token_hash)))
    for token in tokens:
        assert len(token) >= 40  # 32 random bytes, url-safe: 256 bits
        assert token not in stored
        assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_session_key_never_leaves_the_server(client, wechat_sandbox, demo, caplog):
    caplog.set_level(logging.DEBUG)
    res = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-key")})
    assert res.status_code == 201
    body = res.get_data(as_text=True)
    assert "session_key" not in body
    assert "jscode2session" in caplog.text  # the login call was logged, without what it answered
    assert "session_key" not in caplog.text


def test_forged_session_is_refused_and_changes_nothing(client, app, scene):
    before = counts(app)
    body = {"scene": scene, "category": "停车", "text": "小区门口乱停车"}
    refused(client.post("/api/v1/complaints", json=body, headers=auth("A" * 43)), 401, "session_invalid")
    refused(client.get("/api/v1/complaints", headers={"Authorization": "Basic eDp5"}), 401, "session_missing")
    refused(client.get("/api/v1/complaints", headers=auth("x" * 300)), 401, "session_invalid")
    assert counts(app) == before


def test_idle_session_expires_and_use_keeps_it_alive(client, wechat_sandbox, app, demo):
    token = sign_in(client, wechat_sandbox)
    factory = app.extensions["xinma.sessionmaker"]
    with factory() as session:
        session.execute(update(ResidentSession).values(last_seen_at=utcnow() - dt.timedelta(days=6)))
        session.commit()
    assert client.get("/api/v1/complaints", headers=auth(token)).status_code == 200
    with factory() as session:
        seen = session.scalar(select(ResidentSession.last_seen_at))
        assert utcnow() - seen < dt.timedelta(minutes=1)  # the use moved it forward
        session.execute(update(ResidentSession).values(last_seen_at=utcnow() - dt.timedelta(days=7, seconds=1)))
        session.commit()
    refused(client.get("/api/v1/complaints", headers=auth(token)), 401, "session_expired")


def test_absolute_expiry_holds_even_when_used(client, wechat_sandbox, app, demo):
    token = sign_in(client, wechat_sandbox)
    with app.extensions["xinma.sessionmaker"]() as session:
        session.execute(update(ResidentSession).values(expires_at=utcnow() - dt.timedelta(seconds=1),
                                                       last_seen_at=utcnow()))
        session.commit()
    refused(client.get("/api/v1/complaints", headers=auth(token)), 401, "session_expired")


def test_sign_out_revokes_the_token(client, wechat_sandbox, demo):
    token = sign_in(client, wechat_sandbox)
    other = sign_in(client, wechat_sandbox)
    res = client.delete("/api/v1/sessions/current", headers=auth(token))
    assert res.status_code == 200 and res.json["data"] == {"signed_out": True}
    refused(client.get("/api/v1/complaints", headers=auth(token)), 401, "session_invalid")
    refused(client.delete("/api/v1/sessions/current", headers=auth(token)), 401, "session_invalid")
    assert client.get("/api/v1/complaints", headers=auth(other)).status_code == 200


def test_revoke_all_sessions_of_a_resident(client, wechat_sandbox, app, demo):
    from models import Resident
    from models.residents import revoke_all_sessions

    tokens = [sign_in(client, wechat_sandbox) for _ in range(2)]
    with app.extensions["xinma.sessionmaker"]() as session:
        assert revoke_all_sessions(session, session.scalar(select(Resident))) == 2
        session.commit()
    for token in tokens:
        refused(client.get("/api/v1/complaints", headers=auth(token)), 401, "session_invalid")


def test_submission_checks_the_session_like_every_other_endpoint(client, wechat_sandbox, app, scene):
    """Idle, expired and revoked sessions are refused on submission too (on PostgreSQL the submitting statement
    checks the session again itself), and a submission keeps an idle session alive. A revoked session gets no
    replay of an earlier answer either."""
    body = {"scene": scene, "category": "停车", "text": "小区门口乱停车"}
    factory = app.extensions["xinma.sessionmaker"]

    def age(token: str, **values) -> None:
        with factory() as session:
            session.execute(update(ResidentSession).where(ResidentSession.token_hash == token_hash(f"Bearer {token}"))
                            .values(**values))
            session.commit()

    def last_seen(token: str) -> dt.datetime:
        with factory() as session:
            return session.scalar(select(ResidentSession.last_seen_at)
                                  .where(ResidentSession.token_hash == token_hash(f"Bearer {token}")))

    token = sign_in(client, wechat_sandbox)
    age(token, last_seen_at=utcnow() - dt.timedelta(days=6))
    assert client.post("/api/v1/complaints", json=body, headers=auth(token)).status_code == 201
    assert utcnow() - last_seen(token) < dt.timedelta(minutes=1)  # the use moved it forward
    age(token, last_seen_at=utcnow() - dt.timedelta(days=7, seconds=1))
    before = counts(app)
    refused(client.post("/api/v1/complaints", json=body, headers=auth(token)), 401, "session_expired")
    assert counts(app) == before
    age(token, last_seen_at=utcnow(), expires_at=utcnow() - dt.timedelta(seconds=1))
    refused(client.post("/api/v1/complaints", json=body, headers=auth(token)), 401, "session_expired")
    assert counts(app) == before

    fresh = sign_in(client, wechat_sandbox)
    keyed = {**auth(fresh), "Idempotency-Key": "session-check-0001"}
    assert client.post("/api/v1/complaints", json=body, headers=keyed).status_code == 201
    assert client.delete("/api/v1/sessions/current", headers=auth(fresh)).status_code == 200
    before = counts(app)
    refused(client.post("/api/v1/complaints", json=body, headers=auth(fresh)), 401, "session_invalid")
    refused(client.post("/api/v1/complaints", json=body, headers=keyed), 401, "session_invalid")
    assert counts(app) == before

"""Staff sign-in: lock-out after repeated failures, invitation links, sessions that end with the password."""

from __future__ import annotations

import re
import statistics
import time

import pytest
from sqlalchemy import select

from models import Staff, StaffRole, Unit
from tests import factories
from tests.triage.test_decisions import sign_in, token
from web.auth import _DUMMY_HASH, MAX_FAILURES, hash_password


@pytest.fixture
def world(app):
    with app.extensions["xinma.sessionmaker"]() as session:
        u = factories.units(session)
        factories.staff(session, StaffRole.grid_worker, u["grid"], username="worker")
        factories.staff(session, StaffRole.admin, u["district"], username="admin")
        session.commit()
        return {"grid": u["grid"].id, "street": u["street"].id}


def test_lock_out_after_repeated_failures_even_with_the_right_password(client, world):
    for _ in range(MAX_FAILURES):
        assert "用户名或密码不正确" in sign_in(client, "worker", "wrong").text
    res = sign_in(client, "worker")
    assert res.status_code == 401 and "账号已暂时锁定" in res.text
    assert client.get("/triage/").status_code == 302
    assert sign_in(client, "admin").status_code == 302  # other accounts are unaffected


def test_success_resets_the_failure_count(client, world):
    for _ in range(MAX_FAILURES - 1):
        sign_in(client, "worker", "wrong")
    assert sign_in(client, "worker").status_code == 302
    sign_in(client, "worker", "wrong")
    assert sign_in(client, "worker").status_code == 302


def test_sign_in_does_not_redirect_off_site(client, world):
    page = client.get("/staff/signin?next=//evil.example/")
    res = client.post("/staff/signin?next=//evil.example/",
                      data={"username": "worker", "password": factories.PASSWORD, "csrf_token": token(page.text)})
    assert res.headers["Location"] == "/triage/"


def test_a_new_password_ends_old_sessions(client, app, world):
    sign_in(client, "worker")
    assert client.get("/triage/").status_code == 200
    with app.extensions["xinma.sessionmaker"]() as session:
        session.scalar(select(Staff).where(Staff.username == "worker")).password_hash = hash_password("另一个密码-123")
        session.commit()
    assert client.get("/triage/").status_code == 302


def test_invitation_creates_one_account_once(client, app, world):
    assert client.get("/staff/invitations").status_code == 302
    sign_in(client, "worker")
    assert client.get("/staff/invitations").status_code == 404
    sign_in(client, "admin")
    page = client.get("/staff/invitations").text
    res = client.post("/staff/invitations", data={"csrf_token": token(page), "display_name": "周网格员",
                                                  "role": "grid_worker", "unit_id": [str(world["grid"])]})
    link = re.search(r'id="invite-link">([^<]+)<', res.text).group(1)
    path = link.replace("http://localhost", "")
    client.post("/staff/signout", data={"csrf_token": token(page)})
    invite = client.get(path)
    assert "欢迎，周网格员" in invite.text
    res = client.post(path, data={"csrf_token": token(invite.text), "username": "zhou", "password": "short"})
    assert res.status_code == 400 and "密码至少需要 10 位" in res.text
    res = client.post(path, data={"csrf_token": token(invite.text), "username": "worker", "password": "long enough 1"})
    assert res.status_code == 400 and "用户名已被使用" in res.text
    res = client.post(path, data={"csrf_token": token(invite.text), "username": "zhou", "password": "long enough 1"})
    assert res.status_code == 302 and res.headers["Location"] == "/triage/"
    assert client.get("/triage/").status_code == 200
    with app.extensions["xinma.sessionmaker"]() as session:
        zhou = session.scalar(select(Staff).where(Staff.username == "zhou"))
        assert zhou.role == StaffRole.grid_worker and [u.id for u in zhou.units] == [world["grid"]]
        assert zhou.password_hash.startswith("scrypt:")
        assert session.get(Unit, world["grid"]) is not None
    again = client.get(path)
    assert again.status_code == 404 and "邀请链接无效" in again.text


def test_an_unknown_username_costs_what_a_wrong_password_costs(client, app, world):
    """The refusal for a username nobody has must not come back faster than for a real account's wrong password."""
    assert _DUMMY_HASH.split("$")[0] == hash_password("any password").split("$")[0]  # same method and cost
    with app.extensions["xinma.sessionmaker"]() as session:
        session.scalar(select(Staff).where(Staff.username == "worker")).password_hash = hash_password("真正的密码-123")
        session.commit()

    def refusal_seconds(username: str) -> float:
        start = time.perf_counter()
        assert "用户名或密码不正确" in sign_in(client, username, "wrong").text
        return time.perf_counter() - start

    known, unknown = [], []
    for i in range(MAX_FAILURES - 1):  # one short of the lock-out, which would answer without checking
        known.append(refusal_seconds("worker"))
        unknown.append(refusal_seconds(f"nobody{i}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    assert 0.5 < ratio < 2, f"unknown/known refusal time {ratio:.2f}"

"""Group commit: submissions written together in one statement each get the answer they would get alone."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from intake import committer as committer_module
from intake import fastpath, ratelimit
from models import Complaint, NotFound, Notification, Resident, Unauthorized
from models.residents import token_hash

from .support import auth, counts, sign_in

BODY = {"category": "停车", "text": "小区门口车辆乱停，消防通道被堵。", "phone": "13812341234"}


def waiting(token: str, body: dict, key: str | None, address: str = "10.0.0.1") -> committer_module._Waiting:
    return committer_module._Waiting(fastpath.prepare(token_hash(f"Bearer {token}"), body, key), address, None)


def answer(app, w) -> tuple[int, dict, bool]:
    """What the request waiting on `w` answers, as `Committer.submit` reads it."""
    if w.error is not None:
        raise w.error
    status, text, replayed = fastpath.outcome(app.extensions["xinma.autocommit"].connect, w.item, w.row)
    return status, json.loads(text), replayed


def test_one_batch_of_mixed_submissions(client, app, wechat_sandbox, scene):
    committer = app.extensions["xinma.committer"]
    if committer is None:
        assert app.extensions["xinma.engine"].dialect.name == "sqlite"  # SQLite writes each request on its own
        return
    zhang, li = sign_in(client, wechat_sandbox, "o-zhang"), sign_in(client, wechat_sandbox, "o-li")
    gone = sign_in(client, wechat_sandbox, "o-wang")
    assert client.delete("/api/v1/sessions/current", headers=auth(gone)).status_code == 200
    before = counts(app)
    first = waiting(zhang, dict(BODY, scene=scene), "batch-key-0001")
    again = waiting(zhang, dict(BODY, scene=scene), "batch-key-0001")  # the same key twice in one batch
    other = waiting(li, dict(BODY, scene=scene, text="楼道里堆满杂物"), None)
    forged = waiting("A" * 43, dict(BODY, scene=scene), None)
    revoked = waiting(gone, dict(BODY, scene=scene), None)
    unknown = waiting(li, dict(BODY, scene="B" * 22), "batch-key-0002")
    batch = [first, again, other, forged, revoked, unknown]

    later = committer._write(batch)

    assert later == [again]  # waits for the next batch, where the first one's key is found
    assert all(w.done for w in batch if w is not again)
    status, body, replayed = answer(app, first)
    assert status == 201 and not replayed and body["data"]["text"] == BODY["text"]
    status, body2, replayed = answer(app, other)
    assert status == 201 and body2["data"]["text"] == "楼道里堆满杂物" and body2["data"]["id"] != body["data"]["id"]
    for refused, code in ((forged, "session_invalid"), (revoked, "session_invalid")):
        with pytest.raises(Unauthorized) as caught:
            answer(app, refused)
        assert caught.value.code == code
    with pytest.raises(NotFound) as caught:
        answer(app, unknown)
    assert caught.value.code == "scene_unknown"

    assert committer._write(later) == []
    assert answer(app, again) == (201, body, True)  # the first answer, replayed
    after = counts(app)
    assert after[0] == before[0] + 2  # two complaints, nothing for the refused ones
    with app.extensions["xinma.sessionmaker"]() as session:
        texts = sorted(session.scalars(select(Complaint.text)))
    assert texts == sorted([BODY["text"], "楼道里堆满杂物"])


def test_a_batch_whose_statement_fails_is_written_one_by_one(client, app, wechat_sandbox, scene, monkeypatch):
    committer = app.extensions["xinma.committer"]
    if committer is None:
        assert app.extensions["xinma.engine"].dialect.name == "sqlite"
        return
    tokens = [sign_in(client, wechat_sandbox, f"o-batch-{n}") for n in range(3)]
    real = fastpath.write

    def fails_for_batches(conn, items):
        if len(items) > 1 or items[0]["key"] == "alone-key-0001":
            raise RuntimeError("the statement failed")
        return real(conn, items)

    monkeypatch.setattr(fastpath, "write", fails_for_batches)
    before = counts(app)
    batch = [waiting(token, dict(BODY, scene=scene), f"alone-key-{n:04d}") for n, token in enumerate(tokens)]
    assert committer._write(batch) == []
    assert all(w.done for w in batch)
    assert str(batch[1].error) == "the statement failed"  # its request answers 500; the others are written
    assert len({answer(app, w)[1]["data"]["id"] for w in (batch[0], batch[2])}) == 2
    assert counts(app)[0] == before[0] + 2


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


def test_written_submissions_are_handed_over_in_one_rpush(client, app, wechat_sandbox, scene, settings_env,
                                                          redis_url, redis):
    """After the commit the workers' relay gets one list element per written submission, naming its 受理 message
    and its content check; a refused or replayed submission names nothing."""
    from app import create_app
    from web.settings import load_settings
    from workers.queues import HANDOFF

    with_redis = create_app(load_settings(dict(settings_env, XINMA_REDIS_URL=redis_url)))
    committer = with_redis.extensions["xinma.committer"]
    if committer is None:
        assert with_redis.extensions["xinma.engine"].dialect.name == "sqlite"
        return
    tokens = [sign_in(client, wechat_sandbox, f"o-hand-{n}") for n in range(2)]
    batch = [waiting(token, dict(BODY, scene=scene), "hand-key-0001") for token in tokens]
    batch.append(waiting(tokens[0], dict(BODY, scene=scene), "hand-key-0001"))  # the same key again: a replay
    batch.append(waiting("A" * 43, dict(BODY, scene=scene), None))
    try:
        later = committer._write(batch)
        committer._write(later)
        written = [answer(with_redis, w)[1]["data"]["id"] for w in batch[:2]]
        with with_redis.extensions["xinma.sessionmaker"]() as session:
            notes = {n.params["complaint_id"]: n.id for n in session.scalars(select(Notification))}
        assert redis.lrange(HANDOFF, 0, -1) == [f"notification:{notes[c]} content_check:{c}".encode()
                                                for c in written]
    finally:
        with_redis.extensions["xinma.engine"].dispose()


def test_with_more_waiting_the_handoff_goes_with_the_next_count(client, app, wechat_sandbox, scene, settings_env,
                                                               redis_url, redis):
    """When submissions are already waiting, a batch's rows are named to the relay in the next batch's Redis round
    trip (its rate-limit count), in their order; none is lost."""
    from app import create_app
    from web.settings import load_settings
    from workers.queues import HANDOFF

    with_redis = create_app(load_settings(dict(settings_env, XINMA_REDIS_URL=redis_url)))
    committer = with_redis.extensions["xinma.committer"]
    if committer is None:
        assert with_redis.extensions["xinma.engine"].dialect.name == "sqlite"
        return
    first, second = (sign_in(client, wechat_sandbox, f"o-next-{n}") for n in range(2))
    try:
        committer._queue = [waiting(second, dict(BODY, scene=scene), None)]  # someone is waiting
        batch = [waiting(first, dict(BODY, scene=scene), None)]
        assert committer._write(batch) == []
        assert redis.llen(HANDOFF) == 0  # not yet: it goes with the next count
        following, committer._queue = committer._queue, []
        assert committer._write(following) == []
        ids = [answer(with_redis, w)[1]["data"]["id"] for w in (*batch, *following)]
        assert [e.split()[1] for e in redis.lrange(HANDOFF, 0, -1)] == [f"content_check:{c}".encode() for c in ids]
    finally:
        with_redis.extensions["xinma.engine"].dispose()


def test_a_lost_database_connection_is_replaced(client, app, wechat_sandbox, scene):
    """The committer's own connection, closed under it (a database restart), fails one batch; that batch is written
    alone on a new connection, and so is the next."""
    committer = app.extensions["xinma.committer"]
    if committer is None:
        assert app.extensions["xinma.engine"].dialect.name == "sqlite"
        return
    tokens = [sign_in(client, wechat_sandbox, f"o-lost-{n}") for n in range(3)]
    before = counts(app)
    committer._write([waiting(tokens[0], dict(BODY, scene=scene), None)])
    committer._connection().close()  # as a server restart would leave it
    batch = [waiting(token, dict(BODY, scene=scene), None) for token in tokens[1:]]
    assert committer._write(batch) == []
    assert all(w.error is None and answer(app, w)[0] == 201 for w in batch)
    assert counts(app)[0] == before[0] + 3


def test_a_batch_waits_for_submissions_on_their_way(client, app, wechat_sandbox, scene, monkeypatch):
    """A batch about to be written waits for the submissions already being read in this process, so they share its
    commit; one that turns out not to come (its body refused) stops the wait at once."""
    committer = app.extensions["xinma.committer"]
    if committer is None:
        assert app.extensions["xinma.engine"].dialect.name == "sqlite"
        return
    monkeypatch.setattr(committer_module, "LINGER", 30.0)
    statements = []
    real = fastpath.write
    monkeypatch.setattr(fastpath, "write", lambda conn, items: statements.append(len(items)) or real(conn, items))
    first, second = (token_hash(f"Bearer {sign_in(client, wechat_sandbox, f'o-way-{n}')}") for n in range(2))
    results = {}

    def submit(name: str, hashed: str, on_the_way: threading.Event | None = None, go: threading.Event | None = None):
        if on_the_way is None:
            results[name] = committer.submit(hashed, dict(BODY, scene=scene), None, "10.0.0.1")
            return
        with committer.on_the_way():
            on_the_way.set()
            go.wait(10)
            if name != "gives up":
                results[name] = committer.submit(hashed, dict(BODY, scene=scene), None, "10.0.0.2")

    for late_one in ("comes", "gives up"):
        on_the_way, go = threading.Event(), threading.Event()
        late = threading.Thread(target=submit, args=(late_one, second, on_the_way, go))
        late.start()
        assert on_the_way.wait(10)
        early = threading.Thread(target=submit, args=(f"before {late_one}", first))
        early.start()
        early.join(0.5)
        assert early.is_alive()  # held for the one on its way
        go.set()
        early.join(15)  # well before LINGER: the wait ends when the late one comes or gives up
        late.join(15)
        assert not early.is_alive() and not late.is_alive()
    assert statements == [2, 1]
    assert [results[name][0] for name in ("before comes", "comes", "before gives up")] == [201, 201, 201]


def test_sessions_known_to_redis_are_counted_without_a_query(client, app, wechat_sandbox, scene, settings_env,
                                                            redis_url, redis, monkeypatch):
    """Redis names the resident of every session signed in through it, so a batch of those is counted against both
    limits in its one Redis round trip, with no query for the sessions; the statement still refuses a session that
    was revoked. A session Redis does not know is looked up and told to Redis; a sign-out makes Redis forget."""
    import dataclasses

    from app import create_app
    from models.residents import revoke_all_sessions
    from web.settings import load_settings

    settings = dataclasses.replace(load_settings(dict(settings_env, XINMA_REDIS_URL=redis_url)),
                                   rate_limits="submit_resident=2/3600")
    with_redis = create_app(settings)
    committer = with_redis.extensions["xinma.committer"]
    if committer is None:
        assert with_redis.extensions["xinma.engine"].dialect.name == "sqlite"
        return
    try:
        ours = with_redis.test_client()
        zhang, wang, li = (sign_in(ours, wechat_sandbox, f"o-known-{n}") for n in range(3))
        hashes = {token: token_hash(f"Bearer {token}") for token in (zhang, wang, li)}
        assert all(redis.get(f"xinma:session:{h}") for h in hashes.values())
        with with_redis.extensions["xinma.sessionmaker"]() as session:
            revoke_all_sessions(session, session.scalar(select(Resident).where(Resident.openid == "o-known-1")))
            session.commit()
        monkeypatch.setattr(committer_module, "_SESSIONS", "SELECT no_such_column FROM resident_sessions")
        batch = [waiting(token, dict(BODY, scene=scene), None) for token in (zhang, zhang, zhang, wang)]
        assert committer._write(batch) == []
        assert [answer(with_redis, w)[0] for w in batch[:2]] == [201, 201]
        assert isinstance(batch[2].error, ratelimit.RateLimited)  # Zhang's third within the hour
        with pytest.raises(Unauthorized):
            answer(with_redis, batch[3])  # Wang's session was revoked: Redis still names him, the statement refuses
        monkeypatch.undo()

        stranger = sign_in(client, wechat_sandbox, "o-known-elsewhere")  # signed in where no Redis was told
        batch = [waiting(stranger, dict(BODY, scene=scene), None)]
        assert committer._write(batch) == [] and answer(with_redis, batch[0])[0] == 201
        assert redis.get(f"xinma:session:{token_hash(f'Bearer {stranger}')}") is not None

        assert ours.delete("/api/v1/sessions/current", headers=auth(li)).status_code == 200
        assert redis.get(f"xinma:session:{hashes[li]}") is None
    finally:
        with_redis.extensions["xinma.engine"].dispose()

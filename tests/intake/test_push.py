"""The signed message-push endpoint accepts a push only inside its time window, and each nonce only once."""

from __future__ import annotations

import math
import time

from sqlalchemy import select

from models.intake import Photo

from .support import auth, jpeg, sign_in, upload


def _signed(app, timestamp: int, nonce: str) -> str:
    from wechat.push import push_signature

    token = app.config["XINMA"].push_token
    return f"signature={push_signature(token, str(timestamp), nonce)}&timestamp={timestamp}&nonce={nonce}"


def _verdict(app, pid):
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.scalar(select(Photo.media_check).where(Photo.id == pid))


def _photo_with_trace(app, client, wechat_sandbox, trace_id: str) -> int:
    token = sign_in(client, wechat_sandbox)
    pid = upload(client, token, jpeg()).json["data"]["id"]
    with app.extensions["xinma.sessionmaker"]() as session:
        session.get(Photo, pid).media_trace_id = trace_id
        session.commit()
    assert client.get(f"/api/v1/photos/{pid}", headers=auth(token)).status_code == 200
    return pid


def _push(trace_id: str, suggest: str) -> dict:
    return {"ToUserName": "gh_x", "FromUserName": "o-zhang", "Event": "wxa_media_check", "appid": "wx",
            "trace_id": trace_id, "version": 2, "result": {"suggest": suggest, "label": 100}}


def test_old_future_and_malformed_timestamps_are_refused_and_change_nothing(app, client, wechat_sandbox, demo):
    pid = _photo_with_trace(app, client, wechat_sandbox, "trace-window")
    now = int(time.time())
    # one second past the window either way; the future one rounded up, so that the second in which this test
    # reads the clock may end before the request is checked
    for stamp in (now - 301, math.ceil(time.time()) + 301, 1700000000):
        res = client.post(f"/wechat/push?{_signed(app, stamp, f'n-{stamp}')}", json=_push("trace-window", "risky"))
        assert res.status_code == 401 and b"push_timestamp_stale" in res.data, res.data[:200]
    res = client.post("/wechat/push?signature=x&timestamp=soon&nonce=n", json=_push("trace-window", "risky"))
    assert res.status_code == 401 and b"push_signature_invalid" in res.data
    assert _verdict(app, pid) is None
    # the console's server check (GET) is held to the same window
    stale = client.get(f"/wechat/push?{_signed(app, now - 3600, 'e1')}&echostr=hello")
    assert stale.status_code == 401 and stale.data != b"hello"
    assert client.get(f"/wechat/push?{_signed(app, now, 'e1')}&echostr=hello").data == b"hello"


def test_a_push_inside_the_window_counts_once_and_its_replay_is_refused(app, client, wechat_sandbox, demo):
    pid = _photo_with_trace(app, client, wechat_sandbox, "trace-replay")
    now = int(time.time())
    query = _signed(app, now - 120, "nonce-1")  # two minutes of clock skew is within the window
    first = client.post(f"/wechat/push?{query}", json=_push("trace-replay", "review"))
    assert first.status_code == 200 and first.data == b"success"
    assert _verdict(app, pid) == "review"
    replay = client.post(f"/wechat/push?{query}", json=_push("trace-replay", "pass"))
    assert replay.status_code == 401 and b"push_replayed" in replay.data
    assert _verdict(app, pid) == "review"
    # a fresh nonce (WeChat's next push) is accepted
    res = client.post(f"/wechat/push?{_signed(app, now, 'nonce-2')}", json=_push("trace-replay", "pass"))
    assert res.status_code == 200 and _verdict(app, pid) == "pass"


def test_a_push_that_could_not_be_recorded_can_be_retried_with_its_nonce(app, client, wechat_sandbox, demo,
                                                                        monkeypatch):
    pid = _photo_with_trace(app, client, wechat_sandbox, "trace-retry")
    query = _signed(app, int(time.time()), "nonce-retry")
    factory = app.extensions["xinma.sessionmaker"]

    def broken_commit(self):
        raise RuntimeError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(factory.class_, "commit", broken_commit)
        failed = client.post(f"/wechat/push?{query}", json=_push("trace-retry", "risky"))
    assert failed.status_code == 500
    assert _verdict(app, pid) is None
    retried = client.post(f"/wechat/push?{query}", json=_push("trace-retry", "risky"))
    assert retried.status_code == 200 and _verdict(app, pid) == "risky"

"""The signed message-push endpoint accepts a push only inside its time window, and each nonce only once."""

from __future__ import annotations

import datetime as dt
import math
import secrets
import time

import pytest
import requests
from sqlalchemy import func, select, update

from models import AuditEvent, Complaint, Notification, NotificationState, Resident, utcnow
from models.intake import ComplaintContact, Photo, PhotoFile
from tests.conftest import wait_for
from web.settings import template_id
from wechat import WeChatGateway
from wechat.push import encode_push

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
    return {"ToUserName": "gh_x", "FromUserName": "o-zhang", "CreateTime": int(time.time()), "MsgType": "event",
            "Event": "wxa_media_check", "appid": "wx",
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


# --- every mode and format, and what each event changes --------------------------------------------------------

AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


@pytest.fixture
def settings_env(settings_env):
    """The console's EncodingAESKey set, so compatible and safe-mode pushes can be decrypted."""
    return dict(settings_env, XINMA_WECHAT_PUSH_AES_KEY=AES_KEY)


def _send_push(app, client, event: dict, *, fmt="json", mode="plain", content_type=None, tamper=None):
    settings = app.config["XINMA"]
    query, body, kind = encode_push(event, token=settings.push_token, timestamp=str(int(time.time())),
                                    nonce=secrets.token_hex(8), fmt=fmt, mode=mode, aes_key=AES_KEY,
                                    appid=settings.wechat_appid)
    if tamper:
        query = {**query, **tamper}
    return client.post("/wechat/push", query_string=query, data=body, content_type=content_type or kind)


def _event(openid: str, name: str, **fields) -> dict:
    return {"ToUserName": "gh_x", "FromUserName": openid, "CreateTime": int(time.time()), "MsgType": "event",
            "Event": name, **fields}


@pytest.mark.parametrize(("fmt", "mode", "content_type"), [
    ("json", "safe", None), ("xml", "plain", None), ("xml", "safe", None), ("json", "compatible", None),
    ("xml", "compatible", None), ("xml", "plain", "application/json"), ("json", "plain", "text/plain"),
])
def test_a_verdict_is_applied_in_every_mode_and_format(app, client, wechat_sandbox, demo, fmt, mode, content_type):
    pid = _photo_with_trace(app, client, wechat_sandbox, f"trace-{fmt}-{mode}")
    res = _send_push(app, client, _push(f"trace-{fmt}-{mode}", "risky"), fmt=fmt, mode=mode,
                     content_type=content_type)
    assert res.status_code == 200 and res.data == b"success"
    assert _verdict(app, pid) == "risky"


@pytest.mark.parametrize(("mode", "tamper", "status", "code"), [
    ("safe", {"msg_signature": "0" * 40}, 401, "push_signature_invalid"),
    ("plain", {"signature": "0" * 40}, 401, "push_signature_invalid"),
    ("safe", {"nonce": "another"}, 401, "push_signature_invalid"),
])
def test_a_bad_signature_gets_a_4xx_is_logged_and_changes_nothing(app, client, wechat_sandbox, demo, caplog, mode,
                                                                   tamper, status, code):
    pid = _photo_with_trace(app, client, wechat_sandbox, "trace-bad")
    res = _send_push(app, client, _push("trace-bad", "risky"), mode=mode, tamper=tamper)
    assert res.status_code == status and code.encode() in res.data and res.data != b"success"
    assert _verdict(app, pid) is None
    assert any("WeChat push refused" in r.getMessage() and code in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("body", [b"", b"{broken", b"<xml><Event>", b"[]", b"hello"])
def test_a_push_that_cannot_be_read_gets_a_400(app, client, body):
    query = _signed(app, int(time.time()), secrets.token_hex(6))
    res = client.post(f"/wechat/push?{query}", data=body, content_type="application/json")
    assert res.status_code == 400 and b"push_unreadable" in res.data


def test_a_safe_mode_push_for_another_appid_or_key_is_unreadable(app, client):
    settings = app.config["XINMA"]
    query, body, kind = encode_push(_push("t", "pass"), token=settings.push_token, timestamp=str(int(time.time())),
                                    nonce="n-appid", mode="safe", aes_key=AES_KEY, appid="wx-someone-else")
    res = client.post("/wechat/push", query_string=query, data=body, content_type=kind)
    assert res.status_code == 400 and b"push_unreadable" in res.data


def _left(client, token) -> dict:
    return client.get("/api/v1/subscriptions", headers=auth(token)).json["data"]


def test_popup_and_settings_events_keep_the_ledger(app, client, wechat_sandbox, demo):
    token = sign_in(client, wechat_sandbox, "o-ledger")
    received, progress = template_id("complaint_received"), template_id("complaint_triaged")
    accept = [{"TemplateId": received, "SubscribeStatusString": "accept", "PopupScene": "0"}]
    assert _send_push(app, client, _event("o-ledger", "subscribe_msg_popup_event", List=accept)).status_code == 200
    assert _left(client, token)["left"][received] == 1
    assert _send_push(app, client, _event("o-ledger", "subscribe_msg_popup_event", List=accept),
                      fmt="xml", mode="safe").status_code == 200
    assert _left(client, token)["left"][received] == 2  # each accept is one send, as on WeChat's side
    both = [{"TemplateId": received, "SubscribeStatusString": "reject"},
            {"TemplateId": progress, "SubscribeStatusString": "reject"}]
    assert _send_push(app, client, _event("o-ledger", "subscribe_msg_change_event", List=both),
                      mode="safe").status_code == 200
    left = _left(client, token)
    assert left["left"][received] == 0 and left["left"][progress] == 0
    assert received in left["resubscribe"]


def _timed_out_row(app, openid: str, event: str, state=NotificationState.needs_review,
                   error="outcome_unknown: read timeout; WeChat may have delivered it") -> int:
    with app.extensions["xinma.sessionmaker"]() as session:
        resident = session.scalar(select(Resident).where(Resident.openid == openid))
        now = utcnow()
        row = Notification(event=event, recipient_kind="resident", recipient_id=resident.id, openid=openid,
                           params={}, state=state, attempts=1, created_at=now - dt.timedelta(seconds=30),
                           claimed_at=now - dt.timedelta(seconds=20), finished_at=now,
                           last_error=error)
        session.add(row)
        session.commit()
        return row.id


def _row(app, nid):
    with app.extensions["xinma.sessionmaker"]() as session:
        row = session.get(Notification, nid)
        return row.state, row.last_error


def test_a_sent_event_confirms_or_fails_a_send_that_timed_out(app, client, wechat_sandbox, demo):
    sign_in(client, wechat_sandbox, "o-sent")
    delivered = _timed_out_row(app, "o-sent", "complaint_received")
    lost = _timed_out_row(app, "o-sent", "complaint_triaged")
    items = [{"TemplateId": template_id("complaint_received"), "MsgID": "2000000001", "ErrorCode": 0,
              "ErrorStatus": "success"}]
    assert _send_push(app, client, _event("o-sent", "subscribe_msg_sent_event", List=items)).status_code == 200
    assert _row(app, delivered)[0] == NotificationState.sent and "2000000001" in _row(app, delivered)[1]
    assert _row(app, lost)[0] == NotificationState.needs_review  # another template: untouched
    items = [{"TemplateId": template_id("complaint_triaged"), "MsgID": "2000000002", "ErrorCode": 10005,
              "ErrorStatus": "fail_system_error"}]
    assert _send_push(app, client, _event("o-sent", "subscribe_msg_sent_event", List=items),
                      fmt="xml").status_code == 200
    assert _row(app, lost)[0] == NotificationState.failed and "10005" in _row(app, lost)[1]
    # a row whose worker stopped during the call (the sweep's mark) is settled the same way
    stopped = _timed_out_row(app, "o-sent", "complaint_received",
                             error="worker stopped during the WeChat call; check before re-sending")
    items = [{"TemplateId": template_id("complaint_received"), "MsgID": "2000000003", "ErrorCode": 0}]
    assert _send_push(app, client, _event("o-sent", "subscribe_msg_sent_event", List=items)).status_code == 200
    assert _row(app, stopped)[0] == NotificationState.sent
    # the same event again (same MsgID) settles nothing more
    again = _timed_out_row(app, "o-sent", "complaint_received")
    assert _send_push(app, client, _event("o-sent", "subscribe_msg_sent_event", List=items)).status_code == 200
    assert _row(app, again)[0] == NotificationState.needs_review


def test_a_sent_event_that_may_be_another_sends_is_left_for_review(app, client, wechat_sandbox, demo):
    sign_in(client, wechat_sandbox, "o-twice")
    unknown = _timed_out_row(app, "o-twice", "complaint_received")
    normal = _timed_out_row(app, "o-twice", "complaint_received", state=NotificationState.sent, error=None)
    items = [{"TemplateId": template_id("complaint_received"), "MsgID": "2000000009", "ErrorCode": 0}]
    assert _send_push(app, client, _event("o-twice", "subscribe_msg_sent_event", List=items)).status_code == 200
    assert _row(app, unknown)[0] == NotificationState.needs_review and _row(app, normal)[0] == NotificationState.sent


def test_privacy_events_remove_the_residents_data_and_are_audited(app, client, wechat_sandbox, demo, scene):
    token = sign_in(client, wechat_sandbox, "o-private")
    pid = upload(client, token, jpeg()).json["data"]["id"]
    body = {"scene": scene, "category": "设施维修", "text": "路灯坏了两个星期", "phone": "13812341234",
            "location": {"latitude": 34.2, "longitude": 117.3, "address": "梁堂村东头"}, "photos": [pid]}
    res = client.post("/api/v1/complaints", json=body, headers=auth(token))
    assert res.status_code == 201, res.json
    cid = res.json["data"]["id"]

    event = {**_event("o_platform", "user_authorization_cancellation"), "OpenID": "o-private",
             "AppID": app.config["XINMA"].wechat_appid}
    assert _send_push(app, client, event, mode="safe", fmt="xml").status_code == 200

    assert client.get("/api/v1/complaints", headers=auth(token)).status_code == 401  # sessions ended
    with app.extensions["xinma.sessionmaker"]() as session:
        contact = session.get(ComplaintContact, cid)
        assert (contact.phone, contact.latitude, contact.longitude, contact.address) == (None, None, None, None)
        assert session.get(Photo, pid) is None
        assert session.scalar(select(func.count()).select_from(PhotoFile)) == 0
        assert session.scalar(select(Resident).where(Resident.openid == "o-private")) is None
        assert session.get(Complaint, cid).text == "路灯坏了两个星期"
        audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data_removed"))
        assert audit.reason == "user_authorization_cancellation" and audit.data["photos"] == 1
    # the same person opening the mini-program again is a new resident with nothing of the old
    again = sign_in(client, wechat_sandbox, "o-private")
    assert client.get("/api/v1/complaints", headers=auth(again)).json["data"] == []


def test_the_sandbox_pushes_to_the_live_backend_in_safe_mode(live_app, live_env, wechat_sandbox, db):
    """End to end: the sandbox, set up as the console would be (safe mode, XML), pushes the subscribe popup's answer
    and a media-check verdict, and the backend applies both."""
    from web.settings import load_settings

    settings = load_settings(live_env)
    wechat_sandbox.control("POST", "/_sandbox/push", {
        "url": live_app.url + "/wechat/push", "token": settings.push_token, "aes_key": AES_KEY, "mode": "safe",
        "format": "xml", "delay": 0.05, "media_verdict": "risky"})
    http = requests.Session()
    login = http.post(f"{live_app.url}/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-live")},
                      timeout=10)
    token = login.json()["data"]["token"]
    received = template_id("complaint_received")
    answer = wechat_sandbox.control("POST", "/_sandbox/subscribe", {"openid": "o-live", "template_ids": [received]})
    assert answer["push"]["delivered"] is True, answer["push"]
    left = http.get(f"{live_app.url}/api/v1/subscriptions", headers=auth(token), timeout=10).json()["data"]["left"]
    assert left[received] == 1

    files = {"file": ("photo.jpg", jpeg(), "image/jpeg")}
    pid = http.post(f"{live_app.url}/api/v1/photos", files=files, headers=auth(token), timeout=10).json()["data"]["id"]
    gateway = WeChatGateway(settings.wechat_appid, settings.wechat_secret, base_url=wechat_sandbox.url + "/")
    try:
        trace_id = gateway.media_check_async("o-live", f"{live_app.url}/wechat/media/x.jpg")
    finally:
        gateway.close()
    db.execute(update(Photo).where(Photo.id == pid).values(media_trace_id=trace_id))
    db.commit()

    def verdict():
        db.expire_all()
        return db.scalar(select(Photo.media_check).where(Photo.id == pid))

    wait_for(verdict, timeout=10, what="the pushed verdict")
    assert verdict() == "risky"
    pushes = wechat_sandbox.control("GET", "/_sandbox/pushes")["pushes"]
    assert [p["attempts"][-1]["answer"] for p in pushes] == ["success", "success"]


def test_a_send_that_timed_out_is_confirmed_by_the_sandboxs_sent_event(live_app, live_env, workers, wechat_sandbox,
                                                                         db):
    """End to end with a worker: WeChat answers a receipt too late (the worker's call times out, the outcome is
    unknown), delivers it anyway, and its subscribe_msg_sent_event settles the row as sent."""
    from models import QrCode, Unit
    from qr.demo import seed_demo
    from web.settings import load_settings

    seed_demo(db)
    db.commit()
    unit = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    scene = db.scalar(select(QrCode.token).where(QrCode.unit_id == unit.id, QrCode.revoked_at.is_(None)))
    settings = load_settings(live_env)
    wechat_sandbox.control("POST", "/_sandbox/push", {"url": live_app.url + "/wechat/push",
                                                      "token": settings.push_token, "delay": 0.05})
    http = requests.Session()
    token = http.post(f"{live_app.url}/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-late")},
                      timeout=10).json()["data"]["token"]
    for _ in range(2):  # two taps of 允许: the resident has a send to spare, so the worker will not re-send
        wechat_sandbox.subscribe("o-late", template_id("complaint_received"))
    # WeChat takes longer than the worker waits (XINMA_WECHAT_TIMEOUT=3) but delivers
    wechat_sandbox.fault("subscribe_send", "timeout", 5, count=1)
    workers.start()
    res = http.post(f"{live_app.url}/api/v1/complaints", headers=auth(token), timeout=10,
                    json={"scene": scene, "category": "设施维修", "text": "路灯坏了两个星期"})
    assert res.status_code == 201, res.text

    def receipt():
        db.expire_all()
        return db.scalar(select(Notification).where(Notification.openid == "o-late",
                                                    Notification.event == "complaint_received"))

    wait_for(lambda: receipt() is not None and receipt().last_error, timeout=30, what="the receipt's timeout")
    assert "outcome_unknown" in receipt().last_error
    wait_for(lambda: receipt().state == NotificationState.sent, timeout=30, what="the sent event")
    assert receipt().last_error.startswith("subscribe_msg_sent_event: delivered")
    assert len(wechat_sandbox.messages(openid="o-late")) == 1

"""Content security: the worker job checks text with msgSecCheck v2; risky/review are flagged; WeChat down holds."""

from __future__ import annotations

from models import Complaint

from .support import auth, sign_in


def submit(client, token, scene, text):
    res = client.post("/api/v1/complaints", json={"scene": scene, "category": "其他", "text": text},
                      headers=auth(token))
    assert res.status_code == 201, res.json
    # never checked in the request path
    assert res.json["data"]["state"] == "submitted"
    return res.json["data"]["id"]


def complaint(app, cid) -> Complaint:
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.get(Complaint, cid)


def test_clean_text_goes_to_triage(client, wechat_sandbox, app, scene, job_runtime):
    from workers.content_checks import check_complaint_content

    cid = submit(client, sign_in(client, wechat_sandbox), scene, "小区垃圾桶满了没人清")
    assert check_complaint_content(cid) == "pass"
    row = complaint(app, cid)
    assert (row.state.value, row.content_check) == ("awaiting_triage", "pass")


def test_text_the_sandbox_flags_is_kept_out_of_view_and_flagged(client, wechat_sandbox, app, scene, job_runtime):
    from workers.content_checks import check_complaint_content

    token = sign_in(client, wechat_sandbox)
    risky = submit(client, token, scene, "楼下有人聚众赌博")
    review = submit(client, token, scene, "我要投诉某某领导")
    assert check_complaint_content(risky) == "risky"
    assert check_complaint_content(review) == "review"
    assert complaint(app, risky).content_check == "risky"
    assert complaint(app, review).content_check == "review"
    calls = wechat_sandbox.control("GET", "/_sandbox/calls")
    assert "sec_check" in str(calls)


def test_wechat_unreachable_holds_the_complaint_until_the_check_succeeds(client, wechat_sandbox, app, scene,
                                                                         job_runtime):
    from workers.content_checks import check_complaint_content

    cid = submit(client, sign_in(client, wechat_sandbox), scene, "路灯不亮")
    wechat_sandbox.fault("sec_check", "http_500", count=None)
    assert check_complaint_content(cid) == "held"
    row = complaint(app, cid)
    assert (row.state.value, row.content_check) == ("submitted", "held")
    # the resident still sees their complaint, accepted as submitted
    mine = client.get("/api/v1/complaints", headers=auth(sign_in(client, wechat_sandbox)))
    assert [c["state_label"] for c in mine.json["data"]] == ["已提交"]
    wechat_sandbox.control("DELETE", "/_sandbox/faults")
    assert check_complaint_content(cid) == "pass"
    assert complaint(app, cid).state.value == "awaiting_triage"


def test_flagged_complaints_reach_the_staff_review_queue_and_stay_out_of_public_views(
        client, wechat_sandbox, app, scene, job_runtime):
    from sqlalchemy import select

    from models import Staff
    from models.intake import content_review_queue, publicly_visible
    from workers.content_checks import check_complaint_content

    token = sign_in(client, wechat_sandbox)
    ids = [submit(client, token, scene, text) for text in ("楼下有人聚众赌博", "我要投诉某某领导", "井盖丢了")]
    for cid in ids:
        check_complaint_content(cid)
    with app.extensions["xinma.sessionmaker"]() as session:
        grid_worker = session.scalar(select(Staff).where(Staff.username == "wangge1"))
        assert [c.id for c in content_review_queue(session, grid_worker)] == ids[:2]
        public = session.scalars(select(Complaint.id).where(publicly_visible())).all()
        assert list(public) == ids[2:]


def _h5_complaint(client, scene, text) -> int:
    import re

    page = client.get(f"/h5/{scene}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    sent = client.post(f"/h5/{scene}", data={"csrf_token": csrf, "category": "其他", "text": text})
    assert sent.status_code == 303, sent.get_data(as_text=True)[:300]
    with client.application.extensions["xinma.sessionmaker"]() as session:
        from sqlalchemy import func, select

        return session.scalar(select(func.max(Complaint.id)))


def test_text_wechat_cannot_check_goes_to_manual_review_never_through(client, wechat_sandbox, app, scene,
                                                                     job_runtime):
    """msgSecCheck v2 needs an active openid: H5 residents have none, and a resident may be inactive by then."""
    from sqlalchemy import select

    from models import AuditEvent, Staff
    from models.intake import content_review_queue, publicly_visible
    from workers.content_checks import check_complaint_content

    h5 = _h5_complaint(client, scene, "井盖丢了，晚上很危险")
    inactive = submit(client, sign_in(client, wechat_sandbox, "o-away"), scene, "路灯坏了")
    wechat_sandbox.clock.advance(3 * 3600)  # the resident has not opened the mini-program for three hours
    assert check_complaint_content(h5) == "review"
    assert check_complaint_content(inactive) == "review"
    calls = str(wechat_sandbox.control("GET", "/_sandbox/calls"))
    assert calls.count("sec_check") == 1  # only the mini-program resident's text could be sent to WeChat
    with app.extensions["xinma.sessionmaker"]() as session:
        grid_worker = session.scalar(select(Staff).where(Staff.username == "wangge1"))
        assert [c.id for c in content_review_queue(session, grid_worker)] == [h5, inactive]
        assert session.scalars(select(Complaint.id).where(publicly_visible())).all() == []
        reasons = session.scalars(select(AuditEvent.data).where(AuditEvent.subject_kind == "complaint",
                                                                AuditEvent.action == "accept")
                                  .order_by(AuditEvent.subject_id)).all()
        assert [r["unchecked"] for r in reasons] == ["no_openid", "user_inactive"]
        assert {session.get(Complaint, cid).state.value for cid in (h5, inactive)} == {"awaiting_triage"}


def test_a_submission_is_counted_once_in_the_statistics_and_its_grid_workers_hear_of_it(
        client, wechat_sandbox, app, scene, job_runtime):
    """The submission path writes with Core statements, the acceptance through the ORM: the statistics' running
    sums must count the complaint exactly once either way, as a rebuild from the base tables does; and the grid
    workers covering the unit are told of it within a minute (their outbox row, gathering for 30 seconds)."""
    from sqlalchemy import select

    from council.statistics import Period, figures
    from models import Notification, Staff, Unit
    from models.notify import DigestItem
    from models.stats import StatCell, fold, rebuild
    from workers.content_checks import check_complaint_content

    def state():
        with app.extensions["xinma.sessionmaker"]() as session:
            district = session.scalar(select(Unit).where(Unit.parent_id.is_(None)))
            received = figures(session, district, Period(None, None))["complaints_received"]
            fold(session)
            session.commit()
            sums = sorted((c.unit_id, c.grain, c.day, c.key, c.n) for c in session.scalars(select(StatCell)) if c.n)
            return received, sums

    before = state()[0]
    cid = submit(client, sign_in(client, wechat_sandbox), scene, "村口路灯不亮了")
    assert state()[0] == before + 1
    assert check_complaint_content(cid) == "pass"
    received, sums = state()
    assert received == before + 1
    with app.extensions["xinma.sessionmaker"]() as session:
        rebuild(session)
        session.commit()
    assert state() == (received, sums)

    with app.extensions["xinma.sessionmaker"]() as session:
        told = session.execute(select(Staff.username, Notification.event, Notification.params,
                                      Notification.created_at, Notification.next_attempt_at)
                               .join(Staff, Staff.id == Notification.recipient_id)
                               .where(Notification.recipient_kind == "staff")).all()
        assert not session.scalars(select(DigestItem)).all()  # not left for the morning's digest
    assert [(name, event, params["complaint_ids"], params["count"]) for name, event, params, *_ in told] == [
        ("wangge1", "complaint_new_in_unit", [cid], "1")]
    assert 0 < (told[0][4] - told[0][3]).total_seconds() <= 60

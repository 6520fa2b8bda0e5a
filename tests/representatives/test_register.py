"""The register of representatives and liaisons: recommended, reviewed, decided, publicly announced for a notice
period and appointed, each step audited; declined and withdrawn; scope; refusals that change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from models import AuditEvent, Conflict, utcnow
from models.lifecycle import Actor
from models.representatives import (
    NOTICE_DAYS,
    REPRESENTATIVE_TRANSITIONS,
    AppointmentState,
    PersonalCode,
    Representative,
    recommend,
    transition_representative,
)
from tests.representatives.support import post, staff_named, staff_sign_in, unit_named


def _count(app, model) -> int:
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.scalar(select(func.count()).select_from(model))


def _rep(app, name: str) -> Representative:
    with app.extensions["xinma.sessionmaker"]() as session:
        return session.scalar(select(Representative).where(Representative.name == name))


def _step(client, rep_id: int, action: str, notes: str = ""):
    page = client.get(f"/admin/representatives/{rep_id}")
    return post(client, f"/admin/representatives/{rep_id}/steps", {"action": action, "notes": notes}, page.text)


def test_secretary_takes_a_representative_through_every_step_to_a_personal_code(app, client, demo):
    staff_sign_in(client, "shuji1")  # 梁堂村's secretary
    with app.extensions["xinma.sessionmaker"]() as session:
        grid = unit_named(session, "梁堂村第一网格").id
    page = client.get("/admin/representatives")
    assert page.status_code == 200 and "登记推荐人选" in page.text
    res = post(client, "/admin/representatives", {"unit_id": grid, "kind": "representative", "name": "张三",
                                                  "recommended_by": "第一党支部", "duties": ["visiting", "waiting"]},
               page.text)
    assert res.status_code == 303
    rep = _rep(app, "张三")
    assert rep.state == AppointmentState.recommended and rep.duties == ["waiting", "visiting"]

    res = _step(client, rep.id, "review", "群众基础好，无不良记录")
    assert res.status_code == 303
    assert _step(client, rep.id, "decide").status_code == 303
    assert _step(client, rep.id, "announce").status_code == 303
    rep = _rep(app, "张三")
    assert rep.state == AppointmentState.announced and rep.review_notes == "群众基础好，无不良记录"
    assert dt.timedelta(days=NOTICE_DAYS - 1) < rep.notice_ends_at - utcnow() <= dt.timedelta(days=NOTICE_DAYS)
    detail = client.get(f"/admin/representatives/{rep.id}").text
    assert "公示期至" in detail and "聘任后生成连心码" in detail

    # During the notice period the appointment is refused with the reason, and nothing changes.
    res = _step(client, rep.id, "appoint")
    assert res.status_code == 409 and "公示期尚未结束" in res.text
    assert _rep(app, "张三").state == AppointmentState.announced and _count(app, PersonalCode) == 0

    with app.extensions["xinma.sessionmaker"]() as session:  # the five days pass
        session.execute(update(Representative).values(notice_ends_at=utcnow() - dt.timedelta(minutes=1)))
        session.commit()
    assert _step(client, rep.id, "appoint").status_code == 303
    rep = _rep(app, "张三")
    assert rep.state == AppointmentState.appointed and rep.appointed_at is not None
    detail = client.get(f"/admin/representatives/{rep.id}").text
    assert "下载连心卡" in detail and "/q/p~" in detail
    with app.extensions["xinma.sessionmaker"]() as session:
        steps = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_kind == "representative",
                                                                AuditEvent.subject_id == rep.id)
                                .order_by(AuditEvent.id)).all()
        actors = set(session.scalars(select(AuditEvent.actor_id).where(AuditEvent.subject_kind == "representative")))
        assert actors == {staff_named(session, "shuji1").id}
    assert steps == ["recommend", "review", "decide", "announce", "appoint"]
    for label in ("推荐", "审查", "决定", "公示", "聘任"):
        assert label in detail


def test_a_withdrawn_representative_s_code_stops_working(app, client, demo):
    from tests.representatives.support import appointed, personal_token

    rep_id = appointed(app)
    token = personal_token(app, rep_id)
    assert client.get(f"/api/v1/scenes/{token}").status_code == 200
    staff_sign_in(client, "admin")
    assert _step(client, rep_id, "withdraw", "本人申请退出").status_code == 303
    res = client.get(f"/api/v1/scenes/{token}")
    assert res.status_code == 410 and res.json["error"]["code"] == "scene_revoked"
    # A withdrawn representative takes no further step.
    res = _step(client, rep_id, "appoint")
    assert res.status_code == 409 and "当前环节不能进行这一步" in res.text


@pytest.mark.parametrize("form, message", [
    ({"name": "", "kind": "representative", "recommended_by": "支部"}, "请填写姓名"),
    ({"name": "李四", "kind": "mayor", "recommended_by": "支部"}, "请选择议政代表或民意联络员"),
    ({"name": "李四", "kind": "liaison", "recommended_by": " "}, "请填写推荐人"),
    ({"name": "李四", "kind": "liaison", "recommended_by": "支部", "duties": ["dancing"]}, "候访、接访、约访、走访"),
])
def test_a_bad_recommendation_is_refused_and_writes_nothing(app, client, demo, form, message):
    staff_sign_in(client, "admin")
    with app.extensions["xinma.sessionmaker"]() as session:
        grid = unit_named(session, "梁堂村第一网格").id
    before = (_count(app, Representative), _count(app, AuditEvent))
    res = post(client, "/admin/representatives", {"unit_id": grid, **form}, client.get("/admin/representatives").text)
    assert res.status_code == 400 and message in res.text
    assert (_count(app, Representative), _count(app, AuditEvent)) == before


def test_a_secretary_sees_and_registers_only_in_their_own_units(app, client, demo):
    from tests.representatives.support import appointed

    other = appointed(app, unit_name="汉王村第一网格", name="王五")
    staff_sign_in(client, "shuji1")  # 梁堂村, not 汉王村
    assert "王五" not in client.get("/admin/representatives").text
    assert client.get(f"/admin/representatives/{other}").status_code == 404
    assert _step(client, other, "withdraw").status_code == 404
    with app.extensions["xinma.sessionmaker"]() as session:
        foreign = unit_named(session, "汉王村第一网格").id
    res = post(client, "/admin/representatives", {"unit_id": foreign, "kind": "liaison", "name": "赵六",
                                                  "recommended_by": "支部"}, client.get("/admin/representatives").text)
    assert res.status_code == 400 and "只能为您管辖范围内的单位登记" in res.text
    staff_sign_in(client, "wangge1")  # a grid worker keeps no register
    assert client.get("/admin/representatives").status_code == 404


def test_every_step_of_the_table_is_allowed_and_every_other_refused(app, demo, db):
    admin = staff_named(db, "admin")
    unit = unit_named(db, "梁堂村")
    actions = {action for _, action in REPRESENTATIVE_TRANSITIONS} - {"recommend"}
    past = utcnow() - dt.timedelta(days=NOTICE_DAYS + 1)
    for state in AppointmentState:
        for action in sorted(actions):
            rep = recommend(db, admin, unit, kind="liaison", name="测试", duties=[], recommended_by="支部")
            rep.state = state
            rep.notice_ends_at = past
            db.flush()
            if (state, action) in REPRESENTATIVE_TRANSITIONS:
                transition_representative(db, rep, action, actor=Actor.staff(admin))
                assert rep.state == REPRESENTATIVE_TRANSITIONS[(state, action)]
            else:
                with pytest.raises(Conflict):
                    transition_representative(db, rep, action, actor=Actor.staff(admin))
                assert rep.state == state


def test_the_sweep_ends_a_term_that_ran_out_and_its_code_stops(app, client, demo, job_runtime):
    from models.base import CHINA
    from tests.representatives.support import appointed, personal_token
    from workers.periodic import check_due

    ended, current = appointed(app, name="张三"), appointed(app, name="李四")
    today = dt.datetime.now(CHINA).date()
    with app.extensions["xinma.sessionmaker"]() as session:
        session.get(Representative, ended).term_ends_on = today - dt.timedelta(days=1)
        session.get(Representative, current).term_ends_on = today  # ends tonight: still serving today
        session.commit()
    token = personal_token(app, ended)
    assert check_due()["terms_ended"] == 1
    assert check_due()["terms_ended"] == 0  # once
    assert (_rep(app, "张三").state, _rep(app, "李四").state) == (AppointmentState.ended, AppointmentState.appointed)
    res = client.get(f"/api/v1/scenes/{token}")
    assert res.status_code == 410 and res.json["error"]["code"] == "scene_revoked"
    with app.extensions["xinma.sessionmaker"]() as session:
        event = session.scalar(select(AuditEvent).where(AuditEvent.subject_id == ended,
                                                        AuditEvent.action == "end_term"))
        assert (event.actor_kind, event.reason) == ("system", "任期届满")

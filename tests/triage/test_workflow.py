"""Every triage decision through the pages, the refusals that change nothing, rule sets, deadlines and the queue."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from models import (
    Actor,
    AuditEvent,
    Complaint,
    ComplaintState,
    Conflict,
    Notification,
    StaffRole,
    Topic,
    TopicState,
    transition_complaint,
)
from models.db import make_sessionmaker
from models.triage import Holiday, HomeVisit
from tests import factories
from tests.triage.test_decisions import form, sign_in, snapshot
from triage.rules import CHINA, add_working_days, install_rule_set
from triage.similar import bigrams, dice


@pytest.fixture
def world(app):
    with app.extensions["xinma.sessionmaker"]() as session:
        u = factories.units(session)
        factories.staff(session, StaffRole.grid_worker, u["grid"], username="worker")
        factories.staff(session, StaffRole.grid_worker, u["community"], username="community")
        factories.staff(session, StaffRole.grid_worker, u["street"], username="street")
        factories.staff(session, StaffRole.grid_worker, u["district"], username="district")
        factories.staff(session, StaffRole.secretary, u["community"], openid="o-sec", username="secretary")
        alice, bob = factories.resident(session, "o-alice"), factories.resident(session, "o-bob")
        first = factories.complaint(session, u["grid"], alice, text="小区东门路灯坏了，晚上很黑")
        second = factories.complaint(session, u["grid"], bob, text="东门的路灯坏了好几天，晚上很黑不安全")
        closed = factories.complaint(session, u["grid"], bob, state=ComplaintState.solved, text="东门路灯坏了")
        session.commit()
        return {"units": {k: v.id for k, v in u.items()}, "first": first.id, "second": second.id,
                "closed": closed.id, "district": u["district"].id}


def page(client, cid: int) -> str:
    return client.get(f"/triage/complaints/{cid}").text


def post(client, cid: int, action: str, **fields):
    return client.post(f"/triage/complaints/{cid}/{action}", data={**form(client, f"/triage/complaints/{cid}"),
                                                                    **fields})


def load(app, cid: int) -> Complaint:
    with app.extensions["xinma.sessionmaker"]() as session:
        row = session.get(Complaint, cid)
        session.expunge(row)
        return row


def notes_for(app, openid: str) -> list[Notification]:
    with app.extensions["xinma.sessionmaker"]() as session:
        return list(session.scalars(select(Notification).where(Notification.openid == openid)
                                    .order_by(Notification.id)))


def test_similar_open_complaints_are_shown_and_closed_ones_are_not(client, world):
    sign_in(client, "worker")
    html = page(client, world["first"])
    assert f'data-similar="{world["second"]}"' in html
    assert f'data-similar="{world["closed"]}"' not in html
    assert dice(bigrams("东门路灯坏了"), bigrams("东门路灯坏了！")) == 1.0
    assert dice(bigrams("东门路灯坏了"), bigrams("楼上漏水")) == 0.0


def test_solve_in_the_grid_tells_the_resident_what_was_done(client, app, world):
    sign_in(client, "worker")
    res = post(client, world["first"], "solve", note="已联系物业更换灯泡")
    assert res.status_code == 302
    row = load(app, world["first"])
    assert (row.state, row.reply) == (ComplaintState.solved, "已联系物业更换灯泡")
    assert [n.params["action"] for n in notes_for(app, "o-alice")] == ["solve"]


def test_merge_then_decision_reaches_the_merged_resident(client, app, world):
    sign_in(client, "worker")
    assert post(client, world["second"], "merge", target_id=str(world["first"])).status_code == 302
    assert load(app, world["second"]).merged_into_id == world["first"]
    assert [n.params["action"] for n in notes_for(app, "o-bob")] == ["merge"]
    post(client, world["first"], "promote", title="东门路灯维修", summary="", category="livelihood")
    merged = load(app, world["second"])
    first = load(app, world["first"])
    assert merged.state == ComplaintState.merged and merged.topic_id == first.topic_id is not None
    assert [n.params["action"] for n in notes_for(app, "o-bob")] == ["merge", "promote"]


def test_merge_refusals_change_nothing(client, app, world):
    sign_in(client, "worker")
    before = snapshot(app)
    res = post(client, world["first"], "merge", target_id=str(world["first"]))
    assert res.status_code == 400 and "不能把一条反映合并到它自己" in res.text
    res = post(client, world["first"], "merge", target_id=str(world["closed"]))
    assert res.status_code == 400 and "已办结或已合并" in res.text
    res = post(client, world["first"], "merge", target_id="99999")
    assert res.status_code == 404 and "未找到要合并到的反映" in res.text
    assert snapshot(app) == before


def test_escalation_moves_the_complaint_up_one_queue_at_a_time(client, app, world):
    sign_in(client, "worker")
    assert post(client, world["first"], "escalate", reason="涉及多个网格，需社区协调").status_code == 302
    assert load(app, world["first"]).unit_id == world["units"]["community"]
    assert client.get(f"/triage/complaints/{world['first']}").status_code == 404  # no longer mine
    for who, unit in (("community", "street"), ("street", "district")):
        sign_in(client, who)
        assert f'data-complaint="{world["first"]}"' in client.get("/triage/").text
        assert post(client, world["first"], "escalate", reason="需要上级协调").status_code == 302
        assert load(app, world["first"]).unit_id == world["units"][unit]
    sign_in(client, "district")
    before = snapshot(app)
    res = post(client, world["first"], "escalate", reason="再往上")
    assert res.status_code == 400 and "已是最高一级单位" in res.text
    assert snapshot(app) == before


def test_join_an_existing_topic_and_refuse_a_closed_one(client, app, world):
    with app.extensions["xinma.sessionmaker"]() as session:
        from models import Unit

        community = session.get(Unit, world["units"]["community"])
        open_topic = factories.topic(session, community, title="东门照明")
        shut = factories.topic(session, community, state=TopicState.closed, title="旧议题")
        session.commit()
        open_id, shut_id = open_topic.id, shut.id
    sign_in(client, "worker")
    before = snapshot(app)
    res = post(client, world["first"], "promote", topic_id=str(shut_id))
    assert res.status_code == 400 and "议题已结束" in res.text
    assert snapshot(app) == before
    assert post(client, world["first"], "promote", topic_id=str(open_id)).status_code == 302
    row = load(app, world["first"])
    assert (row.state, row.topic_id) == (ComplaintState.promoted, open_id)
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(Topic).where(Topic.id == open_id)).state == TopicState.proposed


def test_home_visit_is_recorded_and_the_complaint_stays_in_the_queue(client, app, world):
    sign_in(client, "worker")
    res = post(client, world["first"], "visit", notes="上门与两户协商，约定周末再议")
    assert res.status_code == 302
    html = client.get(res.headers["Location"]).text
    assert "已记录上门协商" in html and "约定周末再议" in html and "网格员已上门协商" in html
    assert load(app, world["first"]).state == ComplaintState.awaiting_triage
    with app.extensions["xinma.sessionmaker"]() as session:
        assert session.scalar(select(HomeVisit.notes)) == "上门与两户协商，约定周末再议"


def test_decline_with_referral_and_a_district_rule_set(client, app, world):
    with app.extensions["xinma.sessionmaker"]() as session:
        from models import Unit

        install_rule_set(session, session.get(Unit, world["district"]), "five_no", triage_days=5)
        session.commit()
    sign_in(client, "worker")
    html = page(client, world["first"])
    assert "五不议" in html and "涉及个人隐私的不议" in html and "个体矛盾" not in html
    before = snapshot(app)
    res = post(client, world["first"], "decline", reason_code="individual_dispute", reply="不议")
    assert res.status_code == 400 and "未知的理由代码" in res.text
    res = post(client, world["first"], "decline", reason_code="privacy", reply="不议", referral="nowhere")
    assert res.status_code == 400 and "未知的转介渠道" in res.text
    assert snapshot(app) == before
    res = post(client, world["first"], "decline", reason_code="privacy", reply="涉及个人隐私，已转人民调解",
               referral="mediation")
    assert res.status_code == 302
    note = notes_for(app, "o-alice")[-1]
    assert note.params["referral_name"] == "人民调解" and note.params["reason"] == "涉及个人隐私的不议"


def test_stale_form_shows_what_happened(client, app, world):
    sign_in(client, "worker")
    stale = form(client, f"/triage/complaints/{world['first']}")
    client.post(f"/triage/complaints/{world['first']}/solve", data={**stale, "note": "已修好"})
    after = snapshot(app)
    res = client.post(f"/triage/complaints/{world['first']}/decline",
                      data={**stale, "reason_code": "unfair", "reply": "不议"})
    assert res.status_code == 409
    assert "已被他人更新" in res.text and "网格员已解决" in res.text and "已修好" in res.text
    assert snapshot(app) == after


def test_two_decisions_at_once_land_once(app, world, engine):
    """Both workers loaded the same version; the second compare-and-set finds the row changed and writes nothing."""
    make = make_sessionmaker(engine)
    with make() as one, make() as two:
        a, b = one.get(Complaint, world["first"]), two.get(Complaint, world["first"])
        seen = a.state_changed_at
        transition_complaint(one, a, "solve", actor=Actor("staff", 1), expect=seen)
        one.commit()
        with pytest.raises(Conflict) as info:
            transition_complaint(two, b, "decline", actor=Actor("staff", 2), expect=seen)
        assert info.value.code == "stale_form"
        two.rollback()
    with make() as check:
        assert check.get(Complaint, world["first"]).state == ComplaintState.solved
        assert len(check.scalars(select(AuditEvent).where(AuditEvent.subject_id == world["first"],
                                                          AuditEvent.action.in_(["solve", "decline"]))).all()) == 1


def test_working_day_deadline_follows_the_national_calendar_and_the_districts_days_off():
    friday = dt.datetime(2026, 10, 9, 10, 0, tzinfo=CHINA)
    assert add_working_days(friday, 1).date() == dt.date(2026, 10, 10)  # a 调休 Saturday is worked
    assert add_working_days(friday, 3).date() == dt.date(2026, 10, 13)
    before_national_day = dt.datetime(2026, 9, 30, 17, 0, tzinfo=CHINA)
    assert add_working_days(before_national_day, 1).date() == dt.date(2026, 10, 8)  # 国庆 1-7 October is not
    friday_before = dt.datetime(2026, 9, 18, 9, 0, tzinfo=CHINA)
    assert add_working_days(friday_before, 1).date() == dt.date(2026, 9, 20)  # and so is a 调休 Sunday
    # The district's own day off wins over the national calendar, on a 调休 Saturday as on a plain Monday.
    assert add_working_days(friday, 1, frozenset({dt.date(2026, 10, 10)})).date() == dt.date(2026, 10, 12)
    assert add_working_days(friday, 3, frozenset({dt.date(2026, 10, 12)})).date() == dt.date(2026, 10, 14)
    # A year the calendar does not know: Monday to Friday, less the district's days off.
    friday_2099 = dt.datetime(2099, 6, 12, 9, 0, tzinfo=CHINA)
    assert add_working_days(friday_2099, 1).date() == dt.date(2099, 6, 15)
    assert add_working_days(friday_2099, 1, frozenset({dt.date(2099, 6, 15)})).date() == dt.date(2099, 6, 16)


def test_queue_counts_filters_and_overdue(client, app, world):
    with app.extensions["xinma.sessionmaker"]() as session:
        old = session.get(Complaint, world["first"])
        old.created_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        session.add(Holiday(day=dt.date(2026, 10, 1), name="国庆节"))
        session.commit()
    sign_in(client, "community")
    html = client.get("/triage/").text
    assert re.search(r'id="count-awaiting">2<', html) and "已超期 1" in html
    assert html.index(f'data-complaint="{world["first"]}"') < html.index(f'data-complaint="{world["second"]}"')
    assert 'data-complaint' not in client.get("/triage/?category=停车").text
    assert f'data-complaint="{world["closed"]}"' not in html
    res = client.get(f"/triage/?unit={world['units']['other']}")
    assert res.status_code == 400 and "筛选条件不正确" in res.text


def test_admin_sets_the_district_rule_set_and_bad_input_changes_nothing(client, app, world):
    with app.extensions["xinma.sessionmaker"]() as session:
        from models import Unit

        factories.staff(session, StaffRole.admin, session.get(Unit, world["district"]), username="admin")
        session.commit()
    sign_in(client, "worker")
    assert client.get("/staff/rules").status_code == 404
    sign_in(client, "admin")
    html = client.get("/staff/rules").text
    assert "三议四不议" in html and "3 个工作日" in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    res = client.post("/staff/rules", data={"csrf_token": csrf, "preset": "custom", "reasons": "坏 行",
                                            "triage_days": "5"})
    assert res.status_code == 400 and "字段格式不正确" in res.text
    res = client.post("/staff/rules", data={"csrf_token": csrf, "preset": "five_no", "triage_days": "99"})
    assert res.status_code == 400
    assert "三议四不议" in client.get("/staff/rules").text
    res = client.post("/staff/rules", data={"csrf_token": csrf, "preset": "custom", "name": "本区三不议",
                                            "reasons": "too_small 小事自行协商\nlawsuit 已进入诉讼",
                                            "triage_days": "2"})
    assert res.status_code == 200 and "已保存" in res.text and "本区三不议" in res.text
    sign_in(client, "worker")
    html = page(client, world["first"])
    assert "本区三不议" in html and "已进入诉讼" in html and "2 个工作日" in html

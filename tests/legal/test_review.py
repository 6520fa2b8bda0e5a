"""Legal review (法制审核): a major topic is not resolved without the adviser's signed opinion; the adviser's home and
opinion form; the opinion published with the decision, on the board and in the resident's topic JSON."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import QrCode, TopicState, Unit
from models.council import Publication, TopicResolution
from models.legal import LegalOpinion
from tests.council.support import china_today

from .support import adviser, form_post, major, refused, sign_in, sign_in_adviser, snapshot, topic


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


MISSING = ("“村集体土地流转方案”属于重大事项，须经法制审核：还缺少法律顾问李律师出具的书面法律意见。请法律顾问在"
           "“法制审核”页面签署意见后，再记录决议。")
NO_ADVISER = ("“村集体土地流转方案”属于重大事项，须经法制审核，但本村（社区）还没有指定法律顾问：请联系区管理员指定，"
              "由法律顾问出具书面法律意见后再记录决议。")
UNLAWFUL = ("法律顾问李律师的法律意见认为“村集体土地流转方案”的方案不合法，不能作出同意实施的决议；请修改方案后请"
            "法律顾问重新审核，或选择不予实施。")


def resolve(client, topic_id: int, result: str = "agree"):
    url = f"/council/topics/{topic_id}"
    return form_post(client, url, f"{url}/resolution", {"result": result, "text": "按方案流转，收益按户分配",
                                                        "held_on": china_today()})


def sign_opinion(client, topic_id: int, conclusion: str = "lawful", text: str = "符合《农村土地承包法》第三十六条。"):
    url = f"/council/legal/topics/{topic_id}"
    return form_post(client, url, f"{url}/opinion", {"conclusion": conclusion, "text": text})


def test_a_major_topic_is_not_resolved_without_the_advisers_opinion(client, session):
    adviser(session, "梁堂村")
    major(session, "major_affairs")
    item = topic(session)
    sign_in(client, "shuji1")
    page = client.get(f"/council/topics/{item.id}").get_data(as_text=True)
    assert "重大事项" in page and "法律顾问：李律师" in page and "尚未出具法律意见。" in page
    before = snapshot(session)
    res = resolve(client, item.id)
    refused(res, 409, MISSING)
    assert res.get_data(as_text=True).count('data-code="legal_opinion_missing"') == 1
    assert snapshot(session) == before
    # "not resolved" is refused too: the review comes before any resolution of a major topic
    refused(resolve(client, item.id, "close"), 409, MISSING)
    assert snapshot(session) == before


def test_a_village_without_an_adviser_is_told_to_name_one(client, session):
    major(session, "major_affairs")
    item = topic(session)
    sign_in(client, "shuji1")
    before = snapshot(session)
    refused(resolve(client, item.id), 409, NO_ADVISER)
    assert snapshot(session) == before


def test_a_topic_of_a_category_not_marked_major_is_resolved_as_before(client, session):
    adviser(session, "梁堂村")
    major(session, "major_affairs")
    item = topic(session, category="livelihood")
    sign_in(client, "shuji1")
    assert "一般事项" in client.get(f"/council/topics/{item.id}").get_data(as_text=True)
    assert resolve(client, item.id).status_code == 302
    session.refresh(item)
    assert item.state == TopicState.agreed


def test_the_adviser_signs_an_opinion_and_the_topic_is_resolved(client, session):
    lawyer = adviser(session, "梁堂村")
    major(session, "major_affairs")
    item = topic(session)
    other = topic(session, village="彭城社区", title="彭城社区停车收费")  # not the adviser's
    general = topic(session, category="livelihood", title="梁堂村路灯维修")  # not major: no opinion needed
    sign_in_adviser(client)
    home = client.get("/council/", follow_redirects=True).get_data(as_text=True)
    assert "您是梁堂村的法律顾问。" in home
    assert f'data-awaiting="{item.id}"' in home and f'data-awaiting="{other.id}"' not in home
    assert f'data-topic="{general.id}"' in home and f'data-awaiting="{general.id}"' not in home
    res = sign_opinion(client, item.id)
    assert res.status_code == 302 and res.headers["Location"].endswith(f"/council/legal/topics/{item.id}#opinions")
    page = client.get(f"/council/legal/topics/{item.id}").get_data(as_text=True)
    assert "符合《农村土地承包法》第三十六条。" in page and "法律顾问 李律师" in page
    opinion = session.scalar(select(LegalOpinion).where(LegalOpinion.topic_id == item.id))
    assert (opinion.staff_id, opinion.signed_name, opinion.conclusion.value) == (lawyer.id, "李律师", "lawful")
    home = client.get("/council/legal").get_data(as_text=True)
    assert f'data-awaiting="{item.id}"' not in home and f'data-reviewed="{item.id}"' in home
    # the adviser of 梁堂村 reaches neither another village's topic nor a secretary's page
    assert client.get(f"/council/legal/topics/{other.id}").status_code == 404
    assert sign_opinion(client, other.id).status_code == 404
    assert client.get(f"/council/topics/{item.id}").status_code == 404
    client.post("/staff/signout", data={"csrf_token": ""})
    client.delete_cookie("session")
    sign_in(client, "shuji1")
    page = client.get(f"/council/topics/{item.id}").get_data(as_text=True)
    assert 'data-conclusion="lawful"' in page and "符合《农村土地承包法》第三十六条。" in page
    assert resolve(client, item.id).status_code == 302
    session.expire_all()
    assert session.get(type(item), item.id).state == TopicState.agreed
    assert session.scalar(select(TopicResolution.agreed).where(TopicResolution.topic_id == item.id)) is True


def test_an_unlawful_plan_is_not_agreed_but_may_be_declined(client, session):
    adviser(session, "梁堂村")
    major(session, "major_affairs")
    item = topic(session)
    sign_in_adviser(client)
    res = sign_opinion(client, item.id, "unlawful", "方案未经村民会议三分之二以上成员同意，违反法定程序。")
    assert res.status_code == 302
    client.delete_cookie("session")
    sign_in(client, "shuji1")
    before = snapshot(session)
    refused(resolve(client, item.id), 409, UNLAWFUL)
    assert snapshot(session) == before
    assert resolve(client, item.id, "close").status_code == 302
    session.expire_all()
    assert session.get(type(item), item.id).state == TopicState.closed


def test_the_resolve_step_of_the_four_step_route_waits_for_the_review(client, session):
    adviser(session, "梁堂村")
    major(session, "major_affairs")
    item = topic(session, state=TopicState.approved)
    sign_in(client, "shuji1")
    url = f"/council/topics/{item.id}"
    for step in ("propose", "discuss", "review"):
        res = form_post(client, url, f"{url}/route", {"step": step, "held_on": china_today(), "votes_for": "9",
                                                      "votes_against": "0", "votes_abstain": "1"})
        assert res.status_code == 302
    before = snapshot(session)
    res = form_post(client, url, f"{url}/route", {"step": "resolve", "held_on": china_today(), "votes_for": "40",
                                                  "votes_against": "2", "votes_abstain": "0"})
    assert res.status_code == 409 and 'data-code="legal_opinion_missing"' in res.get_data(as_text=True)
    assert snapshot(session) == before


@pytest.mark.parametrize(("conclusion", "text", "status", "message"), [
    ("", "合法", 400, "请选择审核结论：合法、需修改或不合法。"),
    ("legal", "合法", 400, "请选择审核结论：合法、需修改或不合法。"),
    ("lawful", "   ", 400, "请填写法律意见的内容。"),
    ("lawful", "很" * 5001, 400, "字段格式不正确：legal_opinion_text_empty。"),
])
def test_a_bad_opinion_is_refused_and_changes_nothing(client, session, conclusion, text, status, message):
    adviser(session, "梁堂村")
    item = topic(session)
    sign_in_adviser(client)
    before = snapshot(session)
    refused(sign_opinion(client, item.id, conclusion, text), status, message)
    assert snapshot(session) == before


def test_only_the_named_adviser_signs_and_only_until_the_decision_is_published(client, session):
    adviser(session, "汉王村")  # named by another village
    item = topic(session, state=TopicState.agreed)
    sign_in_adviser(client)
    before = snapshot(session)
    assert sign_opinion(client, item.id).status_code == 404
    client.delete_cookie("session")
    sign_in(client, "shuji1")  # a secretary does not sign opinions
    assert client.post(f"/council/legal/topics/{item.id}/opinion", data={}).status_code == 404
    assert snapshot(session) == before
    adviser(session, "梁堂村", username="lvshi2", display_name="周律师")
    url = f"/council/topics/{item.id}"
    assert form_post(client, url, f"{url}/publications", {"kind": "decision", "text": "决定流转",
                                                          "published_on": china_today()}).status_code == 302
    client.delete_cookie("session")
    sign_in_adviser(client, "lvshi2")
    page = client.get(f"/council/legal/topics/{item.id}").get_data(as_text=True)
    assert "不能再出具法律意见" in page and 'id="opinion-form"' not in page
    before = snapshot(session)
    refused(sign_opinion(client, item.id), 409, "这个议题的决策已经公开或已进入落实，不能再出具法律意见。")
    assert snapshot(session) == before


def test_the_opinion_is_published_with_the_decision(client, session, wechat_sandbox):
    res = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-legal")})
    token = res.json["data"]["token"]
    from models import Resident

    resident = session.scalar(select(Resident).where(Resident.openid == "o-legal"))
    adviser(session, "梁堂村")
    major(session, "major_affairs")
    item = topic(session, resident=resident)
    sign_in_adviser(client)
    assert sign_opinion(client, item.id, "needs_changes", "收益分配方案应经村民会议讨论决定。").status_code == 302
    client.delete_cookie("session")
    sign_in(client, "shuji1")
    assert resolve(client, item.id).status_code == 302  # 需修改 does not stop the resolution
    scene = session.scalar(select(QrCode.token).join(Unit).where(Unit.name == "梁堂村", QrCode.revoked_at.is_(None)))
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/topics/{item.id}", headers=auth).json["data"]["legal_opinion"] is None
    assert client.get(f"/api/v1/boards/{scene}", headers=auth).json["data"]["publications"] == []
    assert "收益分配方案应经村民会议讨论决定。" not in client.get(f"/board/{scene}").get_data(as_text=True)
    url = f"/council/topics/{item.id}"
    assert form_post(client, url, f"{url}/publications", {"kind": "decision", "text": "土地流转方案已通过",
                                                          "published_on": china_today()}).status_code == 302
    published = client.get(f"/api/v1/topics/{item.id}", headers=auth).json["data"]["legal_opinion"]
    assert published["conclusion"] == "needs_changes" and published["conclusion_label"] == "需修改"
    assert published["text"] == "收益分配方案应经村民会议讨论决定。" and published["adviser"] == "李律师"
    assert published["signed_at"].endswith("+08:00")
    [decision] = client.get(f"/api/v1/boards/{scene}", headers=auth).json["data"]["publications"]
    assert decision["kind"] == "decision" and decision["legal_opinion"] == published
    board = client.get(f"/board/{scene}").get_data(as_text=True)
    assert "法律意见：需修改" in board and "收益分配方案应经村民会议讨论决定。" in board and "法律顾问 李律师" in board
    assert session.scalar(select(Publication.kind).where(Publication.topic_id == item.id)).value == "decision"


def test_the_council_agrees_on_a_major_topic_only_after_its_review(client, session):
    import datetime as dt

    from models import Meeting, utcnow
    from models.council import MeetingDetail
    from models.entities import meeting_topics

    adviser(session, "梁堂村")
    major(session, "major_affairs")
    item = topic(session, state=TopicState.scheduled)
    place = session.scalar(select(Unit).where(Unit.name == "梁堂村"))
    row = Meeting(unit_id=place.id, starts_at=utcnow() - dt.timedelta(minutes=5), place="村部", form="forum",
                  created_at=utcnow())
    session.add(row)
    session.flush()
    session.add(MeetingDetail(meeting_id=row.id, title="梁堂村19点议事厅"))
    session.execute(meeting_topics.insert().values(meeting_id=row.id, topic_id=item.id))
    session.commit()
    url = f"/council/meetings/{row.id}"
    sign_in(client, "shuji1")
    page = client.get(url).get_data(as_text=True)
    assert f'data-legal-pending="{item.id}"' in page and "法律顾问李律师尚未出具法律意见" in page
    data = {f"result_{item.id}": "consensus", f"solution_{item.id}": "按方案流转", "minutes": "议定流转。"}
    before = snapshot(session)
    refused(form_post(client, url, f"{url}/record", data), 409, MISSING)
    assert snapshot(session) == before
    assert session.get(MeetingDetail, row.id).held_at is None
    client.delete_cookie("session")
    sign_in_adviser(client)
    assert sign_opinion(client, item.id).status_code == 302
    client.delete_cookie("session")
    sign_in(client, "shuji1")
    assert f'data-legal-pending="{item.id}"' not in client.get(url).get_data(as_text=True)
    assert form_post(client, url, f"{url}/record", data).status_code == 302
    session.expire_all()
    assert session.get(type(item), item.id).state == TopicState.agreed

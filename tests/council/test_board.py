"""The public board (两公开) a passer-by reaches from a poster, without signing in: what was accepted and where it
stands, topics and outcomes, publications and open meetings, and nothing personal."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from models import ComplaintState, Meeting, QrCode, TopicState, Unit, utcnow
from models.council import MeetingDetail, MeetingOutcome, OutcomeResult, Publication, PublicationKind
from models.intake import ComplaintContact
from tests import factories

PRIVATE = "我家住3号楼502室，张阿姨，电话13812345678"


def meeting(session, unit: Unit, title: str, *, starts: dt.datetime, is_open: bool = True, held: bool = False,
            minutes: str | None = None) -> MeetingDetail:
    row = Meeting(unit_id=unit.id, starts_at=starts, place="梁堂村党群服务中心二楼", form="forum", created_at=utcnow(),
                  minutes=minutes)
    session.add(row)
    session.flush()
    detail = MeetingDetail(meeting_id=row.id, title=title, is_open=is_open, capacity=30 if is_open else None,
                           held_at=utcnow() if held else None)
    detail.meeting = row
    session.add(detail)
    session.flush()
    return detail


def board_world(session) -> dict:
    """The demo district with a village whose board has a little of everything, and a neighbour village's rows."""
    from qr.demo import seed_demo

    seed_demo(session)
    session.flush()
    named = {u.name: u for u in session.scalars(select(Unit))}
    village, grid, grid2 = named["梁堂村"], named["梁堂村第一网格"], named["梁堂村第二网格"]
    who = factories.resident(session)
    private = factories.complaint(session, grid, who, text=PRIVATE)
    session.add(ComplaintContact(complaint_id=private.id, phone="13812345678"))
    for state in (ComplaintState.solved, ComplaintState.not_deliberable):
        factories.complaint(session, grid2, who, state=state, text="家门口的私事" + state.value)
    factories.complaint(session, grid, who, state=ComplaintState.submitted, text="还在审核的反映")
    factories.complaint(session, named["汉王村第一网格"], who, state=ComplaintState.solved, text="汉王村的事")
    topic = factories.topic(session, village, state=TopicState.agreed, title="东门下水道疏通与雨污分流改造")
    factories.complaint(session, grid, who, state=ComplaintState.promoted, topic=topic, text="下水道堵了" + PRIVATE)
    factories.topic(session, village, state=TopicState.proposed, title="还没审定的议题")
    held = meeting(session, village, "十一月议事会", starts=utcnow() - dt.timedelta(days=3), held=True,
                   minutes="出席居民12人，议定疏通下水道。")
    held.meeting.topics.append(topic)
    session.add(MeetingOutcome(meeting_id=held.meeting_id, topic_id=topic.id, result=OutcomeResult.consensus,
                               solution="镇城建办年内完成雨污分流改造", created_at=utcnow()))
    session.add(Publication(unit_id=village.id, topic_id=topic.id, kind=PublicationKind.decision,
                            text="议定：镇城建办年内完成东门雨污分流改造。", published_on=dt.date.today(),
                            created_at=utcnow()))
    upcoming = meeting(session, village, "梁堂村19点议事厅", starts=utcnow() + dt.timedelta(days=2))
    closed = meeting(session, village, "两委内部协商会", starts=utcnow() + dt.timedelta(days=2), is_open=False)
    elsewhere = meeting(session, named["汉王村"], "汉王村议事会", starts=utcnow() + dt.timedelta(days=2))
    session.commit()
    scene = session.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))
    return {"scene": scene, "upcoming": upcoming.meeting_id, "held": held.meeting_id, "closed": closed.meeting_id,
            "elsewhere": elsewhere.meeting_id, "village": village.id}


@pytest.fixture
def world(app):
    with app.extensions["xinma.sessionmaker"]() as session:
        return board_world(session)


def test_the_board_shows_the_units_matters_without_personal_data(client, world):
    res = client.get(f"/board/{world['scene']}")
    assert res.status_code == 200
    html = res.get_data(as_text=True)
    assert "梁堂村公开栏" in html and "铜山区·张集镇·梁堂村" in html
    # Accepted matters of the village and its grids: their category, state and day; not the submitted one, not
    # the neighbour village's, and never a word, name or phone of a complaint.
    assert sorted(re.findall(r'data-matter="(\w+)"', html)) == sorted(
        ["awaiting_triage", "solved", "not_deliberable", "promoted"])
    for word in ("3号楼", "张阿姨", "13812345678", "私事", "还在审核", "汉王村的事", "o-resident"):
        assert word not in html
    assert "待网格员分拣 1" in html and "已在网格解决 1" in html and "不予协商，已答复 1" in html
    assert "梁堂村第二网格" in html
    # Topics with their outcome; the decision made public; the open meeting to come and the one held.
    assert "东门下水道疏通与雨污分流改造" in html and "议事结果：达成共识" in html
    assert "镇城建办年内完成雨污分流改造" in html and "还没审定的议题" not in html
    assert "议定：镇城建办年内完成东门雨污分流改造。" in html and "决策公开" in html
    assert f'href="/board/{world["scene"]}/meetings/{world["upcoming"]}"' in html
    assert f'href="/board/{world["scene"]}/meetings/{world["held"]}"' in html
    assert "两委内部协商会" not in html and "汉王村议事会" not in html
    assert f'href="/h5/{world["scene"]}"' in html


def test_an_open_meetings_notice_and_after_it_its_minutes(client, world):
    html = client.get(f"/board/{world['scene']}/meetings/{world['upcoming']}").get_data(as_text=True)
    assert "梁堂村19点议事厅" in html and "梁堂村党群服务中心二楼" in html and "待召开" in html
    assert "已报名 0 人，名额 30 个，还剩 30 个" in html and "报名方法" in html
    html = client.get(f"/board/{world['scene']}/meetings/{world['held']}").get_data(as_text=True)
    assert "已召开" in html and "出席居民12人，议定疏通下水道。" in html
    assert "达成共识" in html and "镇城建办年内完成雨污分流改造" in html and "报名方法" not in html


@pytest.mark.parametrize("which", ["closed", "elsewhere", "missing"])
def test_a_meeting_not_on_this_board_is_not_found(client, world, which):
    meeting_id = world.get(which, 99999)
    res = client.get(f"/board/{world['scene']}/meetings/{meeting_id}")
    assert res.status_code == 404
    assert 'data-code="meeting_not_found">未找到这次议事会。<' in res.get_data(as_text=True)


def test_an_unknown_or_revoked_code_has_no_board(app, client, world):
    res = client.get("/board/not-a-real-code")
    assert res.status_code == 404 and 'data-code="scene_unknown"' in res.get_data(as_text=True)
    with app.extensions["xinma.sessionmaker"]() as session:
        code = session.scalar(select(QrCode).where(QrCode.token == world["scene"]))
        code.revoked_at = utcnow()
        session.commit()
    res = client.get(f"/board/{world['scene']}")
    assert res.status_code == 410 and 'data-code="scene_revoked"' in res.get_data(as_text=True)

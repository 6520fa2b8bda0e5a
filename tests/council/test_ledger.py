"""The ledger (台账) through its page and exports: one row per matter, in the same numbers as the statistics page for
the same subtree and period, with who decided what and what became of it."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import Actor, ComplaintState, Meeting, Staff, StaffRole, TopicState, Unit, transition_complaint, utcnow
from models.council import Assignment, LeadKind, MeetingOutcome, OutcomeResult, Rating, RatingLevel
from tests import factories

from .support import CHINA, figures
from .test_council import refused_page, sign_in


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def unit(session, name: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.name == name))


def ledger_counts(page: str) -> dict[str, int]:
    found = dict(re.findall(r'data-(?:count|state)="([a-z_]+)">(\d+)<', page))
    return {k: int(v) for k, v in found.items()}


def csv_rows(res) -> list[dict]:
    lines = list(csv.reader(io.StringIO(res.get_data().decode("utf-8-sig"))))
    header = lines[1]
    return [dict(zip(header, line, strict=True)) for line in lines[2:]]


@pytest.fixture
def matters(session):
    """Matters in two villages of 张集镇 and one in 彭城社区, this year and in 2024; one walked to a rating."""
    grid, hanwang, pengcheng = unit(session, "梁堂村第一网格"), unit(session, "汉王村第一网格"), unit(session,
                                                                                                  "彭城社区第一网格")
    worker = session.scalar(select(Staff).where(Staff.username == "wangge1"))
    who, other = factories.resident(session), factories.resident(session)
    declined = factories.complaint(session, grid, who, text="邻居家的狗半夜叫")
    solved = factories.complaint(session, grid, other, text="路灯不亮")
    factories.complaint(session, grid, who, text="垃圾桶满了没人清")
    factories.complaint(session, hanwang, other, state=ComplaintState.solved, text="井盖松动")
    factories.complaint(session, pengcheng, who, state=ComplaintState.solved, text="彭城的事")
    old = factories.complaint(session, grid, who, state=ComplaintState.solved, text="去年的事")
    old.created_at = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    village = unit(session, "梁堂村")
    topic = factories.topic(session, village, state=TopicState.implementing, title="东门下水道疏通")
    promoted = factories.complaint(session, grid, other, state=ComplaintState.promoted, topic=topic,
                                   text="下水道堵塞")
    session.commit()
    transition_complaint(session, declined, "decline", actor=Actor.staff(worker), reason="属于个体矛盾，建议调解",
                         values={"reason_code": "individual_dispute", "reply": "建议找人民调解委员会"})
    transition_complaint(session, solved, "solve", actor=Actor.staff(worker), reason="已修好",
                         values={"reply": "已经修好了"})
    meeting = Meeting(unit_id=village.id, starts_at=dt.datetime(2026, 11, 20, 11, tzinfo=dt.UTC), place="梁堂村议事室",
                      created_at=utcnow())
    session.add(meeting)
    session.flush()
    session.add(MeetingOutcome(meeting_id=meeting.id, topic_id=topic.id, result=OutcomeResult.consensus,
                               solution="村里出资疏通", created_at=utcnow()))
    session.add(Assignment(topic_id=topic.id, lead_kind=LeadKind.party_member, lead_name="张党员",
                           due_on=dt.date(2026, 12, 31), percent=60, created_at=utcnow()))
    session.add(Rating(topic_id=topic.id, resident_id=other.id, round=1, level=RatingLevel.basic, reason="还行",
                       source="resident", created_at=utcnow()))
    session.commit()
    return {"street": unit(session, "张集镇"), "village": village, "promoted": promoted.id, "declined": declined.id}


def test_the_ledger_counts_the_same_matters_as_the_statistics_page(client, session, matters):
    sign_in(client, "admin")
    for unit_id, start in ((matters["street"].id, "2026-01-01"), (matters["street"].id, ""),
                           (matters["village"].id, "2026-01-01"), ("", "")):
        args = {"unit": unit_id, "from": start}
        stats = figures(client.get("/council/stats", query_string=args).get_data(as_text=True))
        page = client.get("/council/ledger", query_string=args).get_data(as_text=True)
        counts = ledger_counts(page)
        assert counts["received"] == int(stats["收到诉求（件）"]), args
        assert counts["answered"] == int(stats["已答复诉求（件）"]), args
        assert counts["not_deliberable"] == int(stats.get("分拣结果·不予协商：个体矛盾", 0))
        assert counts["solved"] == int(stats.get("分拣结果·已在网格解决", 0))
        assert counts["promoted"] + counts["closed"] == int(stats.get("分拣结果·转为协商议题", 0))
        rows = csv_rows(client.get("/council/ledger.csv", query_string=args))
        assert len(rows) == counts["received"] and len({r["编号"] for r in rows}) == len(rows)
        sheet = load_workbook(io.BytesIO(client.get("/council/ledger.xlsx", query_string=args).get_data())).active
        assert sheet.max_row - 2 == counts["received"]
    street = csv_rows(client.get("/council/ledger.csv", query_string={"unit": matters["street"].id,
                                                                       "from": "2026-01-01"}))
    assert len(street) == 5 and "彭城的事" not in {r["反映内容"] for r in street}
    assert {r["单位"] for r in street} == {"铜山区·张集镇·梁堂村·梁堂村第一网格", "铜山区·张集镇·汉王村·汉王村第一网格"}


def test_a_row_says_who_decided_what_and_what_became_of_it(client, session, matters):
    sign_in(client, "shuji1")
    rows = {int(r["编号"]): r for r in csv_rows(client.get("/council/ledger.csv"))}
    declined = rows[matters["declined"]]
    assert declined["分拣结果"] == "不予协商" and declined["不予协商理由"] == "个体矛盾"
    assert declined["分拣人"] == "李网格员" and declined["答复内容"] == "建议找人民调解委员会"
    assert declined["首次答复时间"].startswith(dt.datetime.now(dt.UTC).astimezone(CHINA).strftime("%Y-%m-%d"))
    promoted = rows[matters["promoted"]]
    assert promoted["协商议题"] == "东门下水道疏通（正在落实）"
    assert promoted["议事会"] == "2026-11-20 19:00 梁堂村议事室"
    assert promoted["议事结果"] == "达成共识：村里出资疏通"
    assert promoted["领办"] == "骨干党员·张党员 · 期限 2026-12-31 · 进度 60%"
    assert promoted["办理结果"] == "正在落实" and promoted["回访评价"] == "基本满意（还行）"
    assert all(r["单位"].startswith("铜山区·张集镇·梁堂村") for r in rows.values())  # the secretary's village only

    page = client.get("/council/ledger", query_string={"state": "not_deliberable"}).get_data(as_text=True)
    assert len(re.findall(r'data-matter="', page)) == 1 and "建议找人民调解委员会" in html.unescape(page)
    assert "共 1 件（不予协商，已答复）" in page


def test_bad_filters_and_units_outside_the_scope_are_refused(client, session, matters):
    sign_in(client, "shuji1")
    outside = unit(session, "彭城社区")
    refused_page(client.get("/council/ledger", query_string={"unit": outside.id}), 403,
                 "您没有查看这个单位统计数据的权限。")
    refused_page(client.get("/council/ledger.csv", query_string={"unit": outside.id}), 403,
                 "您没有查看这个单位统计数据的权限。")
    refused_page(client.get("/council/ledger", query_string={"state": "nonsense"}), 400, "筛选条件不正确。")
    refused_page(client.get("/council/ledger", query_string={"page": "0"}), 400, "筛选条件不正确。")
    refused_page(client.get("/council/ledger", query_string={"from": "2026-13-01"}), 400,
                 "日期格式不正确，请按 2026-11-23 填写。")
    assert client.get("/council/ledger.pdf").status_code == 404
    sign_in(client, "wangge1")
    assert client.get("/council/ledger").status_code == 404  # grid workers have no ledger


def test_the_ledger_pages_thirty_matters_at_a_time(client, session, matters):
    grid = unit(session, "梁堂村第二网格")
    who = factories.resident(session)
    for i in range(31):
        factories.complaint(session, grid, who, text=f"第{i}件")
    session.commit()
    sign_in(client, "shuji1")
    first = client.get("/council/ledger").get_data(as_text=True)
    total = ledger_counts(first)["received"]
    assert total == 31 + 5 and len(re.findall(r'data-matter="', first)) == 30
    second = client.get("/council/ledger", query_string={"page": 2}).get_data(as_text=True)
    assert len(re.findall(r'data-matter="', second)) == total - 30
    shown = set(re.findall(r'data-matter="(\d+)"', first)) | set(re.findall(r'data-matter="(\d+)"', second))
    assert len(shown) == total


def test_only_secretaries_and_admins_reach_it(client, session):
    factories.staff(session, StaffRole.grid_worker, unit(session, "梁堂村"), username="gw-ledger")
    session.commit()
    sign_in(client, "gw-ledger", factories.PASSWORD)
    assert client.get("/council/ledger.csv").status_code == 404


def test_a_topic_no_resident_reported_is_a_matter_of_its_own(client, session, matters):
    from .support import csrf

    sign_in(client, "shuji1")
    page = client.get("/council/").get_data(as_text=True)
    res = client.post("/council/topics/", data={
        "csrf_token": csrf(page), "unit_id": matters["village"].id, "title": "村史馆建设",
        "summary": "党支部提议修建村史馆", "category": "major_affairs", "origin": "branch", "proposer": "梁堂村党支部"})
    assert res.status_code == 302, res.get_data(as_text=True)[:300]
    page = client.get("/council/ledger").get_data(as_text=True)
    counts = ledger_counts(page)
    stats = figures(client.get("/council/stats").get_data(as_text=True))
    assert counts["origin_topics"] == 1 and counts["received"] == int(stats["收到诉求（件）"])
    assert "无居民反映的议题（1 个）" in page and "村史馆建设" in page
    rows = csv_rows(client.get("/council/ledger.csv"))
    complaints = [r for r in rows if r["编号"].isdigit()]
    [topic] = [r for r in rows if r["编号"].startswith("议题")]
    assert len(complaints) == counts["received"]
    assert topic["分拣结果"] == "党支部提议" and topic["分拣人"] == "梁堂村党支部" and topic["类别"] == "党政工作要事"
    assert topic["反映内容"] == "村史馆建设：党支部提议修建村史馆" and topic["办理结果"] == "待审定"
    filtered = client.get("/council/ledger", query_string={"state": "solved"}).get_data(as_text=True)
    assert "村史馆建设" not in filtered  # a complaint's state says nothing of a topic

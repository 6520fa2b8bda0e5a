"""The statistics page's comparison of the units one level below and its monthly trend: read from the running sums
(before and after the sweep folds them), agreeing with the page's own figures."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select, text

from models import ComplaintState, Topic, TopicState, Unit, utcnow
from models.base import CHINA
from models.council import Rating, RatingLevel
from models.stats import fold
from tests import factories

from .support import figures
from .test_council import sign_in


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def unit(session, name: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.name == name))


def months_back(n: int) -> dt.datetime:
    """Half past midnight China time on the first of the month n months before this one."""
    today = dt.datetime.now(CHINA).date()
    index = today.year * 12 + today.month - 1 - n
    return dt.datetime(index // 12, index % 12 + 1, 1, 0, 30, tzinfo=CHINA)


def compare_rows(page: str) -> dict[str, dict[str, str]]:
    table = page.split('id="compare"', 1)[1].split("</table>", 1)[0]
    return {name: dict(re.findall(r'data-col="([a-z]+)">([^<]*)<', row))
            for name, row in re.findall(r'<tr data-unit="([^"]+)">(.*?)</tr>', table, re.S)}


def trend_rows(page: str) -> dict[str, dict[str, str]]:
    table = page.split('id="trend-table"', 1)[1].split("</table>", 1)[0]
    return {month: dict(re.findall(r'data-col="([a-z]+)">([^<]*)<', row))
            for month, row in re.findall(r'<tr data-month="([^"]+)">(.*?)</tr>', table, re.S)}


@pytest.fixture
def history(session):
    liangtang, hanwang = unit(session, "梁堂村第一网格"), unit(session, "汉王村第一网格")
    who = factories.resident(session)
    plan = [(liangtang, ComplaintState.solved, 0), (liangtang, ComplaintState.awaiting_triage, 0),
            (liangtang, ComplaintState.not_deliberable, 1), (liangtang, ComplaintState.solved, 3),
            (hanwang, ComplaintState.solved, 0), (hanwang, ComplaintState.closed, 11),
            (hanwang, ComplaintState.solved, 14)]  # the last one is older than the twelve months shown
    for grid, state, back in plan:
        topic = factories.topic(session, grid.parent, state=TopicState.closed) if state == ComplaintState.closed \
            else None
        row = factories.complaint(session, grid, who, state=state, topic=topic)
        row.created_at = row.state_changed_at = months_back(back).astimezone(dt.UTC)
        if topic is not None:
            topic.created_at = row.created_at
    village = unit(session, "梁堂村")
    rated = factories.topic(session, village, state=TopicState.implemented, title="路灯改造")
    for level in (RatingLevel.satisfied, RatingLevel.unsatisfied):
        session.add(Rating(topic_id=rated.id, resident_id=who.id, round=1 if level == RatingLevel.satisfied else 2,
                           level=level, source="resident", created_at=utcnow()))
    session.commit()
    return {"street": unit(session, "张集镇"), "village": village}


def test_the_units_one_level_below_are_compared(client, session, history, engine):
    sign_in(client, "admin")
    page = client.get("/council/stats", query_string={"unit": history["street"].id}).get_data(as_text=True)
    rows = compare_rows(page)
    assert list(rows) == ["梁堂村", "汉王村"]  # the town's villages, not their grids
    assert rows["梁堂村"] == {"received": "4", "answered": "3", "deliberated": "1", "solved": "2",
                             "satisfaction": "50.0%"}
    assert rows["汉王村"] == {"received": "3", "answered": "3", "deliberated": "1", "solved": "3",
                             "satisfaction": "—"}
    shown = figures(page)
    assert sum(int(r["received"]) for r in rows.values()) == int(shown["收到诉求（件）"])
    assert sum(int(r["answered"]) for r in rows.values()) == int(shown["已答复诉求（件）"])

    this_month = client.get("/council/stats", query_string={"unit": history["street"].id,
                                                           "from": months_back(0).date().replace(day=1).isoformat()})
    assert compare_rows(this_month.get_data(as_text=True))["梁堂村"]["received"] == "2"

    district = compare_rows(client.get("/council/stats").get_data(as_text=True))
    assert list(district) == ["三堡街道", "张集镇"]  # in the order of their codes
    assert district["张集镇"]["received"] == "7" and district["三堡街道"]["received"] == "0"

    # The same figures once the sweep has folded the deltas into the sums, and still the sums' figures (not a count
    # of the complaints table) when a row is changed behind the application's back.
    assert fold(session) > 0
    session.commit()
    with engine.begin() as conn:
        conn.execute(text("UPDATE complaints SET state = 'awaiting_triage'"))
    again = client.get("/council/stats", query_string={"unit": history["street"].id}).get_data(as_text=True)
    assert compare_rows(again) == rows


def test_the_trend_shows_the_last_twelve_months(client, session, history):
    sign_in(client, "shuji2")  # 汉王村
    page = client.get("/council/stats").get_data(as_text=True)
    months = trend_rows(page)
    labels = [f"{months_back(n).year}-{months_back(n).month:02d}" for n in range(11, -1, -1)]
    assert list(months) == labels
    assert months[labels[-1]]["received"] == "1" and months[labels[0]]["received"] == "1"
    assert sum(int(m["received"]) for m in months.values()) == 2  # the one from 14 months ago is not shown
    assert page.count("<rect") >= 12
    sign_in(client, "admin")
    street = trend_rows(client.get("/council/stats", query_string={"unit": history["street"].id})
                        .get_data(as_text=True))
    assert street[labels[-1]] == {"received": "3", "answered": "2", "topics": "1", "satisfaction": "50.0%"}
    assert street[labels[-4]]["received"] == "1" and street[labels[-2]]["answered"] == "1"

    ended = client.get("/council/stats", query_string={"unit": history["street"].id,
                                                        "to": months_back(3).date().isoformat()})
    shifted = trend_rows(ended.get_data(as_text=True))
    assert list(shifted)[-1] == labels[-4] and shifted[labels[-4]]["received"] == "1"


def test_topics_count_in_the_month_they_were_raised(client, session, history):
    village = history["village"]
    topic = session.scalar(select(Topic).where(Topic.title == "路灯改造"))
    assert topic.unit_id == village.id
    sign_in(client, "shuji1")
    months = trend_rows(client.get("/council/stats").get_data(as_text=True))
    assert list(months.values())[-1]["topics"] == "1"

"""The grid worker's queue keeps what they handled: a state filter (history and "all"), a search, clear refusals."""

from __future__ import annotations

import re

import pytest

from models import ComplaintState, StaffRole
from tests import factories
from tests.triage.test_decisions import form, sign_in


@pytest.fixture
def world(app):
    with app.extensions["xinma.sessionmaker"]() as session:
        u = factories.units(session)
        factories.staff(session, StaffRole.grid_worker, u["grid"], username="worker")
        who = factories.resident(session, "o-history")
        rows = {
            "waiting": factories.complaint(session, u["grid"], who, text="楼道灯坏了一个月，晚上上下楼很危险"),
            "to_solve": factories.complaint(session, u["grid"], who, text="三号楼门口的井盖松动了"),
            "solved": factories.complaint(session, u["grid"], who, ComplaintState.solved, text="垃圾桶满了没人清"),
            "declined": factories.complaint(session, u["grid"], who, ComplaintState.not_deliberable,
                                            text="邻居家装修太吵，100%影响休息"),
            "elsewhere": factories.complaint(session, u["other_grid"], who, ComplaintState.solved,
                                             text="别的社区的垃圾桶也满了"),
        }
        rows["solved"].reply = "已联系物业加派保洁，每天清运两次"
        session.commit()
        return {k: v.id for k, v in rows.items()}


def shown(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-complaint="(\d+)"', html)]


def test_what_the_worker_solved_stays_findable(client, world):
    sign_in(client, "worker")
    assert sorted(shown(client.get("/triage/").text)) == sorted([world["waiting"], world["to_solve"]])

    res = client.post(f"/triage/complaints/{world['to_solve']}/solve",
                      data={**form(client, f"/triage/complaints/{world['to_solve']}"), "note": "已拧紧井盖并加锁"})
    assert res.status_code == 302
    assert shown(client.get("/triage/").text) == [world["waiting"]]

    html = client.get("/triage/?state=solved").text
    assert shown(html) == [world["to_solve"], world["solved"]]  # the latest handled first; another community's not
    assert "处理过的反映" in html and "处理于" in html and html.count("已在网格解决") >= 2
    assert re.search(r'id="queue-count">2<', html)

    html = client.get("/triage/?state=not_deliberable").text
    assert shown(html) == [world["declined"]] and "不予协商，已答复" in html

    html = client.get("/triage/?state=all").text
    assert sorted(shown(html)) == sorted([world["waiting"], world["to_solve"], world["solved"], world["declined"]])
    assert re.search(r'id="queue-count">4<', html)


@pytest.mark.parametrize(("query", "expected"), [
    ("物业", ["solved"]),  # words of the reply it got
    ("井盖", []),  # still waiting: not among the solved
    ("垃圾桶", ["solved"]),
    ("#{solved}", ["solved"]),
    ("第{solved}号", ["solved"]),
    ("%", []),  # LIKE's wildcard is a plain character here
])
def test_the_history_is_searched_by_words_and_number(client, world, query, expected):
    sign_in(client, "worker")
    html = client.get("/triage/", query_string={"state": "solved", "q": query.format(**world)}).text
    assert shown(html) == [world[name] for name in expected]
    if not expected:
        assert "没有找到含" in html


def test_a_search_in_all_states_and_in_the_queue(client, world):
    sign_in(client, "worker")
    assert shown(client.get("/triage/", query_string={"state": "all", "q": "100%"}).text) == [world["declined"]]
    assert shown(client.get("/triage/", query_string={"q": "楼道"}).text) == [world["waiting"]]


@pytest.mark.parametrize("state", ["bogus", "SOLVED", "merged;", "closed "])
def test_a_bad_state_filter_answers_a_clear_400(client, world, state):
    sign_in(client, "worker")
    res = client.get("/triage/", query_string={"state": state})
    assert res.status_code == 400
    message = "没有这个状态，请从列表上方的状态中选择。"
    assert f'role="alert" data-code="queue_state_unknown">{message}<' in res.text

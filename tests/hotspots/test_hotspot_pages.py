"""The secretary's hotspots page and its one tap, through the Flask test client: what is shown to whom, the topic
made with every resident behind it, and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from sqlalchemy import func, select, update

from models import AuditEvent, Complaint, ComplaintState, Notification, Topic, TopicState, Unit, utcnow
from models.hotspots import ComplaintTerms
from tests.council.support import PASSWORD, csrf

from .support import load_small_set, page_set


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


@pytest.fixture
def gold(session):
    return load_small_set(session, page_set())


def sign_in(client, username: str) -> None:
    page = client.get("/staff/signin").get_data(as_text=True)
    res = client.post("/staff/signin", data={"username": username, "password": PASSWORD, "csrf_token": csrf(page)})
    assert res.status_code == 302


def sections(page: str) -> list[dict]:
    """Each hotspot on the page: its key, category, area, figures, complaint ids and the form's fields."""
    out = []
    for block in re.findall(r'<section class="card hotspot" data-hotspot="[^"]+">.*?</section>', page, re.S):
        out.append({
            "key": re.search(r'name="key" value="([^"]+)"', block).group(1),
            "category": html.unescape(re.search(r'<span class="tag warn">([^<]+)<', block).group(1)),
            "complaints": int(re.search(r'data-figure="complaints">(\d+) 条反映', block).group(1)),
            "residents": int(re.search(r'data-figure="residents">(\d+) 位居民', block).group(1)),
            "ids": [int(i) for i in re.search(r'name="complaints" value="([\d,]+)"', block).group(1).split(",")],
            "links": re.findall(r'href="(/triage/complaints/\d+)"', block),
            "title": html.unescape(re.search(r'name="title" maxlength="60" value="([^"]*)"', block).group(1)),
            "category_choice": re.search(r'<option value="(\w+)" selected>', block).group(1),
        })
    return out


def ids_of(gold: dict[int, str], label: str) -> list[int]:
    return sorted(i for i, g in gold.items() if g == label)


def tap(client, spot: dict, **changes):
    page = client.get("/council/hotspots").get_data(as_text=True)
    data = {"csrf_token": csrf(page), "key": spot["key"], "complaints": ",".join(map(str, spot["ids"])),
            "title": spot["title"], "category": spot["category_choice"], "summary": "由群众反映汇集"}
    data.update(changes)
    return client.post("/council/hotspots/topic", data=data)


def snapshot(session) -> tuple:
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(Topic)),
            session.scalar(select(func.count()).select_from(Notification)),
            session.scalar(select(func.count()).select_from(AuditEvent)),
            tuple(session.execute(select(Complaint.id, Complaint.state, Complaint.topic_id).order_by(Complaint.id))))


def test_secretary_sees_the_hotspots_of_their_village_only(client, session, gold):
    sign_in(client, "shuji1")  # 梁堂村
    home = client.get("/council/").get_data(as_text=True)
    assert 'href="/council/hotspots"' in home
    page = client.get("/council/hotspots").get_data(as_text=True)
    spots = sections(page)
    assert [(s["category"], s["complaints"], s["residents"]) for s in spots] == [("飞线充电", 5, 4), ("饲养宠物", 4, 4)]
    wiring = spots[0]
    assert wiring["ids"] == ids_of(gold, "wire_lt")
    assert wiring["links"] == [f"/triage/complaints/{i}" for i in reversed(wiring["ids"])]  # newest first
    assert wiring["title"].startswith("梁堂村飞线充电：") and "电动车" in wiring["title"]
    assert wiring["category_choice"] == "governance"
    for text in ("五号楼有人把电线从三楼窗户扯下来给电瓶车充电", "5 条反映", "4 位居民"):
        assert text in page
    # 彭城社区's square dancing and 汉王村's street lights belong to other secretaries.
    assert "广场舞" not in page and "路灯" not in page
    sign_in(client, "shuji3")  # 彭城社区
    spots = sections(client.get("/council/hotspots").get_data(as_text=True))
    assert [(s["category"], s["complaints"]) for s in spots] == [("环境污染", 4), ("停车", 3)]
    assert spots[0]["ids"] == ids_of(gold, "dance_pc")


def test_the_secretary_opens_a_hotspots_complaint_on_its_triage_page(client, session, gold):
    sign_in(client, "shuji1")
    wiring = sections(client.get("/council/hotspots").get_data(as_text=True))[0]
    page = client.get(wiring["links"][-1])
    assert page.status_code == 200
    assert "五号楼有人把电线从三楼窗户扯下来给电瓶车充电" in page.get_data(as_text=True)
    dance = ids_of(gold, "dance_pc")[0]  # 彭城社区's, not theirs
    assert client.get(f"/triage/complaints/{dance}").status_code == 404


def test_grid_workers_do_not_get_the_page(client, gold):
    sign_in(client, "wangge1")
    assert client.get("/council/hotspots").status_code == 404


def test_period_and_size_are_chosen_on_the_page_and_bad_values_are_refused(client, session, gold):
    sign_in(client, "shuji1")
    old = ids_of(gold, "wire_lt")[:2]
    session.execute(update(Complaint).where(Complaint.id.in_(old))
                    .values(created_at=utcnow() - dt.timedelta(days=40)))
    session.commit()
    spots = sections(client.get("/council/hotspots").get_data(as_text=True))
    assert [(s["category"], s["complaints"]) for s in spots] == [("饲养宠物", 4), ("飞线充电", 3)]
    spots = sections(client.get("/council/hotspots?days=45").get_data(as_text=True))
    assert [(s["category"], s["complaints"]) for s in spots] == [("飞线充电", 5), ("饲养宠物", 4)]
    spots = sections(client.get("/council/hotspots?days=45&min_size=5").get_data(as_text=True))
    assert [s["complaints"] for s in spots] == [5]
    for query, code, message in (("days=0", "hotspot_days_invalid", "最近天数请填写 1 到 365 之间的整数。"),
                                 ("min_size=1", "hotspot_min_size_invalid", "至少条数请填写 2 到 100 之间的整数。"),
                                 ("days=abc", "hotspot_days_invalid", "最近天数请填写 1 到 365 之间的整数。")):
        res = client.get(f"/council/hotspots?{query}")
        assert res.status_code == 400
        assert f'data-code="{code}">{message}<' in res.get_data(as_text=True)


def test_decided_and_unchecked_complaints_are_not_in_hotspots(client, session, gold):
    sign_in(client, "shuji1")
    first, second = ids_of(gold, "wire_lt")[:2]
    session.execute(update(Complaint).where(Complaint.id == first).values(state=ComplaintState.solved))
    session.execute(update(Complaint).where(Complaint.id == second).values(state=ComplaintState.submitted))
    session.commit()
    spots = sections(client.get("/council/hotspots").get_data(as_text=True))
    assert {s["category"]: s["ids"] for s in spots}["飞线充电"] == ids_of(gold, "wire_lt")[2:]


def test_words_are_segmented_once_and_kept(client, session, gold):
    sign_in(client, "shuji1")
    client.get("/council/hotspots")
    kept = dict(session.execute(select(ComplaintTerms.complaint_id, ComplaintTerms.terms)).all())
    village = [i for i in gold if session.get(Complaint, i).unit.name.startswith("梁堂村")]
    assert sorted(kept) == sorted(village)  # only what the secretary's page read
    assert "电动车" in kept[ids_of(gold, "wire_lt")[0]].split()


def test_one_tap_makes_a_topic_with_every_resident_behind_it(client, session, gold):
    sign_in(client, "shuji1")
    wiring = sections(client.get("/council/hotspots").get_data(as_text=True))[0]
    res = tap(client, wiring, title="梁堂村电动车飞线充电整治")
    assert res.status_code == 302
    topic = session.scalar(select(Topic))
    assert res.headers["Location"].endswith(f"/council/topics/{topic.id}")
    assert (topic.title, topic.state, topic.category, topic.unit.name) == (
        "梁堂村电动车飞线充电整治", TopicState.proposed, "governance", "梁堂村")
    promoted = session.scalars(select(Complaint).where(Complaint.topic_id == topic.id).order_by(Complaint.id)).all()
    assert [c.id for c in promoted] == wiring["ids"]
    assert {c.state for c in promoted} == {ComplaintState.promoted}
    told = session.execute(select(Notification.recipient_id, Notification.params).where(
        Notification.event == "complaint_triaged")).all()
    assert sorted(p["complaint_id"] for _r, p in told) == wiring["ids"]
    assert {r for r, _p in told} == {c.resident_id for c in promoted}  # each of the 4 residents
    assert {(p["result"], p["detail"], p["topic_id"]) for _r, p in told} == {("promote", topic.title, topic.id)}
    secretaries = session.scalars(select(Notification.params).where(Notification.event == "topic_proposed")).all()
    assert [p["topic_id"] for p in secretaries] == [topic.id]
    audits = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_kind == "complaint",
                                                             AuditEvent.action == "promote")).all()
    assert len(audits) == 5
    page = client.get(f"/council/topics/{topic.id}").get_data(as_text=True)
    assert "梁堂村电动车飞线充电整治" in page
    # The hotspot is gone from the page: its complaints await triage no more.
    assert [s["category"] for s in sections(client.get("/council/hotspots").get_data(as_text=True))] == ["饲养宠物"]
    # A second tap on the same (now stale) suggestion changes nothing.
    before = snapshot(session)
    res = tap(client, wiring)
    assert res.status_code == 409
    assert 'data-code="hotspot_stale"' in res.get_data(as_text=True)
    assert snapshot(session) == before


def test_a_suggestion_made_stale_by_a_decision_meanwhile_is_refused_whole(client, session, gold):
    sign_in(client, "shuji1")
    wiring = sections(client.get("/council/hotspots").get_data(as_text=True))[0]
    session.execute(update(Complaint).where(Complaint.id == wiring["ids"][-1])
                    .values(state=ComplaintState.solved, state_changed_at=utcnow()))
    session.commit()
    before = snapshot(session)
    res = tap(client, wiring)
    assert res.status_code == 409
    assert "这组反映已有变化" in res.get_data(as_text=True)
    assert snapshot(session) == before
    # Re-touched without a state change (another version), still refused.
    session.execute(update(Complaint).where(Complaint.id == wiring["ids"][-1])
                    .values(state=ComplaintState.awaiting_triage, state_changed_at=utcnow()))
    session.commit()
    before = snapshot(session)
    assert tap(client, wiring).status_code == 409
    assert snapshot(session) == before


def test_refusals_change_nothing(client, session, gold):
    sign_in(client, "shuji1")
    wiring, dogs = sections(client.get("/council/hotspots").get_data(as_text=True))
    before = snapshot(session)
    for changes, status, code in (
            ({"title": ""}, 400, "title_empty"),
            ({"title": "很" * 61}, 400, "title_too_long"),
            ({"category": "unknown"}, 400, "deliberation_category_unknown"),
            ({"complaints": ""}, 400, "hotspot_empty"),
            ({"complaints": "1,x"}, 400, "hotspot_empty"),
            ({"complaints": ",".join(map(str, wiring["ids"] + dogs["ids"]))}, 409, "hotspot_stale"),
            ({"complaints": ",".join(map(str, wiring["ids"][:-1]))}, 409, "hotspot_stale"),
            ({"key": "0" * 24}, 409, "hotspot_stale"),
            ({"csrf_token": "forged"}, 400, "csrf_invalid")):
        res = tap(client, wiring, **changes)
        assert res.status_code == status, (changes, res.status_code)
        assert f'data-code="{code}"' in res.get_data(as_text=True), changes
        assert snapshot(session) == before, changes


def test_complaints_of_two_categories_are_never_one_topic(client, session, gold):
    from council.hotspot_services import key_of, stored

    sign_in(client, "shuji1")
    wiring, dogs = sections(client.get("/council/hotspots").get_data(as_text=True))
    both = wiring["ids"] + dogs["ids"]
    latest = session.scalar(select(func.max(stored(Complaint.state_changed_at))).where(Complaint.id.in_(both)))
    before = snapshot(session)
    res = tap(client, wiring, complaints=",".join(map(str, both)), key=key_of(both, latest))  # a key that fits
    assert res.status_code == 400
    assert 'data-code="hotspot_mixed"' in res.get_data(as_text=True)
    assert snapshot(session) == before


def test_a_secretary_cannot_make_a_topic_of_another_villages_complaints(client, session, gold):
    sign_in(client, "shuji3")
    dance = sections(client.get("/council/hotspots").get_data(as_text=True))[0]
    sign_in(client, "shuji1")
    before = snapshot(session)
    res = tap(client, dance)
    assert res.status_code == 404
    assert snapshot(session) == before


def test_complaints_merged_into_a_hotspot_follow_it_and_their_residents_are_told(client, session, gold):
    sign_in(client, "shuji1")
    survivor = ids_of(gold, "dogs_lt")[0]
    village = session.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    duplicate = Complaint(unit=village, resident=session.get(Complaint, ids_of(gold, "noise_9")[0]).resident,
                          category="饲养宠物", text="狗又追人了", state=ComplaintState.merged,
                          merged_into_id=survivor, created_at=utcnow(), state_changed_at=utcnow())
    session.add(duplicate)
    session.commit()
    dogs = sections(client.get("/council/hotspots").get_data(as_text=True))[1]
    assert dogs["ids"] == ids_of(gold, "dogs_lt")
    assert tap(client, dogs, title="文明养犬").status_code == 302
    session.expire_all()
    topic = session.scalar(select(Topic))
    assert session.get(Complaint, duplicate.id).topic_id == topic.id
    told = session.scalars(select(Notification.params).where(Notification.event == "complaint_triaged",
                                                             Notification.recipient_id == duplicate.resident_id))
    assert [(p["complaint_id"], p["via_complaint_id"], p["topic_id"]) for p in told] == [
        (duplicate.id, survivor, topic.id)]


@pytest.mark.postgresql
def test_two_taps_at_the_same_moment_make_one_topic(app, session, gold):
    import threading

    from council.hotspot_services import make_topic
    from models import Conflict, Staff

    secretary = session.scalar(select(Staff).where(Staff.username == "shuji1"))
    spot = next(h for h in hotspots_of(session, secretary) if h.category == "飞线充电")
    start = threading.Barrier(2)
    outcomes = []

    def tap_now(title: str) -> None:
        with app.extensions["xinma.sessionmaker"]() as own:
            staff = own.get(Staff, secretary.id)
            start.wait()
            try:
                make_topic(own, staff, complaint_ids=",".join(map(str, spot.ids)), key=spot.key, title=title,
                           category="governance")
                own.commit()
                outcomes.append("made")
            except Conflict as exc:
                own.rollback()
                outcomes.append(exc.code)

    threads = [threading.Thread(target=tap_now, args=(f"飞线充电整治{n}",)) for n in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["hotspot_stale", "made"]
    session.expire_all()
    (topic,) = session.scalars(select(Topic)).all()
    assert sorted(session.scalars(select(Complaint.id).where(Complaint.topic_id == topic.id))) == spot.ids
    told = session.scalars(select(Notification.params).where(Notification.event == "complaint_triaged")).all()
    assert sorted(p["complaint_id"] for p in told) == spot.ids  # each resident told once, of the one topic


def hotspots_of(session, staff):
    from council.hotspot_services import hotspots

    found = hotspots(session, staff)
    session.commit()
    return found

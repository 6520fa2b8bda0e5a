"""Retention with the clock moved past the period: closed matters lose phone, location, photos and the link to the
WeChat user; a resident with newer matters keeps working; the statistics do not move, before or after a rebuild."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from models import SYSTEM, Actor, AuditEvent, Complaint, ComplaintState, Resident, Staff, transition_complaint, utcnow
from models.intake import ComplaintContact, ComplaintNote, Photo, PhotoFile
from models.stats import rebuild
from tests.council.support import figures
from tests.council.test_council import sign_in as staff_sign_in
from tests.intake.support import auth, jpeg, sign_in, upload
from web.settings import load_settings

THREE_YEARS = dt.timedelta(days=1095)


@pytest.fixture
def retention_runtime(settings_env):
    from workers import runtime

    previous = runtime._runtime
    rt = runtime.install(load_settings(settings_env))
    yield rt
    runtime._runtime = previous


def submit(client, token: str, scene: str, text: str, *, photo: bool = False) -> int:
    photos = [upload(client, token, jpeg()).json["data"]["id"]] if photo else []
    res = client.post("/api/v1/complaints", headers=auth(token), json={
        "scene": scene, "category": "设施维修", "text": text, "phone": "13912345678", "photos": photos,
        "location": {"latitude": 34.2, "longitude": 117.1, "address": "3号楼门口"}})
    assert res.status_code == 201, res.json
    return res.json["data"]["id"]


def solve(app, complaint_id: int) -> None:
    with app.extensions["xinma.sessionmaker"]() as session:
        worker = session.scalar(select(Staff).where(Staff.username == "wangge1"))
        complaint = session.get(Complaint, complaint_id)
        transition_complaint(session, complaint, "accept", actor=SYSTEM, values={"content_check": "pass"})
        transition_complaint(session, complaint, "solve", actor=Actor.staff(worker), reason="已修好",
                             values={"reply": "已经修好了"})
        session.commit()


def stats_pages(client) -> list[dict]:
    return [figures(client.get("/council/stats", query_string=q).get_data(as_text=True))
            for q in ({}, {"from": dt.date.today().isoformat()})]


@pytest.fixture
def world(app, client, demo, scene, wechat_sandbox):
    """o-quiet: one matter, closed, with phone, location and a photo. o-busy: one closed, one still open."""
    quiet = sign_in(client, wechat_sandbox, "o-quiet")
    busy = sign_in(client, wechat_sandbox, "o-busy")
    ids = {"quiet": submit(client, quiet, scene, "路灯坏了", photo=True),
           "busy_old": submit(client, busy, scene, "井盖松动", photo=True),
           "busy_open": submit(client, busy, scene, "楼道堆满杂物")}
    res = client.post(f"/api/v1/complaints/{ids['quiet']}/notes", headers=auth(quiet),
                      json={"text": "晚上更暗了", "photos": [upload(client, quiet, jpeg()).json["data"]["id"]]})
    assert res.status_code == 201, res.json
    solve(app, ids["quiet"])
    solve(app, ids["busy_old"])
    return {"ids": ids, "tokens": {"quiet": quiet, "busy": busy}}


def test_closed_matters_are_anonymised_after_the_period_and_the_statistics_stay(app, client, world,
                                                                              retention_runtime):
    from workers.periodic import check_due

    ids, tokens = world["ids"], world["tokens"]
    staff_sign_in(client, "admin")
    before = stats_pages(client)
    sm = app.extensions["xinma.sessionmaker"]
    with sm() as s:
        assert s.scalar(select(func.count()).select_from(Photo)) == 3 and s.scalar(
            select(func.count()).select_from(PhotoFile)) >= 3
        photo_files = s.scalar(select(func.count()).select_from(PhotoFile))

    assert check_due(now=utcnow())["anonymised"] == 0  # closed today: kept
    assert check_due(now=utcnow() + THREE_YEARS - dt.timedelta(days=1))["anonymised"] == 0
    assert check_due(now=utcnow() + THREE_YEARS + dt.timedelta(days=1))["anonymised"] == 2
    assert check_due(now=utcnow() + THREE_YEARS + dt.timedelta(days=2))["anonymised"] == 0  # once

    with sm() as s:
        quiet, old, still_open = (s.get(Complaint, ids[k]) for k in ("quiet", "busy_old", "busy_open"))
        for matter in (quiet, old):
            contact = s.get(ComplaintContact, matter.id)
            assert (contact.phone, contact.latitude, contact.longitude, contact.address) == (None,) * 4
            assert matter.anonymised_at is not None and matter.state == ComplaintState.solved
            assert s.scalar(select(func.count()).select_from(Photo).where(Photo.complaint_id == matter.id)) == 0
            events = s.scalars(select(AuditEvent).where(AuditEvent.subject_kind == "complaint",
                                                        AuditEvent.subject_id == matter.id,
                                                        AuditEvent.action == "anonymise")).all()
            assert len(events) == 1 and events[0].actor_kind == "system" and events[0].reason == "retention"
        assert quiet.text == "路灯坏了" and old.text == "井盖松动"  # the district keeps the words by default
        assert s.scalar(select(ComplaintNote.photo_ids).where(ComplaintNote.complaint_id == quiet.id)) == []
        # Photos and their bytes (two stored files each: photo and thumbnail, when made) are gone; the open
        # complaint's contact is untouched.
        assert s.scalar(select(func.count()).select_from(PhotoFile)) < photo_files
        assert s.get(ComplaintContact, still_open.id).phone == "13912345678" and still_open.anonymised_at is None
        # o-quiet has nothing newer: the openid is a salted hash, the same person still one resident row.
        assert quiet.resident.openid.startswith("anon-") and "o-quiet" not in quiet.resident.openid
        # o-busy has an open complaint: the old matter moved to an anonymous stand-in, o-busy untouched.
        assert old.resident.openid is None and old.resident.channel == "anonymised"
        busy = s.scalar(select(Resident).where(Resident.openid == "o-busy"))
        assert still_open.resident_id == busy.id and old.resident_id != busy.id

    assert client.get("/api/v1/complaints", headers=auth(tokens["quiet"])).status_code == 401
    mine = client.get("/api/v1/complaints", headers=auth(tokens["busy"])).json["data"]
    assert [c["id"] for c in mine] == [ids["busy_open"]]

    staff_sign_in(client, "admin")
    assert stats_pages(client) == before
    with sm() as s:
        rebuild(s)
        s.commit()
    assert stats_pages(client) == before  # the base tables give the same figures too


def test_a_district_that_does_not_keep_the_words_removes_them(app, client, world, retention_runtime):
    from workers.retention import REMOVED_TEXT, anonymise_due

    sm = app.extensions["xinma.sessionmaker"]
    with sm() as s:
        assert anonymise_due(s, utcnow() + THREE_YEARS + dt.timedelta(days=1), days=1095, secret="s" * 32,
                             keep_text=False) == 2
        s.commit()
    with sm() as s:
        quiet = s.get(Complaint, world["ids"]["quiet"])
        assert quiet.text == REMOVED_TEXT and quiet.reply == "已经修好了"  # staff's answer is the record
        assert s.scalar(select(ComplaintNote.text).where(ComplaintNote.complaint_id == quiet.id)) == ""


def test_the_salted_hash_is_stable_and_not_the_openid():
    from workers.retention import hashed_openid

    a, b = hashed_openid("o-someone", "k" * 32), hashed_openid("o-someone", "k" * 32)
    assert a == b and len(a) <= 64 and "o-someone" not in a
    assert hashed_openid("o-someone", "other-secret" * 3) != a


def test_the_name_a_resident_gave_on_a_visit_goes_with_the_matter(app, client, world, retention_runtime):
    from models.representatives import OnBehalfContact
    from workers.retention import anonymise_due

    sm = app.extensions["xinma.sessionmaker"]
    with sm() as s:
        s.add(OnBehalfContact(complaint_id=world["ids"]["quiet"], resident_name="张秀英"))
        s.add(OnBehalfContact(complaint_id=world["ids"]["busy_open"], resident_name="李桂兰"))
        s.commit()
    with sm() as s:
        anonymise_due(s, utcnow() + THREE_YEARS + dt.timedelta(days=1), days=1095, secret="s" * 32, keep_text=True)
        s.commit()
    with sm() as s:
        assert s.get(OnBehalfContact, world["ids"]["quiet"]) is None
        assert s.get(OnBehalfContact, world["ids"]["busy_open"]).resident_name == "李桂兰"  # still open: kept

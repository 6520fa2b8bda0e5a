"""The request-level audit: every staff action driven through the real pages leaves one audit event with who, when,
what and on which subject; refused or empty requests leave none; no secret is kept; the log is append-only."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import func, select, text, update

from models import AuditEvent, ComplaintState, Staff, Topic, TopicState, Unit, utcnow
from models.council import Assignment
from models.governance import AuditImmutable
from tests import factories
from tests.council.support import PASSWORD, csrf, local_input

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def session(app, demo):
    with app.extensions["xinma.sessionmaker"]() as s:
        yield s


def sign_in(client, username: str, password: str = PASSWORD) -> None:
    page = client.get("/staff/signin").get_data(as_text=True)
    res = client.post("/staff/signin", data={"username": username, "password": password, "csrf_token": csrf(page)})
    assert res.status_code in (302, 303), res.get_data(as_text=True)[:300]


def form_post(client, page_url: str, action: str, data: dict, **kw):
    page = client.get(page_url).get_data(as_text=True)
    return client.post(action, data=dict(data, csrf_token=csrf(page)), **kw)


def staff_id(session, username: str) -> int:
    return session.scalar(select(Staff.id).where(Staff.username == username))


def unit(session, name: str) -> Unit:
    return session.scalar(select(Unit).where(Unit.name == name))


def events(session, **where) -> list[AuditEvent]:
    session.expire_all()
    query = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        query = query.where(getattr(AuditEvent, key) == value)
    return list(session.scalars(query))


def count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEvent))


def only_new(session, before: int) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id).offset(before)))


def topic_in(session, state: TopicState, unit_name: str = "梁堂村") -> Topic:
    village = unit(session, unit_name)
    topic = factories.topic(session, village, state=state, title="梁堂村3组路灯维修")
    grid = session.scalar(select(Unit).where(Unit.parent_id == village.id))
    factories.complaint(session, grid, factories.resident(session), state=ComplaintState.promoted, topic=topic)
    return topic


def assert_recorded(session, before: int, *, actor: int, action: str, kind: str, subject: int | None, since):
    """Exactly one new audit event, by `actor`, for `action` on (kind, subject), written just now."""
    new = only_new(session, before)
    assert [(e.action, e.actor_kind, e.actor_id) for e in new] == [(action, "staff", actor)], \
        [(e.action, e.actor_id, e.data) for e in new]
    event = new[0]
    assert event.subject_kind == kind
    if subject is not None:
        assert event.subject_id == subject
    assert since <= event.created_at <= utcnow()
    assert not any(re.search("password|token|csrf", key, re.I) for key in event.data)
    return event


def test_vote_publication_progress_meeting_rules_rotation_and_invitation_each_leave_an_audit_row(client, session):
    topic = topic_in(session, TopicState.approved)
    implementing = topic_in(session, TopicState.implementing)
    session.add(Assignment(topic_id=implementing.id, lead_kind="branch", lead_name="梁堂村党支部",
                           due_on=dt.date.today(), percent=30, round=1, created_at=utcnow()))
    session.commit()
    secretary, admin = staff_id(session, "shuji1"), staff_id(session, "admin")
    since = utcnow()

    sign_in(client, "shuji1")
    # a vote: one step of the four-step route, with its counts
    url = f"/council/topics/{topic.id}"
    before = count(session)
    res = form_post(client, url, f"{url}/route", {"step": "propose", "held_on": "2026-11-20", "votes_for": "7",
                                                  "votes_against": "0", "votes_abstain": "1"})
    assert res.status_code == 302
    vote = assert_recorded(session, before, actor=secretary, action="council.route", kind="topic", subject=topic.id,
                           since=since)
    assert vote.data["votes_for"] == "7" and vote.data["step"] == "propose"

    # a publication (两公开)
    url = f"/council/topics/{implementing.id}"
    before = count(session)
    res = form_post(client, url, f"{url}/publications", {"kind": "decision", "text": "议定更换路灯"})
    assert res.status_code == 302
    assert_recorded(session, before, actor=secretary, action="council.publish", kind="topic",
                    subject=implementing.id, since=since)

    # progress of the implementation, with a photo
    before = count(session)
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 160, 90)).save(image, "PNG")
    res = form_post(client, url, f"{url}/progress", {"percent": "60", "note": "已换一半",
                                                     "photos": (io.BytesIO(image.getvalue()), "a.png")},
                    content_type="multipart/form-data")
    assert res.status_code == 302
    progress = assert_recorded(session, before, actor=secretary, action="council.progress", kind="topic",
                               subject=implementing.id, since=since)
    assert progress.data["percent"] == "60" and progress.data["files"] == 1
    src = re.search(r'<img src="([^"]+)" alt="现场照片"', client.get(url).get_data(as_text=True)).group(1)
    before = count(session)
    assert client.get(src).status_code == 200  # a look at a progress photo is audited too
    look = assert_recorded(session, before, actor=secretary, action="council.progress_photo", kind="topic",
                           subject=implementing.id, since=since)
    assert look.data["name"] == src.rsplit("/", 1)[1]

    # a meeting: no id in its URL, so the meeting it created is the subject
    before = count(session)
    res = form_post(client, "/council/meetings/", "/council/meetings/", {
        "unit_id": unit(session, "梁堂村").id, "title": "19点议事厅", "place": "村部", "form": "hearing",
        "starts_at": local_input(utcnow() + dt.timedelta(days=1))})
    assert res.status_code == 302
    meeting_id = int(res.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert_recorded(session, before, actor=secretary, action="council.meeting_create", kind="meeting",
                    subject=meeting_id, since=since)

    client.post("/staff/signout", data={"csrf_token": csrf(client.get("/council/").get_data(as_text=True))})
    sign_in(client, "admin")
    # a rule change
    before = count(session)
    res = form_post(client, "/staff/rules", "/staff/rules", {"preset": "five_no", "triage_days": "5"})
    assert res.status_code == 200
    rules = assert_recorded(session, before, actor=admin, action="triage.rules", kind="rule_set", subject=None,
                            since=since)
    assert rules.data["preset"] == "five_no"

    # a code rotation (confirmed)
    grid = unit(session, "梁堂村第一网格")
    before = count(session)
    res = form_post(client, f"/admin/units/{grid.id}", f"/admin/units/{grid.id}/rotate", {"confirm": "yes"})
    assert res.status_code in (302, 303)
    assert_recorded(session, before, actor=admin, action="qr.rotate", kind="unit", subject=grid.id, since=since)

    # an invitation: the invitation row is the subject; its link's token is never kept
    before = count(session)
    res = form_post(client, "/staff/invitations", "/staff/invitations", {
        "display_name": "周网格员", "role": "grid_worker", "unit_id": str(grid.id)})
    assert res.status_code == 200 and "/staff/invite/" in res.get_data(as_text=True)
    invitation = assert_recorded(session, before, actor=admin, action="triage.invitations", kind="staff_invitation",
                                 subject=None, since=since)
    assert invitation.subject_id > 0 and invitation.data["display_name"] == "周网格员"
    link_token = re.search(r"/staff/invite/([\w-]+)", res.get_data(as_text=True)).group(1)
    assert link_token not in str(invitation.data)


def test_a_domain_audited_action_is_recorded_once(client, session):
    grid = unit(session, "梁堂村第一网格")
    complaint = factories.complaint(session, grid, factories.resident(session))
    from models.intake import ComplaintContact

    session.add(ComplaintContact(complaint_id=complaint.id, phone="13912345678"))
    session.commit()
    worker = staff_id(session, "wangge1")
    sign_in(client, "wangge1")
    url = f"/triage/complaints/{complaint.id}"
    before = count(session)
    assert form_post(client, url, f"{url}/phone", {"reason": "约上门时间"}).status_code == 200
    assert [(e.action, e.actor_id, e.reason) for e in only_new(session, before)] == [
        ("reveal_phone", worker, "约上门时间")]
    before = count(session)
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    res = client.post(f"{url}/solve", data={"csrf_token": csrf(page), "note": "已修好", "version": version})
    assert res.status_code == 302
    assert [(e.action, e.actor_id) for e in only_new(session, before)] == [("solve", worker)]


def test_refused_requests_and_confirmation_pages_leave_no_row(client, session):
    topic = topic_in(session, TopicState.approved)
    session.commit()
    sign_in(client, "shuji1")
    url = f"/council/topics/{topic.id}"
    before = count(session)
    res = form_post(client, url, f"{url}/route", {"step": "review", "held_on": "2026-11-20", "votes_for": "7",
                                                  "votes_against": "0", "votes_abstain": "1"})
    assert res.status_code == 400
    assert client.post(f"{url}/route", data={"step": "propose"}).status_code == 400  # no CSRF token
    assert count(session) == before
    # a POST that writes nothing (the signed-out sign-in page, a confirmation) is no action
    sign_in(client, "admin")
    grid = unit(session, "梁堂村第一网格")
    page = form_post(client, f"/admin/units/{grid.id}", f"/admin/units/{grid.id}/rotate", {})
    if "墙上现有的海报会立即失效" in page.get_data(as_text=True):  # the confirmation step
        assert count(session) == before


def test_looking_at_a_complaints_photo_is_audited_and_the_residents_own_look_is_not(client, session, wechat_sandbox):
    from models import QrCode
    from tests.intake.support import auth, jpeg, upload
    from tests.intake.support import sign_in as resident_sign_in

    grid = unit(session, "梁堂村第一网格")
    scene = session.scalar(select(QrCode.token).where(QrCode.unit_id == grid.id, QrCode.revoked_at.is_(None)))
    token = resident_sign_in(client, wechat_sandbox, "o-audit-photo")
    photo_id = upload(client, token, jpeg()).json["data"]["id"]
    res = client.post("/api/v1/complaints", headers=auth(token),
                      json={"scene": scene, "category": "其他", "text": "垃圾堆了三天", "photos": [photo_id]})
    assert res.status_code == 201
    before = count(session)
    assert client.get(f"/api/v1/photos/{photo_id}", headers=auth(token)).status_code == 200
    assert count(session) == before

    staff = client.application.test_client()
    sign_in(staff, "wangge1")
    since = utcnow()
    assert staff.get(f"/api/staff/photos/{photo_id}").status_code == 200
    assert_recorded(session, before, actor=staff_id(session, "wangge1"), action="intake_staff.photo", kind="photo",
                    subject=photo_id, since=since)
    other = client.application.test_client()
    sign_in(other, "wangge3")  # another community's worker: refused, and so not a look
    before = count(session)
    assert other.get(f"/api/staff/photos/{photo_id}").status_code == 404
    assert count(session) == before


def test_no_field_named_like_a_secret_is_kept(client, session):
    sign_in(client, "wangge1")
    before = count(session)
    res = form_post(client, "/staff/wechat", "/staff/wechat", {"action": "bind", "new_password": "hunter2hunter2",
                                                               "access_token": "abc", "comment": "换手机"})
    assert res.status_code == 200
    event = only_new(session, before)[-1]
    assert event.action == "triage.wechat_binding" and event.reason == "换手机"
    assert "hunter2hunter2" not in str(event.data) and "abc" not in str(event.data.values())
    assert set(event.data) == {"action"}


def test_audit_events_are_never_updated_or_deleted(app, session):
    from models.governance import audit
    from models.lifecycle import Actor

    row = audit(session, Actor("system"), "test", "unit", 1, reason="why")
    session.commit()
    row.reason = "changed"
    with pytest.raises(AuditImmutable):
        session.flush()
    session.rollback()
    session.delete(session.get(AuditEvent, row.id))
    with pytest.raises(AuditImmutable):
        session.flush()
    session.rollback()
    with pytest.raises(AuditImmutable):
        session.execute(update(AuditEvent).where(AuditEvent.id == row.id).values(reason="changed"))
    session.rollback()
    assert session.get(AuditEvent, row.id).reason == "why"


@pytest.mark.postgresql
def test_postgresql_refuses_changing_an_audit_event_below_the_application(app, session, engine):
    from sqlalchemy.exc import DBAPIError

    from models.governance import audit
    from models.lifecycle import Actor

    row = audit(session, Actor("system"), "test", "unit", 1, reason="why")
    session.commit()
    row_id = row.id
    for statement in ("UPDATE audit_events SET reason = 'x' WHERE id = :id", "DELETE FROM audit_events WHERE id = :id"):
        with engine.connect() as conn, pytest.raises(DBAPIError, match="never updated or deleted"):
            conn.execute(text(statement), {"id": row_id})


def test_no_code_updates_or_deletes_audit_events():
    """The application's own source never changes an audit row (tests and migrations aside)."""
    pattern = re.compile(r"(update|delete)\(\s*AuditEvent|UPDATE\s+audit_events|DELETE\s+FROM\s+audit_events"
                         r"|AuditEvent\.__table__\.(update|delete)", re.I)
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in (".venv", "tests", "node_modules") or "migrations" in rel.parts:
            continue
        if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            offenders.append(str(rel))
    assert offenders == []


def test_the_residents_side_is_no_staff_action_even_from_a_staff_browser(client, session, wechat_sandbox):
    sign_in(client, "shuji1")  # the same browser also signs in to the mini-program's API
    before = count(session)
    res = client.post("/api/v1/sessions", json={"code": wechat_sandbox.login_code("o-staff-phone")})
    assert res.status_code == 201
    assert count(session) == before

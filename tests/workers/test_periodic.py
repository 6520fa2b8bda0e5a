"""What comes due with time (overdue triage and 领办, meeting reminders) is announced once, by the sweeps of real
worker processes, into the staff daily digest instead of a flood."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import func, select

from council.coverage import add_months
from models import Notification, NotificationState, StaffRole, TopicState, utcnow
from models.base import CHINA
from models.council import Assignment, LeadKind, MeetingDetail, MeetingRegistration
from models.entities import Meeting
from models.notify import DigestItem, Notice
from tests import factories
from tests.conftest import Workers, wait_for
from tests.workers.conftest import sent_per_row
from workers.rendering import template_id


def _setup(db):
    units = factories.units(db)
    grid = factories.staff(db, StaffRole.grid_worker, units["grid"], openid="o-grid-due")
    secretary = factories.staff(db, StaffRole.secretary, units["community"], openid="o-secretary-due")
    resident = factories.resident(db, "o-resident-due")
    late = factories.complaint(db, units["grid"], resident)
    late.created_at = utcnow() - dt.timedelta(days=30)  # far past any triage deadline
    factories.complaint(db, units["grid"], resident)  # submitted now: not overdue
    topic = factories.topic(db, units["community"], TopicState.implementing)
    db.add(Assignment(topic_id=topic.id, lead_kind=LeadKind.branch, lead_name="第一党支部", percent=40,
                      due_on=(utcnow() - dt.timedelta(days=5)).date(), created_at=utcnow()))
    meeting = Meeting(unit_id=units["community"].id, starts_at=utcnow() + dt.timedelta(hours=2),
                      place="幸福社区议事厅", created_at=utcnow())
    db.add(meeting)
    db.flush()
    db.add(MeetingDetail(meeting_id=meeting.id, title="停车难议事会"))
    db.add(MeetingRegistration(meeting_id=meeting.id, resident_id=resident.id, created_at=utcnow()))
    db.commit()
    return grid, secretary, late


def test_overdue_and_reminders_are_announced_once_by_two_sweeps(fast_env, fast_app, wechat_sandbox, db, tmp_path):
    grid, secretary, late = _setup(db)
    for openid in ("o-grid-due", "o-secretary-due"):
        wechat_sandbox.subscribe(openid, template_id("staff_digest"))  # long-term: allowed once
    wechat_sandbox.subscribe("o-resident-due", template_id("meeting_reminder"))
    pool = Workers(dict(fast_env, XINMA_DIGEST_HOUR="0"), tmp_path)  # the digest hour has come
    try:
        pool.start()
        pool.start()  # two workers, two sweeps checking at the same time
        wait_for(lambda: len(wechat_sandbox.messages()) >= 3, timeout=120, what="the digests and the reminder")
        time.sleep(3)  # several more sweep rounds of both workers
    except BaseException:
        print("--- worker logs ---\n" + pool.logs())
        raise
    finally:
        pool.stop_all()
    db.expire_all()
    items = db.execute(select(DigestItem.staff_id, DigestItem.event, func.count())
                       .group_by(DigestItem.staff_id, DigestItem.event)).all()
    assert sorted(items) == sorted([(grid.id, "triage_overdue", 1), (secretary.id, "implementation_overdue", 1)])
    assert sorted(db.scalars(select(Notice.kind))) == ["implementation_overdue:1", "meeting_reminder", "triage_overdue"]
    assert db.scalar(select(Notice.subject_id).where(Notice.kind == "triage_overdue")) == late.id

    (to_grid,) = wechat_sandbox.messages(openid="o-grid-due")
    assert to_grid["data"]["thing1"] == "分拣逾期1件"
    (to_secretary,) = wechat_sandbox.messages(openid="o-secretary-due")
    # The community was created just now and meets every two months (议事频次): its first council is due then.
    due = add_months(dt.datetime.now(CHINA).date(), 2)
    assert to_secretary["data"]["thing1"] == f"落实逾期1件，议事会应于{due.month}月{due.day}日前召开"
    (reminder,) = wechat_sandbox.messages(openid="o-resident-due")
    assert reminder["data"]["thing1"] == "停车难议事会"
    states = db.scalars(select(Notification.state)).all()
    assert sorted(states) == [NotificationState.sent] * 3
    assert all(n == 1 for n in sent_per_row(wechat_sandbox).values())


def test_a_restarted_check_announces_nothing_again(fast_env, fast_app, db, wechat_sandbox):
    from web.settings import load_settings
    from workers.periodic import check_due
    from workers.runtime import install

    install(load_settings(fast_env))
    _setup(db)
    first = check_due()
    assert first == {"triage_overdue": 1, "implementation_overdue": 1, "meeting_reminder": 1, "released": 0,
                     "followup_closed": 0, "terms_ended": 0, "anonymised": 0}
    assert check_due() == {"triage_overdue": 0, "implementation_overdue": 0, "meeting_reminder": 0, "released": 0,
                           "followup_closed": 0, "terms_ended": 0, "anonymised": 0}
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(DigestItem)) == 2

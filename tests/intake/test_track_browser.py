"""The H5 tracking page as a resident without WeChat reads it on a phone (375×812): China times, the decision with
its reason and referral, the staff's reply; no sideways scrolling. Screenshot: test-artifacts/h5-track.png."""

from __future__ import annotations

import pytest

from intake.h5 import create_h5_complaint
from models import SYSTEM, StaffRole, transition_complaint
from models.base import CHINA
from models.intake import reply_to_resident
from qr.services import issue_code
from tests import factories
from tests.browser import assert_fits_phone, new_phone, screenshot
from triage import services as triage

pytestmark = pytest.mark.browser


def clock(moment) -> str:
    return moment.astimezone(CHINA).strftime("%Y年%m月%d日 %H:%M")


def test_a_resident_reads_times_the_reason_and_the_referral_on_the_tracking_page(live_app, browser, db):
    u = factories.units(db)
    worker = factories.staff(db, StaffRole.grid_worker, u["grid"])
    scene = issue_code(db, u["grid"]).token
    complaint, token = create_h5_complaint(db, scene=scene, category="邻里纠纷",
                                           text="楼上邻居每天半夜装修，敲打声很大", phone="")
    transition_complaint(db, complaint, "accept", actor=SYSTEM)
    reply_to_resident(db, worker, complaint, text="收到，我们先上门了解情况。")
    triage.decline(db, worker, complaint, reason_code="individual_dispute",
                   reply="属于两户之间的纠纷，建议先申请人民调解。", referral="mediation")
    db.commit()
    submitted, decided = complaint.created_at, complaint.state_changed_at

    context = new_phone(browser)
    page = context.new_page()
    page.goto(f"{live_app.url}/h5/track/{token}")
    assert page.locator("#state").inner_text() == "不予协商，已答复"
    assert page.locator("#created-at").inner_text() == clock(submitted)  # China time, not UTC
    assert page.locator("#reason").inner_text() == "个体矛盾"
    assert page.locator("#referral").inner_text() == "人民调解"
    assert page.locator("#reply").inner_text() == "属于两户之间的纠纷，建议先申请人民调解。"
    assert page.locator("#decision").inner_text().count(clock(decided)) == 1
    notes = page.locator("#notes li").all_inner_texts()
    assert len(notes) == 1 and "工作人员回复：收到，我们先上门了解情况。" in notes[0]
    steps = page.locator("#timeline li").all_inner_texts()
    assert steps[0].startswith(clock(submitted)) and "您的反映已提交" in steps[0]
    assert [s.split(" ", 2)[-1].split("：")[0] for s in steps][1:] == [
        "已受理，等待网格员分拣", "工作人员回复", "经分拣不予协商，已答复"]
    assert "+00:00" not in page.locator("body").inner_text()  # no raw UTC time anywhere a person reads
    assert_fits_phone(page)
    screenshot(page, "h5-track.png")
    context.close()

"""Everything staff read is Chinese: the pages an admin and a grid worker walk show no raw identifiers (event
names, states, action words, reason codes, WeChat's English error codes without a Chinese reason)."""

from __future__ import annotations

import html.parser
import re

import pytest
from sqlalchemy import select

from models import AuditEvent, Notification, NotificationState, Resident, Staff, Unit, utcnow
from models.intake import ComplaintContact
from models.message_templates import TEMPLATES
from tests import factories
from tests.admin.test_staff import csrf, sign_in
from web.messages import DEFAULT_REASONS, FIVE_REASONS

# The raw words no page may show: every outbox event and state, the staff-only audit actions, roles, reason codes.
RAW = set(TEMPLATES) | {s.value for s in NotificationState} | {"reveal_phone", "hold", "grid_worker", "secretary",
                                                               "legal_adviser", "representative", "no_quota",
                                                               "no_openid", "outcome_unknown", "bad_template",
                                                               "ambiguous", "awaiting_triage", "submit", "accept"}
RAW |= set(DEFAULT_REASONS) | set(FIVE_REASONS)
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")


class _Text(html.parser.HTMLParser):
    """The text a person sees: element text and placeholders, not markup, attributes, scripts or styles; WeChat's
    own words (class "detail", shown after the Chinese reason) are left out, being WeChat's and not ours."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style") or "detail" in (attrs.get("class") or "").split():
            self.hidden.append(tag)
        elif self.hidden and tag == self.hidden[0]:
            self.hidden.append(tag)
        if attrs.get("placeholder") and not self.hidden:
            self.parts.append(attrs["placeholder"])

    def handle_endtag(self, tag):
        if self.hidden and tag == self.hidden[-1]:
            self.hidden.pop()

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(data)


def visible(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return " ".join(parser.parts)


def assert_chinese(page: str, where: str) -> str:
    text = visible(page)
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
    assert not (words & RAW), f"{where} shows raw identifiers: {sorted(words & RAW)}"
    assert not SNAKE.findall(text), f"{where} shows raw identifiers: {SNAKE.findall(text)}"
    return text


# What the delivery job, the sweep and an admin's re-send write into last_error (workers/delivery.py, sweep.py).
OUTBOX = [
    ("complaint_triaged", "failed", "40037: invalid template id rid: 6573a1b2-0c1d"),
    ("topic_progress", "undeliverable", "43101: user refuse to accept the msg rid: 6573a1b2-0c1e"),
    ("complaint_received", "undeliverable", "no_quota: waiting for the resident to subscribe again"),
    ("staff_digest", "undeliverable", "no_openid: recipient has not bound WeChat"),
    ("meeting_reminder", "needs_review", "ambiguous: outcome_unknown: ReadTimeout while calling "
                                         "subscribeMessage.send; WeChat may have delivered it"),
    ("topic_approved", "failed", "gave up after 6 attempts; last: None: HTTP 502 from subscribeMessage.send"),
    ("complaint_new_in_unit", "needs_review", "worker stopped during the WeChat call; check before re-sending"),
    ("topic_published", "failed", "re-sent by an admin; was: 47003: argument invalid! data.phrase2.value invalid"),
    ("rating_requested", "sent", None),
    ("meeting_changed", "pending", None),
]


@pytest.fixture
def outbox(db, demo):
    rows = []
    for event, state, error in OUTBOX:
        row = Notification(event=event, recipient_kind="resident", recipient_id=1, openid="o-resident-cn",
                           params={}, state=NotificationState(state), attempts=1, last_error=error,
                           created_at=utcnow())
        db.add(row)
        rows.append(row)
    db.commit()
    return rows


def test_the_ops_pages_speak_chinese_and_give_wechats_own_words_as_detail(app, outbox):
    admin = app.test_client()
    sign_in(admin, "admin")
    page = admin.get("/ops/").get_data(as_text=True)
    text = assert_chinese(page, "/ops/")
    assert "诉求处理进度通知" in text and "议题进展通知" not in text  # the undeliverable ones are on their list
    assert "消息模板编号不正确（检查 XINMA_TEMPLATE_* 设置）（错误码 40037）" in text
    assert '<span class="detail" lang="en">invalid template id rid: 6573a1b2-0c1d</span>' in page
    assert "此前一次调用超时，微信可能已送达；调用微信超时，结果不明，微信可能已送达" in text
    assert "重试 6 次后放弃；连不上微信，或微信服务出错" in text
    assert "发送进程在调用微信时中断，请先核实再重发" in text
    assert "管理员已重发，此前：；消息字段内容不符合微信要求（错误码 47003）" in text
    link = re.search(r'<a href="([^"]+)"><strong id="state-undeliverable">3</strong>', page)
    assert link and link.group(1) == "/ops/notifications?state=undeliverable"

    listed = admin.get(link.group(1)).get_data(as_text=True)
    text = assert_chinese(listed, "the undeliverable list")
    assert '<strong id="total">3</strong>' in listed
    assert "收件人没有订阅，或订阅次数已用完（错误码 43101）" in text and "议题进展通知" in text
    assert "居民的订阅次数已用完，等居民再次允许后补发" in text and "收件人没有绑定微信" in text
    assert "重新发送" not in text  # undeliverable rows wait for the resident, they are not re-sent by hand
    for state in NotificationState:
        assert_chinese(admin.get(f"/ops/notifications?state={state.value}").get_data(as_text=True), state.value)
    assert admin.get("/ops/notifications?state=lost").status_code == 400


def test_the_rules_page_shows_reasons_in_chinese_and_takes_them_in_chinese(app, demo, db):
    admin = app.test_client()
    sign_in(admin, "admin")
    page = admin.get("/staff/rules").get_data(as_text=True)
    text = assert_chinese(page, "/staff/rules")
    assert all(label in text for label in DEFAULT_REASONS.values())
    token = csrf(page)
    five = admin.post("/staff/rules", data={"csrf_token": token, "preset": "five_no", "triage_days": "3"})
    assert "涉及个人隐私的不议" in assert_chinese(five.get_data(as_text=True), "five_no")
    custom = admin.post("/staff/rules", data={"csrf_token": token, "preset": "custom", "name": "本区三不议",
                                              "reasons": "小事自行协商\n已进入诉讼\n", "triage_days": "2"})
    text = assert_chinese(custom.get_data(as_text=True), "custom rules")
    assert custom.status_code == 200 and "本区三不议" in text and "已进入诉讼" in text
    again = admin.post("/staff/rules", data={"csrf_token": token, "preset": "custom", "reasons": "小事自行协商\n",
                                             "triage_days": "2"})
    assert again.status_code == 200
    from triage.rules import parse_reasons

    [code] = parse_reasons("小事自行协商")
    assert parse_reasons("已进入诉讼\n小事自行协商")[code] == "小事自行协商"  # a wording keeps its code when reordered


def test_the_complaint_timeline_names_every_action_in_chinese(app, demo, db):
    grid_unit = db.scalar(select(Unit).where(Unit.name == "梁堂村第一网格"))
    resident = Resident(openid="o-resident-timeline", created_at=utcnow())
    db.add(resident)
    db.flush()
    complaint = factories.complaint(db, grid_unit, resident)
    db.add(ComplaintContact(complaint_id=complaint.id, phone="13812345678"))
    for action, to_state in (("submit", "submitted"), ("hold", "submitted"), ("accept", "awaiting_triage")):
        db.add(AuditEvent(subject_kind="complaint", subject_id=complaint.id, action=action, to_state=to_state,
                          actor_kind="system", data={}, created_at=utcnow()))
    db.commit()
    grid = app.test_client()
    sign_in(grid, "wangge1")
    page = grid.get(f"/triage/complaints/{complaint.id}").get_data(as_text=True)
    res = grid.post(f"/triage/complaints/{complaint.id}/phone", data={"csrf_token": csrf(page),
                                                                      "reason": "电话联系居民约上门时间"})
    assert res.status_code == 200 and "13812345678" in res.get_data(as_text=True)
    page = grid.get(f"/triage/complaints/{complaint.id}").get_data(as_text=True)
    timeline = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', page, re.S).group(1)
    text = assert_chinese(timeline, "the complaint's timeline")
    assert "查看电话（李网格员）：电话联系居民约上门时间" in text
    assert "微信暂未审核，稍后重试" in text and "已受理，等待网格员分拣" in text
    assert_chinese(page, "the complaint page")


def test_the_admin_pages_and_error_pages_speak_chinese(app, demo, db):
    admin = app.test_client()
    sign_in(admin, "admin")
    grid_id = db.scalar(select(Staff.id).where(Staff.username == "wangge1"))
    for path in ("/admin/", "/admin/staff", f"/admin/staff/{grid_id}", f"/admin/staff/{grid_id}/deactivate",
                 "/staff/invitations", "/admin/units"):
        res = admin.get(path)
        assert res.status_code == 200, path
        assert_chinese(res.get_data(as_text=True), path)
    # The audit viewer names the staff page's actions in Chinese (web/audit.py records each by its endpoint).
    token = csrf(admin.get(f"/admin/staff/{grid_id}").get_data(as_text=True))
    admin.post(f"/admin/staff/{grid_id}/deactivate", data={"csrf_token": token, "confirm": "yes"})
    admin.post(f"/admin/staff/{grid_id}/reactivate", data={"csrf_token": token})
    admin.post(f"/admin/staff/{grid_id}/password", data={"csrf_token": token})
    audit = assert_chinese(admin.get("/admin/audit").get_data(as_text=True), "/admin/audit")
    assert "停用工作人员账号" in audit and "恢复工作人员账号" in audit and "重置工作人员密码" in audit
    missing = admin.get("/admin/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in assert_chinese(missing.get_data(as_text=True), "404")
    wrong = admin.put("/admin/staff")
    assert wrong.status_code == 405 and "不支持的请求方式" in assert_chinese(wrong.get_data(as_text=True), "405")
    refused = admin.post(f"/admin/staff/{grid_id}/reactivate", data={"csrf_token": "stale"})
    assert refused.status_code == 400 and "页面已过期" in assert_chinese(refused.get_data(as_text=True), "csrf")

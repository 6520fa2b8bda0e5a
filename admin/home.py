"""Admin pages: the admin's home, every admin page one tap away, with the figures that call for action."""

from __future__ import annotations

from flask import current_app, render_template
from sqlalchemy import func, select

from models import Notification, NotificationState, Staff, StaffRole
from models.entities import staff_units
from models.scope import scope_clause
from qr.services import is_loopback
from web.auth import current_staff, staff_required
from web.http import db
from web.messages import error_text

from .blueprint import bp

# (heading, [(path, name, what it is for)]). Paths, not endpoints: several of these pages live in other packages.
SECTIONS = [
    ("人员", [
        ("/admin/staff", "工作人员", "账号、岗位、负责单位，停用与重置密码"),
        ("/staff/invitations", "邀请工作人员", "发一次性邀请链接，对方自设用户名和密码"),
        ("/admin/representatives", "议政代表与民意联络员", "推荐、审查、决定、公示、聘任"),
        ("/admin/legal", "法律顾问", "各村（社区）的法律顾问与法制审核"),
    ]),
    ("单位与规则", [
        ("/admin/units", "单位与心码", "单位树、二维码、海报导出、扫码次数"),
        ("/admin/rooms", "协商议事室", "各单位的议事场所"),
        ("/admin/cadence", "议事频次", "各级多久至少开一次议事会，逾期提醒"),
        ("/admin/categories", "问题类别", "居民反映时可选的类别"),
        ("/admin/calendar", "工作日历", "节假日与调休，决定分拣期限"),
        ("/staff/rules", "议事规则", "三议四不议、五不议或自定义理由，分拣期限"),
    ]),
    ("审核与安全", [
        ("/admin/review", "人工审核", "微信未能审核的文字和照片"),
        ("/admin/audit", "操作日志", "谁在什么时候做了什么"),
        ("/admin/blocks", "封禁", "恶意提交的居民与地址"),
    ]),
    ("运行与统计", [
        ("/ops/", "消息送达", "微信通知的排队、失败与重发"),
        ("/council/stats", "统计", "件件有回音：受理、协商、落实、满意度"),
        ("/council/ledger", "台账", "每件事的时间、地点、决定、答复与评价"),
        ("/council/hotspots", "热点", "同一村（社区）相似的反映，一键成议题"),
    ]),
]


@bp.get("/")
@staff_required(StaffRole.admin)
def home():
    session, admin = db(), current_staff()
    in_scope = select(staff_units.c.staff_id).where(scope_clause(admin, staff_units.c.unit_id))
    counts = dict(session.execute(select(Staff.active, func.count()).where(Staff.id.in_(in_scope))
                                  .group_by(Staff.active)).all())
    failed = session.scalar(select(func.count()).select_from(Notification).where(
        Notification.state.in_((NotificationState.failed, NotificationState.needs_review))))
    public_url = current_app.config["XINMA"].public_url
    warning = error_text("public_url_loopback", {"url": public_url or "（未设置）"}) \
        if not public_url or is_loopback(public_url) else None
    return render_template("admin/home.html", sections=SECTIONS, active=counts.get(True, 0),
                           inactive=counts.get(False, 0), failed=failed, warning=warning)

"""Admin operations pages: delivery health, dead letters with a re-send button, Prometheus metrics, rq-dashboard."""

from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Flask, Response, current_app, redirect, request, url_for
from flask import render_template as render
from sqlalchemy import func, select

from models import DomainError, Notification, NotificationState, StaffRole, utcnow
from models.errors import Conflict, NotFound
from models.lifecycle import defer
from models.message_templates import TEMPLATES
from models.outbox import move_notifications
from web.auth import check_csrf, current_staff, staff_required
from web.http import db

bp = Blueprint("ops", __name__, url_prefix="/ops", template_folder="pages")
N = NotificationState
RESENDABLE = (N.failed, N.needs_review)
STATE_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已送达", "undeliverable": "无法送达",
                "failed": "发送失败", "needs_review": "待人工核查"}
RECIPIENTS = {"resident": "居民", "staff": "工作人员"}
# WeChat's errcodes of subscribeMessage.send and the token calls, in the words an operator acts on.
WECHAT_ERRORS = {
    -1: "微信系统繁忙", 40001: "访问令牌无效", 40014: "访问令牌无效", 42001: "访问令牌已过期",
    40003: "收件人的微信身份（openid）无效", 40037: "消息模板编号不正确（检查 XINMA_TEMPLATE_* 设置）",
    43101: "收件人没有订阅，或订阅次数已用完", 43107: "小程序的订阅消息能力被微信封禁",
    43108: "同一用户的上一条消息还没发完",
    45009: "超过微信接口每日调用上限", 45011: "调用微信接口太频繁", 45168: "消息内容含有敏感词",
    47003: "消息字段内容不符合微信要求", 41030: "消息要打开的小程序页面不存在",
    40013: "小程序 AppID 无效", 40125: "小程序 AppSecret 无效", 40164: "本机 IP 不在微信接口白名单中",
    61010: "收件人长期未使用小程序",
}
# The project's own reasons a row was not delivered (workers/delivery.py, workers/sweep.py write them).
DELIVERY_REASONS = {
    "None": "连不上微信，或微信服务出错", "no_openid": "收件人没有绑定微信", "bad_template": "消息内容无法按模板生成",
    "no_quota": "居民的订阅次数已用完，等居民再次允许后补发",
    "outcome_unknown": "调用微信超时，结果不明，微信可能已送达",
    "worker stopped during the WeChat call; check before re-sending": "发送进程在调用微信时中断，请先核实再重发",
    "delivered by an attempt that timed out": "超时的那次调用已经送达（微信以 43101 拒绝了重发）",
}
WRAPPERS = {"ambiguous: ": "此前一次调用超时，微信可能已送达", "re-sent by an admin; was: ": "管理员已重发，此前："}


def explain(error: str | None) -> tuple[str, str]:
    """A row's last error as (the Chinese reason, WeChat's or the network's own text as detail)."""
    reasons, rest = [], (error or "").strip()
    while rest:
        gave_up = re.match(r"gave up after (\d+) attempts; last: ", rest)
        wrapper = next((w for w in WRAPPERS if rest.startswith(w)), None)
        if gave_up:
            reasons.append(f"重试 {gave_up[1]} 次后放弃")
            rest = rest[gave_up.end():]
        elif wrapper:
            reasons.append(WRAPPERS[wrapper])
            rest = rest[len(wrapper):]
        else:
            break
    if not rest:
        return "；".join(reasons), ""
    head, _, tail = rest.partition(": ")
    if head.lstrip("-").isdigit():
        reasons.append(f"{WECHAT_ERRORS.get(int(head), '微信拒绝了这次发送')}（错误码 {head}）")
        return "；".join(reasons), tail
    if rest in DELIVERY_REASONS or head in DELIVERY_REASONS:
        reasons.append(DELIVERY_REASONS.get(rest) or DELIVERY_REASONS[head])
        return "；".join(reasons), tail if head in ("None", "outcome_unknown", "bad_template") else ""
    reasons.append("其他原因")
    return "；".join(reasons), rest


def event_name(event: str) -> str:
    """The message's Chinese title (the subscribe-message template's own) for an outbox event."""
    return TEMPLATES.get(event, {}).get("title", "其他通知")


@bp.app_template_global("ops_words")
def ops_words() -> dict:
    return {"event": event_name, "explain": explain, "recipients": RECIPIENTS, "states": STATE_LABELS}


def queue_depth() -> dict[str, int]:
    """Jobs waiting, scheduled (back-off) and failed in RQ; empty when Redis is not configured or down."""
    queue = current_app.extensions.get("xinma.queue")
    if queue is None:
        return {}
    try:
        return {"queued": queue.count, "scheduled": queue.scheduled_job_registry.count,
                "started": queue.started_job_registry.count, "failed": queue.failed_job_registry.count}
    except Exception:  # Redis down: the page still shows the database side
        return {}


def delivery_stats(session) -> dict:
    """Rows per state, sends in the last hour, and delivery latency (created -> finished) of recent sends."""
    counts = dict(session.execute(select(Notification.state, func.count()).group_by(Notification.state)).all())
    since = utcnow() - dt.timedelta(hours=1)
    recent = session.execute(select(Notification.created_at, Notification.finished_at)
                             .where(Notification.state == N.sent, Notification.finished_at >= since)
                             .order_by(Notification.finished_at.desc()).limit(2000)).all()
    latencies = sorted((f - c).total_seconds() for c, f in recent)

    def pct(p: float) -> float | None:
        return round(latencies[min(int(len(latencies) * p), len(latencies) - 1)], 2) if latencies else None

    return {"states": {str(getattr(k, "value", k)): v for k, v in counts.items()}, "sent_last_hour": len(recent),
            "latency_p50": pct(0.5), "latency_p95": pct(0.95)}


@bp.get("/")
@staff_required(StaffRole.admin)
def index():
    stats = delivery_stats(db())
    dead = db().scalars(select(Notification).where(Notification.state.in_(RESENDABLE))
                        .order_by(Notification.id.desc()).limit(200)).all()
    return render("ops/index.html", stats=stats, depth=queue_depth(), dead=dead, labels=STATE_LABELS)


@bp.get("/notifications")
@staff_required(StaffRole.admin)
def notifications():
    """The newest 200 notifications in one delivery state (?state=undeliverable, the figures' links)."""
    try:
        state = N(request.args.get("state", ""))
    except ValueError:
        raise DomainError("filter_invalid") from None
    rows = db().scalars(select(Notification).where(Notification.state == state)
                        .order_by(Notification.id.desc()).limit(200)).all()
    total = db().scalar(select(func.count()).select_from(Notification).where(Notification.state == state))
    return render("ops/notifications.html", rows=rows, state=state.value, total=total, labels=STATE_LABELS,
                  resendable=[s.value for s in RESENDABLE])


@bp.post("/notifications/<int:notification_id>/resend")
@staff_required(StaffRole.admin)
def resend(notification_id: int):
    check_csrf()
    resend_notification(db(), notification_id)
    return redirect(url_for("ops.index", resent=notification_id))


def resend_notification(session, notification_id: int) -> Notification:
    """Put a failed or needs-review row back to pending, once, at an admin's request.

    Side effects: resets attempts and the back-off; the row is handed to RQ after the request's commit.
    """
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound("notification_not_found")
    done = move_notifications(session, Notification.id == row.id, from_=RESENDABLE, to=N.pending, attempts=0,
                              next_attempt_at=None, finished_at=None,
                              last_error=f"re-sent by an admin; was: {row.last_error or ''}"[:400]).rowcount
    if not done:
        raise Conflict("notification_not_resendable")
    defer(session, "notification", row)
    return row


@bp.get("/metrics")
def metrics():
    """Prometheus text format; admins only (a signed-in admin, or the XINMA_METRICS_TOKEN bearer token)."""
    from prometheus_client import CollectorRegistry, Gauge, generate_latest

    token = current_app.config["XINMA_METRICS_TOKEN"]
    bearer = request.headers.get("Authorization", "")
    staff = current_staff()
    if not (token and bearer == f"Bearer {token}") and (staff is None or staff.role != StaffRole.admin):
        raise NotFound("not_found")
    stats = delivery_stats(db())
    registry = CollectorRegistry()
    rows = Gauge("xinma_notifications", "Outbox rows by delivery state", ["state"], registry=registry)
    for state in N:
        rows.labels(state=state.value).set(stats["states"].get(state.value, 0))
    depth = Gauge("xinma_queue_jobs", "RQ jobs by registry", ["registry"], registry=registry)
    for name, value in queue_depth().items():
        depth.labels(registry=name).set(value)
    latency = Gauge("xinma_delivery_latency_seconds", "Delivery latency of sends in the last hour", ["quantile"],
                    registry=registry)
    for q, key in (("0.5", "latency_p50"), ("0.95", "latency_p95")):
        if stats[key] is not None:
            latency.labels(quantile=q).set(stats[key])
    Gauge("xinma_sent_last_hour", "Messages sent in the last hour", registry=registry).set(stats["sent_last_hour"])
    return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")


def register(app: Flask) -> None:
    """Mount the ops pages, and rq-dashboard under /ops/rq for admins (when Redis is configured)."""
    settings = app.config["XINMA"]
    app.config["XINMA_METRICS_TOKEN"] = settings.metrics_token
    app.register_blueprint(bp)
    if not settings.redis_url:
        return
    import rq_dashboard
    from rq.serializers import JSONSerializer
    from rq_dashboard.web import config as dashboard_config
    from rq_dashboard.web import setup_rq_connection

    dashboard_config.serializer = JSONSerializer
    app.config["RQ_DASHBOARD_REDIS_URL"] = settings.redis_url
    setup_rq_connection(app)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix="/ops/rq")

    def _dashboard_for_admins():
        staff = current_staff()
        if staff is None:
            return redirect(url_for("triage.signin", next=request.path))
        if staff.role != StaffRole.admin:
            raise DomainError("not_found", status=404)
        return None

    # Only the dashboard's requests are checked (first of its hooks), not every request of the app.
    app.before_request_funcs.setdefault(rq_dashboard.blueprint.name, []).insert(0, _dashboard_for_admins)

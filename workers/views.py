"""Admin operations pages: delivery health, dead letters with a re-send button, Prometheus metrics, rq-dashboard."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Flask, Response, current_app, redirect, request, url_for
from flask import render_template as render
from sqlalchemy import func, select

from models import DomainError, Notification, NotificationState, StaffRole, utcnow
from models.errors import Conflict, NotFound
from models.lifecycle import defer
from models.outbox import move_notifications
from web.auth import check_csrf, current_staff, staff_required
from web.http import db

bp = Blueprint("ops", __name__, url_prefix="/ops", template_folder="pages")
N = NotificationState
RESENDABLE = (N.failed, N.needs_review)
STATE_LABELS = {"pending": "待发送", "sending": "发送中", "sent": "已送达", "undeliverable": "无法送达",
                "failed": "发送失败", "needs_review": "待人工核查"}


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

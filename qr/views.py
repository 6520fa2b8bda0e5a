"""The scan landing `/q/<token>`, the plain-link rule's verification file `/q/<name>.txt`, and the admin pages for
units: tree, search, rotate, posters, scan counts, the verification file."""

from __future__ import annotations

import io
import tempfile
import time
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request, send_file, url_for
from sqlalchemy import or_, select

from models import DomainError, NotFound, QrCode, StaffRole, Unit
from web.auth import check_csrf, current_staff, staff_required
from web.http import db
from web.messages import error_text

from . import services
from .export import safe_name, workers_for, write_pdf, write_zip
from .posters import page_size, poster_png, qr_png

bp = Blueprint("qr", __name__, template_folder="templates")


def in_wechat() -> bool:
    return "MicroMessenger" in request.headers.get("User-Agent", "")


@bp.get("/q/<name>.txt")
def link_verification_file(name: str):
    """The file WeChat fetches to verify the plain-link rule for /q/ (set by an admin); anything else 404.

    Registered before the token route, and a token never holds a dot, so the two cannot be confused.
    """
    current = services.link_verification(db())
    if current is None or current["name"] != name:
        raise NotFound("not_found")
    return Response(current["content"], mimetype="text/plain")


@bp.get("/q/<token>")
def landing(token: str):
    """Inside WeChat: into the mini-program with the link. Anywhere else (or with ?h5): the H5 intake page."""
    code = services.resolve_scene(db(), token)
    services.count_scan(db(), code.unit_id)
    settings = current_app.config["XINMA"]
    simulator = settings.miniprogram_simulator_url
    if in_wechat() and simulator and request.args.get("h5") is None:
        # Embedded mode: the sandbox's simulated phone stands in for the mini-program WeChat would open, and is
        # handed what WeChat hands it for a plain-link scan: q (the whole link) and scancode_time.
        link = services.scan_url(settings.public_url, code)
        return redirect(f"{simulator}?{urlencode({'q': link, 'scancode_time': int(time.time())})}")
    # Production WeChat opens the mini-program itself for a registered scan-link prefix (扫普通链接二维码打开小程序)
    # and never reaches this page; if it does, the H5 page works inside WeChat's browser as well.
    return redirect(url_for("h5.report", token=code.token))


# --- admin -----------------------------------------------------------------------------------------------------

def _items(units: list[Unit]):
    public_url = current_app.config["XINMA"].public_url
    codes = {c.unit_id: c for c in db().scalars(select(QrCode).where(
        QrCode.unit_id.in_([u.id for u in units]), QrCode.revoked_at.is_(None)))}
    for unit in units:
        if unit.id in codes:
            yield unit.full_name(), unit.code, services.scan_url(public_url, codes[unit.id])


def _address_warning() -> str | None:
    """The warning every poster page shows while posters would carry an address no phone can open."""
    public_url = current_app.config["XINMA"].public_url
    if public_url and not services.is_loopback(public_url):
        return None
    return error_text("public_url_loopback", {"url": public_url or "（未设置）"})


def _refused_export(unit: Unit):
    """Posters with a loopback or unset address are not handed out unless asked for with force=1 (a test print):
    the page says why (`poster_address_loopback`, 409) and offers the forced download."""
    if _address_warning() is None or request.args.get("force") == "1":
        return None
    url = current_app.config["XINMA"].public_url or "（未设置）"
    forced = f"{request.path}?{urlencode({**request.args.to_dict(), 'force': '1'})}"
    return render_template("qr/export_refused.html", unit=unit, forced=forced, code="poster_address_loopback",
                           message=error_text("poster_address_loopback", {"url": url})), 409


@bp.get("/admin/units")
@staff_required(StaffRole.admin)
def units():
    query = request.args.get("q", "").strip()[:50]
    stmt = select(Unit).order_by(Unit.path)
    if query:
        stmt = stmt.where(or_(Unit.name.contains(query, autoescape=True), Unit.code.startswith(query,
                                                                                               autoescape=True)))
    rows = list(db().scalars(stmt.limit(500)))
    rows = services.sort_tree(rows) if not query else rows
    counts = services.scan_counts(db(), [u.id for u in rows])
    depth = {u.id: len(u.ancestor_ids()) - 1 for u in rows}
    return render_template("qr/units.html", units=rows, counts=counts, depth=depth, query=query,
                           link_file=services.link_verification(db()), warning=_address_warning(),
                           link_prefix=current_app.config["XINMA"].public_url.rstrip("/") + "/q/")


@bp.post("/admin/link-verification")
@staff_required(StaffRole.admin)
def set_link_verification():
    """Keep the verification file WeChat issued for the plain-link rule; it is served at /q/<name>.txt."""
    check_csrf()
    services.set_link_verification(db(), current_staff(), request.form.get("name"), request.form.get("content"))
    return redirect(url_for("qr.units", link_file_set=1), 303)


@bp.get("/admin/units/<int:unit_id>")
@staff_required(StaffRole.admin)
def unit(unit_id: int):
    unit = services.get_unit(db(), unit_id)
    code = services.current_code(db(), unit)
    counts = services.scan_counts(db(), [unit.id]).get(unit.id, (0, 0))
    public_url = current_app.config["XINMA"].public_url
    url = services.scan_url(public_url, code) if code else None
    return render_template("qr/unit.html", unit=unit, code=code, url=url, counts=counts, warning=_address_warning())


@bp.route("/admin/units/<int:unit_id>/rotate", methods=["GET", "POST"])
@staff_required(StaffRole.admin)
def rotate(unit_id: int):
    """Rotating kills the poster on the wall: the GET (or a POST without confirm=yes) shows what will happen and
    asks; only the confirmed POST rotates."""
    unit = services.get_unit(db(), unit_id)
    code = services.current_code(db(), unit)
    if code is None:
        raise DomainError("unit_retired", status=409)
    if request.method == "POST":
        check_csrf()
        if request.form.get("confirm") == "yes":
            services.rotate_code(db(), unit)
            return redirect(url_for("qr.unit", unit_id=unit_id, rotated=1), 303)
    counts = services.scan_counts(db(), [unit.id]).get(unit.id, (0, 0))
    return render_template("qr/rotate.html", unit=unit, code=code, counts=counts)


@bp.get("/admin/units/<int:unit_id>/qr.png")
@staff_required(StaffRole.admin)
def unit_qr(unit_id: int):
    unit = services.get_unit(db(), unit_id)
    code = services.current_code(db(), unit)
    if code is None:
        raise DomainError("unit_retired", status=409)
    png = qr_png(services.scan_url(current_app.config["XINMA"].public_url, code))
    return Response(png, mimetype="image/png")


def _wxacode(code: QrCode):
    return services.miniprogram_code(current_app.extensions["xinma.wechat"], code,
                                     state=current_app.config["XINMA"].miniprogram_state)


@bp.get("/admin/units/<int:unit_id>/wxacode.png")
@staff_required(StaffRole.admin)
def unit_wxacode(unit_id: int):
    """The unit's mini-program code (小程序码), for units whose residents should land in the mini-program."""
    unit = services.get_unit(db(), unit_id)
    code = services.current_code(db(), unit)
    if code is None:
        raise DomainError("unit_retired", status=409)
    out = io.BytesIO()
    _wxacode(code).save(out, "PNG")
    return Response(out.getvalue(), mimetype="image/png", headers={
        "Content-Disposition": f"attachment; filename={safe_name(unit.code)}-wxacode.png"})


@bp.get("/admin/units/<int:unit_id>/poster-<size>.png")
@staff_required(StaffRole.admin)
def unit_poster(unit_id: int, size: str):
    """A unit's poster; with ?code=wxacode it carries the mini-program code instead of the QR."""
    page = page_size(size)
    unit = services.get_unit(db(), unit_id)
    items = list(_items([unit]))
    if not items:
        raise DomainError("unit_retired", status=409)
    wxacode = request.args.get("code") == "wxacode"
    refused = None if wxacode else _refused_export(unit)  # the mini-program code carries no address
    if refused:
        return refused
    image = _wxacode(services.current_code(db(), unit)) if wxacode else None
    png = poster_png(*items[0], page, code_image=image)
    name = f"{safe_name(unit.code)}-{page.name}{'-wxacode' if wxacode else ''}.png"
    return Response(png, mimetype="image/png", headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.get("/admin/units/<int:unit_id>/export.<fmt>")
@staff_required(StaffRole.admin)
def unit_export(unit_id: int, fmt: str):
    if fmt not in ("zip", "pdf"):
        raise DomainError("export_format_unknown")
    page = page_size(request.args.get("size", "A4"))
    unit = services.get_unit(db(), unit_id)
    refused = _refused_export(unit)
    if refused:
        return refused
    units = services.subtree(db(), unit)
    # Spooled to a temporary file (on disk past 8 MB) rather than held in memory.
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - send_file closes it
    (write_zip if fmt == "zip" else write_pdf)(out, _items(units), page, workers=workers_for(len(units)))
    out.seek(0)
    return send_file(out, mimetype="application/zip" if fmt == "zip" else "application/pdf", as_attachment=True,
                     download_name=f"{safe_name(unit.code)}-posters-{page.name}.{fmt}")

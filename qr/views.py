"""The scan landing `/q/<token>`: what a phone camera or WeChat opens when it reads a unit code."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request

from models.web import db

from .services import resolve_scene

bp = Blueprint("qr", __name__, template_folder="templates")


@bp.get("/q/<token>")
def landing(token: str):
    code = resolve_scene(db(), token)
    simulator = current_app.config["XINMA"].miniprogram_simulator_url
    if simulator and request.args.get("h5") is None:
        # Embedded mode: the sandbox's simulated phone stands in for the mini-program that WeChat would open.
        return redirect(f"{simulator}?{urlencode({'scene': code.token})}")
    return render_template("qr/landing.html", unit=code.unit, full_name=code.unit.full_name())

"""The app's request hooks: one commit per request, the error pages and JSON errors, refusals before any view."""

from __future__ import annotations

import logging

from flask import Flask, g, jsonify, render_template, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException

from models import DomainError

from . import audit
from .messages import error_text
from .ratelimit import RateLimited

log = logging.getLogger("xinma")


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions (staff sign-in), without building the signer for the many requests that carry
    no session cookie: every mini-program request."""

    def open_session(self, app: Flask, request):
        # The raw header is looked at first: parsing every request's cookies costs more than the rest of this.
        if app.secret_key and self.get_cookie_name(app) not in request.environ.get("HTTP_COOKIE", ""):
            return self.session_class()
        return super().open_session(app, request)


def wire_transactions(app: Flask) -> None:
    """One commit per request, only when the response succeeded, with the request's audit event (web/audit.py);
    side effects follow the commit."""
    audit.wire(app)

    @app.after_request
    def _commit(response):
        session = g.pop("db", None)
        if session is None:
            return response
        try:
            if response.status_code < 400:
                audit.record(session, response.status_code)
                session.commit()
            else:
                session.rollback()
        except Exception:
            session.rollback()
            log.exception("commit failed")
            return _error_response("server_error", 500, {})
        finally:
            session.close()
        return response

    @app.teardown_request
    def _close(_exc):
        session = g.pop("db", None)
        if session is not None:
            session.rollback()
            session.close()


def _error_response(code: str, status: int, params: dict):
    message = error_text(code, params)
    if request.path.startswith("/api/"):
        return jsonify({"ok": False, "error": {"code": code, "message": message}}), status
    return render_template("error.html", code=code, message=message), status


def refuse_nul_characters(app: Flask) -> None:
    @app.before_request
    def _no_nul_characters():
        """A NUL character cannot be stored by PostgreSQL: refuse it in the path, the query or a form before any
        view reads them (JSON bodies: json_body). Forms past the size limit are the view's to refuse."""
        fields = list(request.args.items(multi=True)) if request.environ.get("QUERY_STRING") else []
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data") and (
                request.content_length or 0) <= app.config["MAX_CONTENT_LENGTH"]:
            fields += request.form.items(multi=True)
        if "\x00" in request.path or any("\x00" in k or "\x00" in v for k, v in fields):
            raise DomainError("nul_character")


def wire_errors(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError):
        response = app.make_response(_error_response(exc.code, exc.status, exc.params))
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed", 413: "bad_request"}.get(exc.code, "bad_request")
        response = app.make_response(_error_response(code, exc.code or 400, {}))
        if getattr(exc, "valid_methods", None):  # a 405 names the methods that are allowed (RFC 9110)
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error")
        return _error_response("server_error", 500, {})

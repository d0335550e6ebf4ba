"""MLS Tracker: govern a Managed Learning Services partnership. ``create_app`` makes the app."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, Request, redirect, request, url_for
from flask_security import SQLAlchemyUserDatastore
from werkzeug.exceptions import SecurityError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import MapAdapter
from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wsgi import get_host

from mls_tracker import audit, errors, formatting, lists, navigation, sessions, throttling
from mls_tracker.config import load_settings
from mls_tracker.extensions import bootstrap, csrf, db, mail, migrate, security
from mls_tracker.services import data_version, figures_cache, satisfaction_months
from mls_tracker.services.mail import EXTERNAL_URL_KEY

ROOT = Path(__file__).resolve().parent.parent
REFUSED_HOST_KEY = "mls_tracker.refused_host"
log = logging.getLogger("mls_tracker.hosts")


class _Tracker(Flask):
    """Flask, with every external URL (``url_for(..., _external=True)``: links in e-mails,
    Flask-Security's included) built from the configured EXTERNAL_URL rather than the Host a
    request names, and requests naming a host outside TRUSTED_HOSTS marked for a 400."""

    def create_url_adapter(self, request: Request | None) -> MapAdapter | None:
        if request is None:
            return super().create_url_adapter(None)
        base = urlsplit(request.environ.get(EXTERNAL_URL_KEY) or self.config["EXTERNAL_URL"])
        trusted = self.config["TRUSTED_HOSTS"]
        if trusted is not None:
            request.trusted_hosts = trusted
        try:
            host = get_host(request.environ)
            known = EXTERNAL_URL_KEY in request.environ or host_is_trusted(host, trusted)
        except SecurityError:  # characters no host name has
            host, known = str(request.environ.get("HTTP_HOST", "")), False
        if not known:
            # Refused by _refuse_unknown_host before anything else runs; meanwhile the request
            # reads as one for the configured host, so that its 400 page can be drawn.
            request.environ[REFUSED_HOST_KEY] = host
            host = base.netloc
        request.host = host  # type: ignore[misc]
        adapter = self.url_map.bind_to_environ(
            request.environ, subdomain=self.url_map.default_subdomain or ""
        )
        adapter.server_name, adapter.url_scheme = base.netloc, base.scheme
        return adapter


def _refuse_unknown_host() -> None:
    refused = request.environ.get(REFUSED_HOST_KEY)
    if refused is not None:
        log.info("refused host: %r %s %s", refused[:100], request.method, request.path)
        raise SecurityError("Unknown host")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _configure_logging() -> None:
    """One log line per event, timestamps in UTC (sign-ins, denials, errors)."""
    root = logging.getLogger()
    if any(getattr(h, "_mls_tracker", False) for h in root.handlers):
        return
    handler = logging.StreamHandler()
    formatter = logging.Formatter(
        "%(asctime)sZ %(levelname)s %(name)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler._mls_tracker = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    # WeasyPrint narrates every layout step at INFO: a dozen lines per scorecard.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    instance_path = Path(os.environ.get("MLS_INSTANCE_PATH", ROOT / "instance")).resolve()
    app = _Tracker(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_mapping(load_settings(instance_path))
    if config:
        app.config.from_mapping(config)
    if app.config["MLS_ENV"] == "production" and app.debug:
        raise RuntimeError("debug mode must not be on in production")

    _configure_logging()

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    bootstrap.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
    audit.install_audit_listener()
    figures_cache.install_listeners()
    data_version.install_listeners()
    satisfaction_months.install_listeners()

    from mls_tracker.auth.forms import SECURITY_FORMS
    from mls_tracker.models import SecurityRole, User, utcnow

    security.init_app(
        app,
        SQLAlchemyUserDatastore(db, User, SecurityRole),
        **SECURITY_FORMS,
        datetime_factory=utcnow,  # our timestamp columns are timezone-aware UTC
    )
    throttling.init_app(app)
    sessions.init_app(app)
    errors.init_app(app)

    from mls_tracker import assets, headers, jobs
    from mls_tracker.accounts.routes import bp as accounts_bp
    from mls_tracker.acknowledgements.routes import bp as acknowledgements_bp
    from mls_tracker.actions.routes import bp as actions_bp
    from mls_tracker.admin.routes import bp as admin_bp
    from mls_tracker.auth import oidc
    from mls_tracker.auth.routes import bp as auth_bp
    from mls_tracker.changes.routes import bp as changes_bp
    from mls_tracker.contract_imports.routes import bp as contract_imports_bp
    from mls_tracker.contracts.routes import bp as contracts_bp
    from mls_tracker.credits.routes import bp as credits_bp
    from mls_tracker.dashboard.routes import bp as dashboard_bp
    from mls_tracker.delivery.routes import bp as delivery_bp
    from mls_tracker.expectations.routes import bp as expectations_bp
    from mls_tracker.history.routes import bp as history_bp
    from mls_tracker.inbox.routes import bp as inbox_bp
    from mls_tracker.meetings.routes import bp as meetings_bp
    from mls_tracker.partnerships.routes import bp as partnerships_bp
    from mls_tracker.queues.routes import bp as queues_bp
    from mls_tracker.reviews.routes import bp as reviews_bp
    from mls_tracker.satisfaction.routes import bp as satisfaction_bp
    from mls_tracker.services import inbox, webhooks
    from mls_tracker.setup.routes import bp as setup_bp
    from mls_tracker.slas.routes import bp as slas_bp
    from mls_tracker.sponsors.routes import bp as sponsors_bp
    from mls_tracker.survey_imports.routes import bp as survey_imports_bp
    from mls_tracker.webhooks.routes import bp as webhooks_bp
    from mls_tracker.wins.routes import bp as wins_bp

    headers.init_app(app)
    assets.init_app(app)
    headers.protect_wsgi(app)  # after assets: its answers get the security headers too
    if app.config["PROXY_HOPS"]:
        # Outermost, so the throttle and the logs see the client's address, not the proxy's.
        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    jobs.init_app(app)
    oidc.init_app(app)
    webhooks.init_app(app)
    inbox.init_app(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(partnerships_bp)
    app.register_blueprint(sponsors_bp)
    app.register_blueprint(expectations_bp)
    app.register_blueprint(slas_bp)
    app.register_blueprint(credits_bp)
    app.register_blueprint(delivery_bp)
    app.register_blueprint(satisfaction_bp)
    app.register_blueprint(survey_imports_bp)
    app.register_blueprint(meetings_bp)
    app.register_blueprint(actions_bp)
    app.register_blueprint(changes_bp)
    app.register_blueprint(wins_bp)
    app.register_blueprint(webhooks_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(reviews_bp)
    app.register_blueprint(acknowledgements_bp)
    app.register_blueprint(setup_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(contracts_bp)
    app.register_blueprint(contract_imports_bp)
    app.register_blueprint(history_bp)
    app.register_blueprint(queues_bp)
    app.register_blueprint(inbox_bp)

    from mls_tracker import api

    api.init_app(app)

    # How figures, changes and statuses are written, the same as in the PDF and e-mails.
    formatting.init_app(app)
    lists.init_app(app)  # a list's address kept on the pages opened from it (next=)
    navigation.init_app(app)  # the main navigation, rendered once per user and kind of page

    from mls_tracker.cli import register_commands

    register_commands(app)

    @app.get("/")
    def home():
        return redirect(url_for("dashboard.portfolio"))

    @app.get("/healthz")
    def healthz():
        db.session.execute(sa.text("SELECT 1"))
        return {"status": "ok"}

    # First of all, ahead of the session check and the sign-in throttle.
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_unknown_host)
    return app

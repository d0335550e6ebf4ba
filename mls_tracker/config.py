"""Settings from the environment. SQLite in ``instance/`` by default."""

from __future__ import annotations

import datetime as dt
import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret(instance_path: Path, name: str) -> str:
    """A random secret kept in ``instance/`` so development sessions survive restarts."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def external_url(production: bool) -> str:
    """Where people reach the app, ``scheme://host[:port]``: every link in an e-mail starts
    with it, whatever Host a request names. EXTERNAL_URL, else SERVER_NAME (https in
    production); required in production, ``http://localhost:5000`` otherwise."""
    value = (os.environ.get("EXTERNAL_URL") or "").strip()
    server_name = (os.environ.get("SERVER_NAME") or "").strip()
    if not value and server_name:
        value = f"{'https' if production else 'http'}://{server_name}"
    if not value:
        if production:
            raise ConfigError(
                "EXTERNAL_URL must be set in production: the address people reach the app at, "
                "for example https://tracker.example.com (links in e-mails are built from it)"
            )
        return "http://localhost:5000"
    parts = urlsplit(value)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path.strip("/")
        or parts.query
        or parts.fragment
    ):
        raise ConfigError(
            "EXTERNAL_URL must be a scheme and host such as https://tracker.example.com "
            f"(no path), not {value!r}"
        )
    return f"{parts.scheme}://{parts.netloc.lower()}"


def trusted_hosts(external: str, production: bool) -> list[str]:
    """Hosts a request may name (others get 400): the external URL's, localhost and
    127.0.0.1 outside production, and the comma-separated TRUSTED_HOSTS."""
    hosts = [urlsplit(external).netloc]
    if not production:
        hosts += ["localhost", "127.0.0.1"]
    hosts += [h.strip() for h in os.environ.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
    return list(dict.fromkeys(hosts))


def display_time_zone() -> str:
    """The IANA zone times are shown in for people who chose none (DISPLAY_TIME_ZONE, UTC by
    default); an unknown name is refused at start rather than shown wrong."""
    name = (os.environ.get("DISPLAY_TIME_ZONE") or "UTC").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(
            f"DISPLAY_TIME_ZONE must be an IANA time zone such as Europe/London, not {name!r}"
        ) from error
    return name


def single_sign_on() -> dict[str, Any]:
    """OpenID Connect single sign-on: off unless OIDC_ISSUER is set, and then the client id
    and secret the provider gave are required; OIDC_ALLOWED_DOMAINS (comma-separated) are the
    e-mail domains that may sign in this way."""
    issuer = (os.environ.get("OIDC_ISSUER") or "").strip().rstrip("/") or None
    client_id = (os.environ.get("OIDC_CLIENT_ID") or "").strip() or None
    client_secret = os.environ.get("OIDC_CLIENT_SECRET") or None
    domains = [
        d.strip().lower().lstrip("@")
        for d in os.environ.get("OIDC_ALLOWED_DOMAINS", "").split(",")
        if d.strip()
    ]
    if issuer and not (client_id and client_secret and domains):
        raise ConfigError(
            "With OIDC_ISSUER set, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_ALLOWED_DOMAINS "
            "(comma-separated e-mail domains, e.g. example.com) must be set too"
        )
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_ALLOWED_DOMAINS": domains,
        "OIDC_BUTTON_LABEL": (
            os.environ.get("OIDC_BUTTON_LABEL") or "Sign in with single sign-on"
        ).strip(),
    }


def load_settings(instance_path: Path) -> dict[str, Any]:
    env = os.environ.get("MLS_ENV", "development").strip().lower()
    if env not in {"development", "production", "testing"}:
        raise ConfigError(f"MLS_ENV must be development, production or testing, not {env!r}")
    production = env == "production"

    secret_key = os.environ.get("SECRET_KEY")
    password_salt = os.environ.get("SECURITY_PASSWORD_SALT")
    if production and not (secret_key and password_salt):
        raise ConfigError(
            "SECRET_KEY and SECURITY_PASSWORD_SALT must be set in production "
            "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    secret_key = secret_key or _instance_secret(instance_path, "secret_key")
    password_salt = password_salt or _instance_secret(instance_path, "password_salt")

    database_url = os.environ.get("DATABASE_URL") or (
        f"sqlite:///{instance_path / 'mls_tracker.db'}"
    )

    return {
        "MLS_ENV": env,
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        # Background jobs (Huey): inline when testing or HUEY_IMMEDIATE, else SQLite in
        # instance/ or Redis when REDIS_URL is set.
        "HUEY_IMMEDIATE": _bool("HUEY_IMMEDIATE", env == "testing"),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        # Webhooks (README "Webhooks"): http:// endpoints, and hosts resolving to private or
        # loopback addresses, are refused unless these say otherwise (tests, local receivers).
        "WEBHOOK_ALLOW_HTTP": _bool("WEBHOOK_ALLOW_HTTP", False),
        "WEBHOOK_ALLOW_PRIVATE_HOSTS": _bool("WEBHOOK_ALLOW_PRIVATE_HOSTS", False),
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_UPLOAD_MB", "50")) * 1024 * 1024,
        # Shape limits of an uploaded survey file, checked before it is staged.
        "SURVEY_MAX_COLUMNS": int(os.environ.get("SURVEY_MAX_COLUMNS", "500")),
        "SURVEY_MAX_ROWS": int(os.environ.get("SURVEY_MAX_ROWS", "1000000")),
        "SURVEY_MAX_LINE_BYTES": int(os.environ.get("SURVEY_MAX_LINE_BYTES", str(1024 * 1024))),
        "SURVEY_MAX_HEADER_BYTES": int(os.environ.get("SURVEY_MAX_HEADER_BYTES", str(512 * 1024))),
        # Sessions: ended at sign-out, after idle time and after an absolute lifetime.
        "SESSION_IDLE_TIMEOUT": dt.timedelta(
            minutes=int(os.environ.get("SESSION_IDLE_MINUTES", "60"))
        ),
        "SESSION_ABSOLUTE_TIMEOUT": dt.timedelta(
            hours=int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
        ),
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(
            hours=int(os.environ.get("SESSION_ABSOLUTE_HOURS", "12"))
        ),
        "SESSION_COOKIE_NAME": "mls_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", production),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "SERVER_NAME": os.environ.get("SERVER_NAME") or None,
        # Links in e-mails start with EXTERNAL_URL, never with the Host a request names; a
        # request naming a host outside TRUSTED_HOSTS gets 400 (mls_tracker/__init__.py).
        "EXTERNAL_URL": external_url(production),
        "TRUSTED_HOSTS": trusted_hosts(external_url(production), production),
        # How many reverse proxies stand in front of the app and set X-Forwarded-For/-Proto
        # (0: none; the client address is the connection's). Behind nginx, 1: without it every
        # client has the proxy's address and the per-address sign-in limits count them as one.
        "PROXY_HOPS": int(os.environ.get("PROXY_HOPS", "0")),
        # No token sign-in until the project's own API tokens exist: a Flask-Security token
        # would outlive sign-out, never expire and be accepted in a URL (sessions.py also
        # drops its request loader).
        "SECURITY_API_ENABLED_METHODS": ["session"],
        "SECURITY_FRESHNESS_ALLOW_AUTH_TOKEN": False,
        "SECURITY_TOKEN_MAX_AGE": dt.timedelta(minutes=1),
        # Flask-Security's default writes "private=True, no-store=True"; headers.py sends a
        # plain no-store instead.
        "SECURITY_CACHE_CONTROL": {},
        # Mail (Flask-Mail) — real SMTP; the defaults suit a local relay.
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", "25")),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _bool("MAIL_USE_SSL", False),
        # Flask-Mail would silently drop every message when TESTING is on; tests use a real
        # SMTP server on loopback instead.
        "MAIL_SUPPRESS_SEND": _bool("MAIL_SUPPRESS_SEND", False),
        "MAIL_DEFAULT_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "MLS Tracker <no-reply@mls-tracker.local>"
        ),
        # Flask-Security
        "SECURITY_PASSWORD_SALT": password_salt,
        "SECURITY_PASSWORD_HASH": "argon2",
        "SECURITY_PASSWORD_LENGTH_MIN": 8,
        "SECURITY_PASSWORD_CHECK_BREACHED": False,
        "SECURITY_PASSWORD_COMPLEXITY_CHECKER": "zxcvbn",
        "SECURITY_PASSWORD_SCORE": 2,
        "SECURITY_RETURN_GENERIC_RESPONSES": True,
        "SECURITY_TRACKABLE": True,
        "SECURITY_CHANGEABLE": True,
        "SECURITY_RECOVERABLE": True,
        "SECURITY_REGISTERABLE": False,
        "SECURITY_CONFIRMABLE": False,
        "SECURITY_TWO_FACTOR": True,
        "SECURITY_TWO_FACTOR_REQUIRED": False,
        # Administrators without two-factor sign-in are sent to set it up before anything
        # else (everyone else may choose); on in production.
        "REQUIRE_ADMIN_2FA": _bool("REQUIRE_ADMIN_2FA", production),
        "SECURITY_TWO_FACTOR_ENABLED_METHODS": ["authenticator"],
        "SECURITY_TOTP_ISSUER": "MLS Tracker",
        "SECURITY_TOTP_SECRETS": {"1": os.environ.get("TOTP_SECRET") or secret_key},
        "SECURITY_TWO_FACTOR_ALWAYS_VALIDATE": False,
        "SECURITY_EMAIL_SENDER": os.environ.get(
            "MAIL_DEFAULT_SENDER", "MLS Tracker <no-reply@mls-tracker.local>"
        ),
        "SECURITY_POST_LOGIN_VIEW": "dashboard.portfolio",
        "SECURITY_POST_LOGOUT_VIEW": "security.login",
        "SECURITY_LOGOUT_METHODS": ["POST"],
        "SECURITY_RESET_PASSWORD_WITHIN": dt.timedelta(hours=2),
        "SECURITY_USE_REGISTER_V2": True,
        "SECURITY_EMAIL_VALIDATOR_ARGS": {"check_deliverability": False},
        "SECURITY_REDIRECT_ALLOW_SUBDOMAINS": False,
        "SECURITY_DEFAULT_REMEMBER_ME": False,
        "SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS": False,
        "SECURITY_FRESHNESS": dt.timedelta(minutes=30),
        "SECURITY_MSG_GENERIC_AUTHN_FAILED": (
            "The e-mail address or password is not correct.",
            "error",
        ),
        "SECURITY_MSG_PASSWORD_RESET_REQUEST": (
            "If %(email)s has an account, a link to choose a new password is on its way.",
            "info",
        ),
        "BOOTSTRAP_SERVE_LOCAL": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "INVITATION_VALID_DAYS": 7,
        # Times on the pages (the audit log …) are shown in the viewer's own time zone, else
        # in this one.
        "DISPLAY_TIME_ZONE": display_time_zone(),
        # How long a sponsor's link to acknowledge an e-mailed scorecard stays valid.
        "SCORECARD_ACK_MAX_AGE_DAYS": int(os.environ.get("SCORECARD_ACK_MAX_AGE_DAYS", "30")),
        # Failed credential checks (password, two-factor code, reset token) allowed before
        # HTTP 429; shared across workers through Redis when REDIS_URL is set, else counted
        # in each process's memory. PER_ACCOUNT counts one account from one address (so
        # nobody can lock someone else out); the CEILING counts it from every address.
        "LOGIN_RATE_PER_ACCOUNT": os.environ.get("LOGIN_RATE_PER_ACCOUNT", "10 per 15 minutes"),
        "LOGIN_RATE_ACCOUNT_CEILING": os.environ.get(
            "LOGIN_RATE_ACCOUNT_CEILING", "100 per 15 minutes"
        ),
        "LOGIN_RATE_PER_ADDRESS": os.environ.get("LOGIN_RATE_PER_ADDRESS", "30 per 15 minutes"),
        # Password-reset requests (each may send a mail), per address typed and per client.
        "RESET_RATE_PER_ACCOUNT": os.environ.get("RESET_RATE_PER_ACCOUNT", "3 per hour"),
        "RESET_RATE_PER_ADDRESS": os.environ.get("RESET_RATE_PER_ADDRESS", "10 per hour"),
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        # JSON API requests allowed per token (per address without one), then 429.
        "API_RATE_LIMIT": os.environ.get("API_RATE_LIMIT", "600 per minute"),
        # How long the OpenID provider has to answer (discovery, keys, token exchange).
        "OIDC_TIMEOUT_SECONDS": float(os.environ.get("OIDC_TIMEOUT_SECONDS", "10")),
        **single_sign_on(),
    }

"""The OpenID Connect client for single sign-on (Authlib's Flask client), one per app and
only when OIDC_ISSUER is set; the provider is asked for its discovery document at the first
sign-in, not at start-up, so an unreachable provider never stops the app."""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

_EXTENSION = "mls_oidc_client"


def client() -> Any | None:
    """The provider's client, or None when single sign-on is off."""
    return current_app.extensions.get(_EXTENSION)


def _button_label() -> dict[str, str | None]:
    return {"sso_button_label": current_app.config["OIDC_BUTTON_LABEL"] if client() else None}


def init_app(app: Flask) -> None:
    app.context_processor(_button_label)
    issuer = app.config.get("OIDC_ISSUER")
    if not issuer:
        return
    # Its own registry per app (the settings are per app); Authlib keeps the state, nonce and
    # PKCE verifier of each sign-in in the (signed) session.
    registry = OAuth(app)
    app.extensions[_EXTENSION] = registry.register(
        "oidc",
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": "openid email profile",
            "code_challenge_method": "S256",
            "default_timeout": app.config["OIDC_TIMEOUT_SECONDS"],
        },
    )


def claims_options() -> dict[str, Any]:
    """The ID token must come from the configured issuer (Authlib checks the signature with
    the provider's published keys, the audience, expiry and the nonce it sent)."""
    return {"iss": {"essential": True, "value": current_app.config["OIDC_ISSUER"]}}

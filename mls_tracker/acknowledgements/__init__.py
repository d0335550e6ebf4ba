"""Acknowledgements: a sponsor marks a scorecard reviewed through a signed link."""

from flask import Blueprint

bp = Blueprint("acknowledgements", __name__, url_prefix="/acknowledge")

from mls_tracker.acknowledgements import routes  # noqa: E402, F401

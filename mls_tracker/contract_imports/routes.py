"""Bringing an existing partnership in: the workbook template, upload, preview, import job."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("contract_imports", __name__)

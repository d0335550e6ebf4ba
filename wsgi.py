"""The WSGI entry point: ``gunicorn wsgi:app``."""

from mls_tracker import create_app

app = create_app()

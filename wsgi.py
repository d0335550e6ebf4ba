"""The WSGI entry point: ``gunicorn wsgi:app`` (and ``flask --app wsgi run`` in development)."""

from mls_tracker import create_app, headers

# The development server's Server header would name the Werkzeug and Python versions.
headers.hide_server_version()
app = create_app()

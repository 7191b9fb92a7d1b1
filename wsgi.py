"""gunicorn entry point: `gunicorn wsgi:app`."""

from webui import create_app

app = create_app()

"""The WSGI entry point for gunicorn: ``gunicorn app.wsgi:app``."""

from app.web.application import create_app

app = create_app()

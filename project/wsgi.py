"""WSGI entry point for gunicorn (server target) and Zappa (lambda target)."""

from django.core.wsgi import get_wsgi_application

from project.targets import configure

configure()
application = get_wsgi_application()

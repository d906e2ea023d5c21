"""ASGI entry point, for users who serve the same project with an ASGI server."""

from django.core.asgi import get_asgi_application

from project.targets import configure

configure()
application = get_asgi_application()

"""Which settings module a process runs with.

``DJANGO_DEPLOY_TARGET`` picks one of the deploy targets; an explicit
``DJANGO_SETTINGS_MODULE`` still wins, as everywhere in Django.
"""

import os

TARGETS = ("local", "server", "lambda", "test")
DEFAULT_TARGET = "local"


def settings_module(environ=os.environ):
    target = environ.get("DJANGO_DEPLOY_TARGET", "").strip() or DEFAULT_TARGET
    if target not in TARGETS:
        raise SystemExit(
            f"DJANGO_DEPLOY_TARGET={target!r} is not a deploy target; "
            f"use one of: {', '.join(TARGETS)}."
        )
    return f"project.settings.{target}"


def configure(environ=os.environ):
    """Point DJANGO_SETTINGS_MODULE at the selected target unless it is already set."""
    environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module(environ))

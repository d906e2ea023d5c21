"""Local development: ``manage.py runserver`` against the local AWS stack.

Start the stack with ``manage.py localaws`` (``make run`` does both). Every default
here points at that stack, so a fresh clone runs with no environment at all.
"""

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from apps.core.loopback import is_loopback_url

from .base import *  # noqa: F403
from .base import (
    AWS_ENDPOINT_URLS,
    INSTALLED_APPS,
    LOG_LEVEL,
    TEMPLATES,
    VAR_DIR,
    database_config,
    env,
    logging_config,
)

# The developer tools (local AWS stack, local Lambda, cost model): never on a deployed target.
# Ahead of whitenoise.runserver_nostatic, so that manage.py finds the tools' runserver, which
# wraps whitenoise's and says at start-up when the local stack is not answering.
_whitenoise = INSTALLED_APPS.index("whitenoise.runserver_nostatic")
INSTALLED_APPS = [*INSTALLED_APPS[:_whitenoise], "deploy.tools", *INSTALLED_APPS[_whitenoise:]]
# Off, as deployed: a 404 or a 500 shows the site's own page, in the visitor's language, and
# the 500's traceback goes to the console log. DJANGO_DEBUG=true shows Django's pages instead.
DEBUG = env.as_bool("DJANGO_DEBUG", False)
SECRET_KEY = env.get("DJANGO_SECRET_KEY", "django-insecure-local-only-never-deploy-this-key")
ALLOWED_HOSTS = env.as_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

VAR_DIR.mkdir(exist_ok=True)  # SQLite file and the local stack's state live here
DATABASES = {
    "default": database_config(env.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"))
}

# The local AWS stack (moto's server on loopback) and the names it provisions.
LOCALAWS_HOST = "127.0.0.1"
LOCALAWS_PORT = env.as_int("LOCALAWS_PORT", 4566)
LOCALAWS_STATE_DIR = Path(env.get("LOCALAWS_STATE_DIR", VAR_DIR / "localaws"))
LOCALAWS_DEMO_USERNAME = env.get("LOCALAWS_DEMO_USERNAME", "demo@example.com")
LOCALAWS_DEMO_PASSWORD = env.get("LOCALAWS_DEMO_PASSWORD", "Amphibian-demo-1")

AWS_REGION = env.get("AWS_REGION", "us-east-1")
AWS_ENDPOINT_URL = env.get("AWS_ENDPOINT_URL", f"http://{LOCALAWS_HOST}:{LOCALAWS_PORT}")
AWS_ACCESS_KEY_ID = env.get("AWS_ACCESS_KEY_ID", "local")
AWS_SECRET_ACCESS_KEY = env.get("AWS_SECRET_ACCESS_KEY", "local")
SESSIONS_TABLE = env.get("SESSIONS_TABLE", "amphibian-local-sessions")
TOKEN_DENYLIST_TABLE = env.get("TOKEN_DENYLIST_TABLE", "amphibian-local-denylist")
# Counted in the local stack's DynamoDB, as deployed.
RATE_LIMITS_TABLE = env.get("RATE_LIMITS_TABLE", "amphibian-local-ratelimits")
RATE_LIMIT_BACKEND = env.get("RATE_LIMIT_BACKEND", "dynamodb")
MEDIA_BUCKET = env.get("MEDIA_BUCKET", "amphibian-local-media")
STATIC_BUCKET = env.get("STATIC_BUCKET", "amphibian-local-static")


def _stack_outputs():
    """Ids the local stack generated (like CloudFormation outputs); a file, not a network call."""
    try:
        return json.loads((LOCALAWS_STATE_DIR / "outputs.json").read_text())
    except (OSError, ValueError):
        return {}


_outputs = _stack_outputs()
COGNITO_USER_POOL_ID = env.get("COGNITO_USER_POOL_ID", _outputs.get("COGNITO_USER_POOL_ID"))
COGNITO_APP_CLIENT_ID = env.as_list(
    "COGNITO_APP_CLIENT_ID", _outputs.get("COGNITO_APP_CLIENT_ID", [])
)
# Tokens name the real AWS issuer; their keys come from the local stack.
COGNITO_JWKS_URL = env.get(
    "COGNITO_JWKS_URL",
    f"{AWS_ENDPOINT_URL}/{COGNITO_USER_POOL_ID}/.well-known/jwks.json"
    if COGNITO_USER_POOL_ID
    else None,
)


def _require_loopback(urls):
    """These settings trust the local stack's token keys, which are moto's and public: anyone
    can forge a token they verify. So every AWS endpoint and the key URL stay on loopback."""
    for name, url in urls.items():
        if url and not is_loopback_url(url):
            raise ImproperlyConfigured(
                f"{name}={url} is not on loopback (127.0.0.0/8, ::1, localhost); the local "
                "settings trust the local AWS stack, whose Cognito signs tokens with moto's "
                f"public key. Unset {name} to use the local stack on 127.0.0.1, or run a "
                "deployed target (DJANGO_DEPLOY_TARGET=server) against real AWS."
            )


_require_loopback(
    {
        "AWS_ENDPOINT_URL": AWS_ENDPOINT_URL,
        **{f"AWS_ENDPOINT_URL_{service}": url for service, url in AWS_ENDPOINT_URLS.items()},
        "COGNITO_JWKS_URL": COGNITO_JWKS_URL,
    }
)

# Static files straight from their sources through whitenoise's finders; no collectstatic.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
# Looked up on every request and never cached by the browser, so an edited file shows on the
# next reload (whitenoise ties both to DEBUG, which is off here).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_MAX_AGE = 0

# Templates read from disk at every render, so an edit shows on the next reload, with or
# without runserver's reloader (unless loaders are named, Django caches them).
_engine: dict[str, Any] = TEMPLATES[0]
TEMPLATES = [
    {
        **_engine,
        "APP_DIRS": False,
        "OPTIONS": {
            **_engine["OPTIONS"],
            "loaders": [
                "django.template.loaders.filesystem.Loader",
                "django.template.loaders.app_directories.Loader",
            ],
        },
    }
]

# Plain HTTP on loopback.
SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False

EMAIL_BACKEND = env.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")

LOGGING = logging_config(env.get("DJANGO_LOG_FORMAT", "console"), LOG_LEVEL)

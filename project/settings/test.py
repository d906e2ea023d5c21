"""The test suite's settings: fast, isolated, pointed at a moto server the fixtures start."""

from .base import *  # noqa: F403
from .base import BASE_DIR, INSTALLED_APPS, database_config, env

INSTALLED_APPS = [*INSTALLED_APPS, "deploy.tools"]
SECRET_KEY = "django-insecure-test-only"
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
DATABASES = {"default": database_config(env.get("DATABASE_URL", "sqlite://:memory:"))}

# tests/conftest.py starts the moto server and overrides the endpoint.
AWS_REGION = "us-east-1"
AWS_ENDPOINT_URL = "http://127.0.0.1:9"  # discard port: nothing answers until a fixture runs
AWS_ENDPOINT_URLS = {}
AWS_ACCESS_KEY_ID = "test"
AWS_SECRET_ACCESS_KEY = "test"
SESSIONS_TABLE = "amphibian-test-sessions"
TOKEN_DENYLIST_TABLE = "amphibian-test-denylist"
# The local stack creates the table (targets started by the tests count there); in-process
# tests count in local memory unless they ask for the table (apps/core/tests/test_limits.py).
RATE_LIMITS_TABLE = "amphibian-test-ratelimits"
RATE_LIMIT_BACKEND = "cache"
MEDIA_BUCKET = "amphibian-test-media"
STATIC_BUCKET = "amphibian-test-static"
COGNITO_USER_POOL_ID = None
COGNITO_APP_CLIENT_ID = []
LOCALAWS_HOST = "127.0.0.1"
LOCALAWS_STATE_DIR = BASE_DIR / "var" / "test-localaws"
LOCALAWS_DEMO_USERNAME = "demo@example.com"
LOCALAWS_DEMO_PASSWORD = "Amphibian-test-1"

# Static files straight from their sources through whitenoise's finders; no collectstatic.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
LANGUAGE_COOKIE_SECURE = False

# Each readiness test sees its own settings' result (test_health.py tests the reuse).
READINESS_CACHE_SECONDS = 0

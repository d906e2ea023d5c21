"""Settings shared by every deploy target.

Safe for production by default: target modules for local development and tests relax
what they must. Values come from the environment; nothing here touches the network.
"""

from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONCE, NONE, SELF

from . import env
from .logconfig import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

SECRET_KEY = env.get("DJANGO_SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = env.as_list("DJANGO_ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.as_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    # Not for its engine: Django's session cookie security checks (check --deploy) look
    # for this app, and our middleware is no longer at its dotted path.
    "django.contrib.sessions",
    "django.contrib.messages",
    # Before staticfiles: runserver serves static through whitenoise too, as servers do.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django_tasks",
    "django_tasks_db",
    "apps.core",
    "apps.tasks",
    "apps.sessions",
    "apps.accounts",
    "apps.files",
    "apps.pages",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestIDMiddleware",
    "apps.core.middleware.HealthCheckMiddleware",
    # Content-Security-Policy with this target's origins, Permissions-Policy (apps.core.csp):
    # before the redirect, so a refused host's 400 page carries them too.
    "apps.core.csp.SecurityPolicyMiddleware",
    # One redirect at most (https, host, language, slash), before SecurityMiddleware's own.
    "apps.core.middleware.CanonicalURLMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.middleware.CognitoJWTMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that its process_exception is the first to see what a view raised: any
    # dependency that is down is the 503 with Retry-After (apps.core.errors), and the
    # response still passes every middleware above on its way out.
    "apps.core.middleware.DependencyUnavailableMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",  # CSP_NONCE, for an inline <script nonce>
            ],
        },
    },
]


def database_config(url, conn_max_age=0):
    """Parse a ``DATABASE_URL`` (dj-database-url); no connection is opened here."""
    config = dj_database_url.parse(
        url,
        conn_max_age=conn_max_age,
        conn_health_checks=conn_max_age > 0,
    )
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Concurrent requests (runserver is threaded): take the write lock when a transaction
        # starts and wait for it, instead of failing with "database is locked".
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


def deployed_database(default_max_age):
    """PostgreSQL for a deployed target: connections kept across requests (or warm Lambda
    invocations) and checked before reuse, so a failover or an idle timeout costs a
    reconnect, not a 500; connecting gives up after DATABASE_CONNECT_TIMEOUT seconds."""
    config = database_config(
        env.get("DATABASE_URL"), env.as_int("DATABASE_CONN_MAX_AGE", default_max_age)
    )
    if "postgresql" in config["ENGINE"]:
        config.setdefault("OPTIONS", {}).setdefault(
            "connect_timeout", env.as_int("DATABASE_CONNECT_TIMEOUT", 5)
        )
    return {"default": config}


DATABASE_URL = env.get("DATABASE_URL")
DATABASE_CONN_MAX_AGE = env.as_int("DATABASE_CONN_MAX_AGE", 0)
DATABASES = (
    {"default": database_config(DATABASE_URL, DATABASE_CONN_MAX_AGE)} if DATABASE_URL else {}
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français"), ("de", "Deutsch")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- AWS -------------------------------------------------------------------------------
# Read by apps.core.aws when a client is first needed, never at import time.
AWS_REGION = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
AWS_ENDPOINT_URL = env.get("AWS_ENDPOINT_URL")
AWS_ENDPOINT_URLS = env.endpoint_overrides()
# Explicit keys only for the local stack; deployed targets use the role's credentials.
AWS_ACCESS_KEY_ID: str | None = None
AWS_SECRET_ACCESS_KEY: str | None = None
AWS_CONNECT_TIMEOUT = env.as_float("AWS_CONNECT_TIMEOUT", 2.0)
AWS_READ_TIMEOUT = env.as_float("AWS_READ_TIMEOUT", 5.0)
AWS_MAX_ATTEMPTS = env.as_int("AWS_MAX_ATTEMPTS", 3)

SESSIONS_TABLE = env.get("SESSIONS_TABLE")
MEDIA_BUCKET = env.get("MEDIA_BUCKET")
STATIC_BUCKET = env.get("STATIC_BUCKET")

TOKEN_DENYLIST_TABLE = env.get("TOKEN_DENYLIST_TABLE")

# --- Rate limits (apps.core.limits) ------------------------------------------------------
# "dynamodb" counts in RATE_LIMITS_TABLE, shared by every instance; "cache" in Django's
# cache, shared only if the cache is (Redis). check --deploy refuses per-process counting.
RATE_LIMITS_TABLE = env.get("RATE_LIMITS_TABLE")
RATE_LIMIT_BACKEND = env.get("RATE_LIMIT_BACKEND", "dynamodb" if RATE_LIMITS_TABLE else "cache")

# --- Client address (apps.core.addresses) --------------------------------------------------
# Proxies in front that each append to X-Forwarded-For: 0 trusts no header (nothing in
# front, or API Gateway, whose sourceIp the Lambda handler passes as REMOTE_ADDR).
TRUSTED_PROXY_COUNT = env.as_int("DJANGO_TRUSTED_PROXY_COUNT", 0)
# A header an edge sets itself (CloudFront-Viewer-Address), when nothing can bypass that edge.
CLIENT_ADDRESS_HEADER = env.get("DJANGO_CLIENT_ADDRESS_HEADER")

# --- Authentication (Cognito) ----------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["apps.accounts.backends.CognitoBackend"]
LOGIN_URL = "accounts:login"
# URL names, so the language prefix and API Gateway's stage are part of the redirect.
LOGIN_REDIRECT_URL = "pages:home"
LOGOUT_REDIRECT_URL = "pages:home"

COGNITO_USER_POOL_ID = env.get("COGNITO_USER_POOL_ID")
COGNITO_APP_CLIENT_ID = env.as_list("COGNITO_APP_CLIENT_ID")
COGNITO_CLIENT_SECRET = env.get("COGNITO_CLIENT_SECRET")
# Hosted UI (managed login) domain; unset means the username/password form.
COGNITO_DOMAIN = env.get("COGNITO_DOMAIN")
# Defaults derive from region + pool (apps.accounts.conf); set them for other OIDC issuers
# or when the keys come from elsewhere than the issuer (the local stack).
COGNITO_ISSUER = env.get("COGNITO_ISSUER")
COGNITO_JWKS_URL = env.get("COGNITO_JWKS_URL")
COGNITO_JWKS_FILE = env.get("COGNITO_JWKS_FILE")
COGNITO_JWKS_COOLDOWN = env.as_float("COGNITO_JWKS_COOLDOWN", 30.0)
COGNITO_JWKS_TIMEOUT = env.as_float("COGNITO_JWKS_TIMEOUT", 3.0)
COGNITO_LEEWAY = env.as_int("COGNITO_LEEWAY", 30)
COGNITO_MAX_TOKEN_AGE = env.as_int("COGNITO_MAX_TOKEN_AGE", 0)  # seconds since auth_time
COGNITO_BEARER_TOKEN_USES = env.as_list("COGNITO_BEARER_TOKEN_USES", ["access"])
COGNITO_CHECK_REVOCATION = env.as_bool("COGNITO_CHECK_REVOCATION", True)
COGNITO_DENYLIST_TTL = env.as_int("COGNITO_DENYLIST_TTL", 86400)  # longest token lifetime
COGNITO_STAFF_GROUP = env.get("COGNITO_STAFF_GROUP", "admins")
COGNITO_SUPERUSER_GROUP = env.get("COGNITO_SUPERUSER_GROUP", "superusers")
TOKEN_DENYLIST_BACKEND = "apps.accounts.revocation.DynamoDBDenyList"  # noqa: S105 - a path
# Password-login throttling (apps.accounts.ratelimit), per window of LOGIN_FAILURE_WINDOW s:
# failures per (username, client), per client, and per username, past which that account
# is slowed to one attempt per LOGIN_USERNAME_SLOWDOWN s (browsers it signed in from are not).
LOGIN_FAILURE_LIMIT = env.as_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_CLIENT_FAILURE_LIMIT = env.as_int("LOGIN_CLIENT_FAILURE_LIMIT", 20)
LOGIN_USERNAME_FAILURE_LIMIT = env.as_int("LOGIN_USERNAME_FAILURE_LIMIT", 50)
LOGIN_USERNAME_SLOWDOWN = env.as_int("LOGIN_USERNAME_SLOWDOWN", 10)
LOGIN_FAILURE_WINDOW = env.as_int("LOGIN_FAILURE_WINDOW", 900)
LOGIN_DEVICE_COOKIE_NAME = "known_device"
LOGIN_DEVICE_COOKIE_AGE = 180 * 86400
# Seconds a hosted-UI sign-in may take, from the login page to the callback.
LOGIN_STATE_MAX_AGE = 600

# The one host pages are served on; any other (www., the raw API Gateway or CloudFront
# host) gets one redirect. Behind CloudFront, which cannot pass Host to API Gateway, have
# the distribution send the viewer's host in a custom origin header and name it here.
CANONICAL_HOST = env.get("CANONICAL_HOST")
CANONICAL_HOST_HEADER = env.get("CANONICAL_HOST_HEADER")
# Only behind a proxy that sets X-Forwarded-Host itself.
USE_X_FORWARDED_HOST = env.as_bool("DJANGO_TRUST_X_FORWARDED_HOST", False)
CSRF_FAILURE_VIEW = "apps.core.views.csrf_failure"

# --- E-mail ------------------------------------------------------------------------------
# SMTP on deployed targets: SES's SMTP interface (EMAIL_HOST=email-smtp.<region>.amazonaws.com,
# SMTP credentials in EMAIL_HOST_USER/EMAIL_HOST_PASSWORD); the console locally.
EMAIL_BACKEND = env.get("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env.as_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.as_bool("EMAIL_USE_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env.get("DEFAULT_FROM_EMAIL", "Amphibian <no-reply@example.com>")
CONTACT_EMAIL_TO = env.as_list("CONTACT_EMAIL_TO", ["team@example.com"])
CONTACT_ATTACHMENT_MAX_BYTES = 1024 * 1024
CONTACT_ATTACHMENT_TYPES = ["image/png", "image/jpeg", "application/pdf", "text/plain"]
CONTACT_RATE_LIMIT = env.as_int("CONTACT_RATE_LIMIT", 5)  # messages per address per hour

# What a deployed target refuses to start without (see env.require).
DEPLOYED_REQUIRED_ENV = (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "DATABASE_URL",
    "AWS_REGION",
    "SESSIONS_TABLE",
    "TOKEN_DENYLIST_TABLE",
    "MEDIA_BUCKET",
    "COGNITO_USER_POOL_ID",
    "COGNITO_APP_CLIENT_ID",
)


# Private media in S3 (apps.core.storage reads the names above when first used).
# Seconds a signed media URL (a download, a thumbnail) lives: short, as it is a bearer link.
MEDIA_URL_EXPIRY = env.as_int("MEDIA_URL_EXPIRY", 60)
STORAGES = {
    "default": {"BACKEND": "apps.core.storage.MediaStorage"},
    # Hashed, compressed files served with far-future cache headers (collectstatic first).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
STATIC_URL = env.get("DJANGO_STATIC_URL", "/static/")
STATIC_ROOT = env.get("DJANGO_STATIC_ROOT", str(VAR_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
# Static files on S3 behind the CDN (apps.core.storage.StaticStorage, the lambda target's
# DJANGO_STATIC_STORAGE=s3): the CDN's domain, and where the manifest is kept locally (the
# lambda settings put it where the package build finds it).
STATIC_CDN_DOMAIN = env.get("STATIC_CDN_DOMAIN")
# "http:" only for the local stack standing in for the CDN (STATIC_CDN_DOMAIN=host:port/bucket).
STATIC_CDN_PROTOCOL = env.get("STATIC_CDN_PROTOCOL", "https:")
STATIC_MANIFEST_DIR = env.get("DJANGO_STATIC_MANIFEST_DIR", str(VAR_DIR / "static-manifest"))

# --- Sessions (DynamoDB) ---------------------------------------------------------------
# One item per session in SESSIONS_TABLE (the store defines the table: apps.sessions.backends).
SESSION_ENGINE = "apps.sessions.backends.dynamodb"
# Strongly consistent reads see a write made a moment ago by any instance; eventually
# consistent ones cost half but may miss a login or logout for about a second.
SESSION_DYNAMODB_CONSISTENT_READ = env.as_bool("SESSION_DYNAMODB_CONSISTENT_READ", True)
# Key items by SHA-256(session key), so reading the table gives no usable cookie.
# Changing it ends every session.
SESSION_DYNAMODB_HASH_KEYS = env.as_bool("SESSION_DYNAMODB_HASH_KEYS", False)
# With SESSION_SAVE_EVERY_REQUEST, rewrite an unmodified session only when less than this
# fraction of its age remains: one write per half age at 0.5, every request at 1.
SESSION_DYNAMODB_REFRESH_FRACTION = env.as_float("SESSION_DYNAMODB_REFRESH_FRACTION", 0.5)

# --- Files (S3 media) -------------------------------------------------------------------
FILES_MAX_BYTES = env.as_int("FILES_MAX_BYTES", 100 * 1024 * 1024)
FILES_ALLOWED_TYPES = env.as_list(
    "FILES_ALLOWED_TYPES",
    ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"],
)
# Seconds a presigned POST policy can be used: the browser posts right after asking for it,
# and S3 checks the expiration when the POST starts, not when its body ends, so even a slow
# 100 MB upload fits. Short, because the policy lets its holder post again until it expires.
FILES_UPLOAD_URL_EXPIRY = env.as_int("FILES_UPLOAD_URL_EXPIRY", 120)
# The no-JavaScript form streams through the app; keep it small.
FILES_FALLBACK_MAX_BYTES = env.as_int("FILES_FALLBACK_MAX_BYTES", 10 * 1024 * 1024)
FILES_MAX_PIXELS = env.as_int("FILES_MAX_PIXELS", 40_000_000)  # decompression-bomb guard
FILES_THUMBNAIL_SIZE = 256
FILES_THUMBNAIL_MAX_BYTES = env.as_int("FILES_THUMBNAIL_MAX_BYTES", 25 * 1024 * 1024)
FILES_PENDING_MAX_AGE = env.as_int("FILES_PENDING_MAX_AGE", 86400)
# Per user, pending uploads included (they count until completed or purged).
FILES_QUOTA_FILES = env.as_int("FILES_QUOTA_FILES", 1000)
FILES_QUOTA_BYTES = env.as_int("FILES_QUOTA_BYTES", 1024 * 1024 * 1024)

# --- Background work (django-tasks) ---------------------------------------------------
# Inline by default; the server target uses the database queue, the lambda target
# asynchronous self-invocation (deploy/lambda/tasks.py).
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# The function to invoke for tasks on Lambda (the runtime sets AWS_LAMBDA_FUNCTION_NAME).
TASKS_LAMBDA_FUNCTION = env.get("TASKS_LAMBDA_FUNCTION") or env.get("AWS_LAMBDA_FUNCTION_NAME")
# The alias tasks invoke (the stages set "live", which SnapStart's snapshots serve); unset,
# $LATEST (a function deployed without versions).
TASKS_LAMBDA_QUALIFIER = env.get("TASKS_LAMBDA_QUALIFIER")
TASKS_LAMBDA_MAX_PAYLOAD = env.as_int("TASKS_LAMBDA_MAX_PAYLOAD", 256 * 1024)
# Where work that failed for good is kept, for `manage.py failedtasks` (apps.tasks.failures):
# the database queue's failed rows here; the lambda target reads its on-failure queue.
TASKS_FAILURES = "apps.tasks.failures.DatabaseFailures"
# The SQS queue Lambda's on-failure destination writes to (the stack's FailedInvocationsQueueUrl).
TASKS_FAILED_QUEUE_URL = env.get("TASKS_FAILED_QUEUE_URL")

# Scheduled jobs; see apps.tasks.schedules. After a change run
# `python manage.py schedules --write` (Zappa events and systemd timers follow).
# The targets that schedule jobs, each from deploy/<target>/ (a new target adds its name here).
SCHEDULE_TARGETS = ["server", "lambda"]
SCHEDULES: dict[str, dict[str, Any]] = {
    "purge-idempotency-keys": {
        "schedule": "cron(17 3 * * ? *)",
        "callable": "apps.tasks.idempotency.purge_expired_keys",
        "description": "Forget task idempotency keys older than 30 days",
    },
    "purge-abandoned-uploads": {
        "schedule": "rate(1 hour)",
        "callable": "apps.files.services.purge_abandoned_uploads",
        "description": "Remove uploads left pending for more than a day",
    },
    "prune-task-results": {
        "schedule": "rate(1 day)",
        # Failed ones stay a month: `manage.py failedtasks` lists and redrives them.
        "command": "prune_db_task_results --min-age-days 7 --failed-min-age-days 30",
        "description": "Delete database-queue task results older than a week (failed: a month)",
        "targets": ["server"],  # only the server target queues tasks in the database
    },
}

# --- Health ----------------------------------------------------------------------------
# /readyz runs these (dotted paths to callables returning None or raising).
READINESS_CHECKS = {
    "database": "apps.core.health.check_database",
    "sessions_table": "apps.core.health.check_sessions_table",
    "media_bucket": "apps.core.health.check_media_bucket",
}
READINESS_TIMEOUT = env.as_float("READINESS_TIMEOUT", 1.0)
# One round of checks per this many seconds per process, however often /readyz is hit.
READINESS_CACHE_SECONDS = env.as_float("READINESS_CACHE_SECONDS", 5.0)
# Probers that see which check failed: loopback and private ranges (load balancers, ECS,
# Kubernetes). Everyone else gets only the status.
READINESS_DETAIL_NETWORKS = env.as_list(
    "READINESS_DETAIL_NETWORKS",
    ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
)

# --- Security (production defaults; local and test relax them) -------------------------
SECURE_SSL_REDIRECT = env.as_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Load balancers probe these over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Only behind a proxy that sets the header itself (nginx, ALB); never trust it from clients.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.as_bool("DJANGO_TRUST_X_FORWARDED_PROTO", False)
    else None
)
SECURE_HSTS_SECONDS = env.as_int("DJANGO_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.as_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env.as_bool("DJANGO_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = True
# The visitor's language choice: not read by JavaScript, sent only over https.
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
# A visitor's choice of language outlives the browser session (Django's default does not).
LANGUAGE_COOKIE_AGE = 365 * 86400
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy and Permissions-Policy ------------------------------------
# What every target shares. apps.core.csp.SecurityPolicyMiddleware adds, per response, what
# the target's settings say: the static files' CDN, the media bucket's S3 endpoint
# (uploads, thumbnails), the hosted UI (the sign-out redirect), the report endpoint.
# No page has inline script or style; one that needs it uses nonce="{{ CSP_NONCE }}".
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
    },
}
# A report (or a Reporting API batch) larger than this is refused with 413, unread.
CSP_REPORT_MAX_BYTES = 16 * 1024
# Browser features no page uses, refused to the pages and anything they embed.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "accelerometer": [],
    "camera": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "payment": [],
    "usb": [],
    "browsing-topics": [],  # interest-cohort's successor (FLoC is gone)
}

# --- Logging ---------------------------------------------------------------------------
LOG_LEVEL = env.get("DJANGO_LOG_LEVEL", "INFO")
LOGGING = logging_config(env.get("DJANGO_LOG_FORMAT", "json"), LOG_LEVEL)

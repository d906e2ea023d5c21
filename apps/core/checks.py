"""Deploy checks (``manage.py check --deploy``) for what a deployed target must configure."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.http.request import validate_host


@register(Tags.security, deploy=True)
def check_canonical_host(app_configs, **kwargs):
    """A deployed target names its one host: redirects then never build a URL from the
    request's Host header, whatever a client or a misconfigured proxy sends."""
    host = settings.CANONICAL_HOST
    if not host:
        return [
            Error(
                "CANONICAL_HOST is not set.",
                hint="Set it to the site's public host name (the custom domain, e.g. "
                "app.example.com); every redirect then names that host.",
                id="core.E001",
            )
        ]
    domain = host.split(":")[0].lower().rstrip(".")
    if not validate_host(domain, settings.ALLOWED_HOSTS):
        return [
            Error(
                f"CANONICAL_HOST {host!r} is not allowed by ALLOWED_HOSTS.",
                hint="Add it to DJANGO_ALLOWED_HOSTS.",
                id="core.E002",
            )
        ]
    return []


# Caches whose counts live in one process (or one machine's disk): a limit counted there
# multiplies by the number of Lambda instances or gunicorn workers.
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)


@register(Tags.security)
def check_rate_limit_backend(app_configs, **kwargs):
    """The rate-limit backend exists and, for DynamoDB, has its table."""
    backend = settings.RATE_LIMIT_BACKEND
    if backend not in ("cache", "dynamodb"):
        return [
            Error(
                f"RATE_LIMIT_BACKEND is {backend!r}.",
                hint='Use "dynamodb" (RATE_LIMITS_TABLE) or "cache".',
                id="core.E003",
            )
        ]
    if backend == "dynamodb" and not settings.RATE_LIMITS_TABLE:
        return [
            Error(
                "RATE_LIMIT_BACKEND is dynamodb but RATE_LIMITS_TABLE is not set.",
                hint="Set RATE_LIMITS_TABLE to the stack's rate-limits table.",
                id="core.E004",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_rate_limits_are_shared(app_configs, **kwargs):
    """A deployed target counts its limits where every instance sees the same count."""
    cache_backend = settings.CACHES["default"]["BACKEND"]
    if settings.RATE_LIMIT_BACKEND == "cache" and cache_backend in PER_PROCESS_CACHES:
        return [
            Error(
                f"Rate limits count in {cache_backend.rsplit('.', 1)[-1]}, per process: "
                "each Lambda instance or worker would allow the whole limit again.",
                hint="Set RATE_LIMITS_TABLE (the stack's table), or REDIS_URL with "
                "RATE_LIMIT_BACKEND=cache.",
                id="core.E005",
            )
        ]
    return []

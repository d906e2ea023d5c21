"""The LOGGING dict, shared by every target: JSON lines or a human-readable console."""


def logging_config(fmt="json", level="INFO"):
    if fmt not in ("json", "console"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT={fmt!r}; use json or console.")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "apps.core.logs.RequestIDFilter"},
        },
        "formatters": {
            "json": {"()": "apps.core.logs.JSONFormatter"},
            "console": {"()": "apps.core.logs.ConsoleFormatter"},
        },
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "filters": ["request_id"],
                "formatter": fmt,
            },
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            # Our access log replaces these per-request lines; errors still propagate.
            "django.server": {"level": "WARNING"},
            "django.request": {"level": "ERROR"},
            # botocore logs every retry at DEBUG/INFO; keep warnings only.
            "botocore": {"level": "WARNING"},
            "boto3": {"level": "WARNING"},
        },
    }

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
            "runserver_request_lines": {"()": "apps.core.logs.RunserverRequestLineFilter"},
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
            # Django configures its DEFAULT_LOGGING before this dict, which only adds to it:
            # named here, its loggers lose their handlers (a console one that printed every
            # django.* line a second time with DEBUG on, the admins' e-mail) and django.server
            # propagates again, so each line reaches the stdout handler once, formatted.
            "django": {"handlers": [], "level": "NOTSET", "propagate": True},
            # Our access log replaces runserver's per-request lines; its errors still show.
            "django.server": {
                "handlers": [],
                "level": "WARNING",
                "propagate": True,
                "filters": ["runserver_request_lines"],
            },
            "django.request": {"level": "ERROR"},
            # botocore logs every retry at DEBUG/INFO; keep warnings only.
            "botocore": {"level": "WARNING"},
            "boto3": {"level": "WARNING"},
        },
    }

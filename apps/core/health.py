"""Readiness checks: can this instance serve real requests right now?

Each check raises when its dependency is unreachable. They run with short timeouts and
a single attempt, so a load balancer gets an answer well inside its own timeout.
"""

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

from apps.core import aws

logger = logging.getLogger(__name__)


def _fast_client(service):
    timeout = settings.READINESS_TIMEOUT
    return aws.client(service, connect_timeout=timeout, read_timeout=timeout, max_attempts=1)


def check_database():
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")


def check_sessions_table():
    _fast_client("dynamodb").describe_table(TableName=settings.SESSIONS_TABLE)


def check_media_bucket():
    _fast_client("s3").head_bucket(Bucket=settings.MEDIA_BUCKET)


def _run(name, dotted_path):
    try:
        import_string(dotted_path)()
    except Exception as exc:
        logger.warning("readiness check %s failed: %r", name, exc)
        return name, f"down: {type(exc).__name__}"
    finally:
        # Runs in a worker thread: close the connections this thread opened.
        connections.close_all()
    return name, "ok"


def readiness():
    """Run every check in ``READINESS_CHECKS`` concurrently; returns ``(ready, results)``."""
    checks = settings.READINESS_CHECKS
    with ThreadPoolExecutor(max_workers=max(len(checks), 1)) as pool:
        results = dict(pool.map(lambda item: _run(*item), checks.items()))
    return all(value == "ok" for value in results.values()), results

"""Readiness checks: can this instance serve real requests right now?

Each check raises when its dependency is unreachable. They run with short timeouts and
a single attempt, so a load balancer gets an answer well inside its own timeout.
"""

import ipaddress
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

from apps.core import aws
from apps.core.addresses import client_address

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


_last: dict[str, Any] = {"at": 0.0, "result": None}
_last_lock = threading.Lock()


def forget():
    """Drop the cached readiness result: after a SnapStart restore it describes the snapshot's
    moment, and its monotonic timestamp means nothing."""
    with _last_lock:
        _last.update(at=0.0, result=None)


def readiness():
    """``(ready, results)`` of every check in ``READINESS_CHECKS``.

    /readyz is public: a result is reused for READINESS_CACHE_SECONDS in this process, so
    any rate of probes costs one round of backend calls (one billed S3 HeadBucket) per
    interval. Probes that arrive during a round wait for it rather than start their own.
    """
    with _last_lock:
        fresh = time.monotonic() - _last["at"] < settings.READINESS_CACHE_SECONDS
        if _last["result"] is None or not fresh:
            _last["result"] = _run_all()
            _last["at"] = time.monotonic()
        return _last["result"]


def shows_details(request):
    """True if the prober is a health-check source (READINESS_DETAIL_NETWORKS: loopback and
    private ranges, where load balancers and orchestrators probe from): others learn only
    ready or not, not which backends this instance has or which are down."""
    address = client_address(request)
    if address is None:
        return False
    found = ipaddress.ip_address(address)
    return any(found in ipaddress.ip_network(net) for net in settings.READINESS_DETAIL_NETWORKS)


def _run_all():
    checks = settings.READINESS_CHECKS
    with ThreadPoolExecutor(max_workers=max(len(checks), 1)) as pool:
        results = dict(pool.map(lambda item: _run(*item), checks.items()))
    return all(value == "ok" for value in results.values()), results

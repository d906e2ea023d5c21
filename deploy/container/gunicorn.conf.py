"""gunicorn settings for the server target (containers and EC2): ``gunicorn -c <this file>``.

Every value can be overridden from the environment, so one file serves a laptop, a container
with a CPU quota and an EC2 instance behind nginx.
"""

import json
import math
import os
import time
from pathlib import Path

from gunicorn.glogging import Logger


def _cpus():
    """CPUs this process may really use: its affinity, capped by a cgroup v2 CPU quota.

    ``os.cpu_count()`` reports the host's CPUs inside a container limited to one or two.
    """
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def _env_int(name, default):
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


wsgi_app = "project.wsgi:application"
# systemd socket activation passes the socket (LISTEN_FDS) and gunicorn ignores bind.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",")
# Sync workers spend most of a request waiting on DynamoDB/S3/PostgreSQL, so gunicorn's
# usual 2 x CPUs + 1 keeps the CPUs busy without a process per connection.
workers = _env_int("GUNICORN_WORKERS", 2 * _cpus() + 1)
# More than one thread switches to the gthread worker (more concurrency per process).
threads = _env_int("GUNICORN_THREADS", 1)
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM (deploys, container stop), finish in-flight requests first.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = _env_int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (slow leaks), jittered so they do not restart together.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# The heartbeat file is touched constantly: on a disk (or overlayfs) that can block workers.
SHARED_MEMORY = "/dev/shm"  # noqa: S108 - tmpfs for the heartbeat, not a temp file path
worker_tmp_dir = SHARED_MEMORY if os.path.isdir(SHARED_MEMORY) else None
# Only the proxy in front may set X-Forwarded-*; "*" only where nothing else can reach us.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Loading the app once in the master shares its memory and fails fast on bad settings.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() == "true"
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")


class JSONAccessLogger(Logger):
    """One JSON line per request on stdout, joinable with Django's logs by ``request_id``."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        headers = {name.lower(): value for name, value in req.headers}
        response_headers = {name.lower(): value for name, value in resp.headers}
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "logger": "gunicorn.access",
            "remote_addr": environ.get("REMOTE_ADDR"),
            "forwarded_for": headers.get("x-forwarded-for"),
            "forwarded_proto": headers.get("x-forwarded-proto"),
            "host": headers.get("host"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": int(status),
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "user_agent": headers.get("user-agent"),
            "request_id": response_headers.get("x-request-id"),
        }
        self.access_log.info(json.dumps(line))


logger_class = JSONAccessLogger

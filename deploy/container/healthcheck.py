"""The image's HEALTHCHECK: GET /healthz on the local gunicorn, exit 0 only on 200.

It sends the first allowed host as ``Host``: Django answers 400 to a host it does not
serve, so a bare ``curl 127.0.0.1`` would report a healthy container as broken.
"""

import os
import sys
import urllib.request

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").split(",")[0]
port = bind.rsplit(":", 1)[1] if ":" in bind else "8000"
host = os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
request = urllib.request.Request(
    f"http://127.0.0.1:{port}/healthz",
    headers={"Host": host if host and host != "*" else "localhost"},
)
try:
    with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310 - fixed URL
        sys.exit(0 if response.status == 200 else 1)
except OSError as exc:
    sys.exit(f"unhealthy: {exc}")

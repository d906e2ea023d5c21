"""wrk against the server target's gunicorn, next to a bare-Django baseline in the same run.

    .venv/bin/python bench/server_load.py     # writes bench/results/server_load.json

Both run under deploy/container/gunicorn.conf.py with the same workers on 127.0.0.1: the
app with the server settings (every middleware: security, whitenoise, request id + JSON log,
sessions, CSRF, Cognito), and a one-view Django with no middleware at all. Paths are ones
that need no database or AWS call (/healthz, the home page), so the gap is the project's own
per-request cost. Bounded: a few seconds per run; any socket error or non-2xx fails the run.
"""

import argparse
import datetime
import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.machine import describe  # noqa: E402
from deploy.tools.harness.loopback import free_port  # noqa: E402
from deploy.tools.harness.processes import DEPLOYED_ENV, subprocess_env  # noqa: E402
from deploy.tools.harness.server import GUNICORN_CONF, wait_for_health  # noqa: E402

APP_ENV = {
    **DEPLOYED_ENV,
    "DJANGO_DEPLOY_TARGET": "server",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1,app.example.com",
    "CANONICAL_HOST": "",  # redirects stay on the loopback host asked for
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    # Never connected to on these paths; the settings only insist that it is set.
    "DATABASE_URL": "postgres://bench@127.0.0.1:9/bench",
    "DJANGO_LOG_LEVEL": "WARNING",  # logging every request would measure the pipe
}

# The baseline: Django with one view, no apps, no middleware.
BARE = """
from django.conf import settings
from django.http import HttpResponse
from django.urls import path

settings.configure(
    SECRET_KEY="bench",
    ALLOWED_HOSTS=["127.0.0.1", "app.example.com"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
)
urlpatterns = [path("healthz", lambda request: HttpResponse('{"status": "ok"}'))]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
"""


def gunicorn(app, env, workers, log):
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - a fixed argv, nothing from outside
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), app],
        cwd=ROOT,
        env=subprocess_env(
            **env,
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS=str(workers),
            GUNICORN_LOG_LEVEL="warning",
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_health("127.0.0.1", port, 60, process)
    return process, port


def wrk(port, path, seconds, connections):
    command = [
        shutil.which("wrk"),
        *("-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"),
        f"http://127.0.0.1:{port}{path}",
    ]
    output = subprocess.run(  # noqa: S603 - a fixed argv, nothing from outside
        command, capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    errors = re.search(r"Socket errors: (.*)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors or non_2xx:
        raise SystemExit(f"wrk saw errors on {path}:\n{output}")

    def ms(label):
        value, unit = re.search(rf"\s{label}\s+([\d.]+)(us|ms|s)\b", output).groups()
        return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)

    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "latency_p50_ms": ms("50%"),
        "latency_p99_ms": ms("99%"),
        "errors": 0,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--output", default=str(ROOT / "bench/results/server_load.json"))
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: make server-deps (apt-get install wrk)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "bare_django.py").write_text(BARE)
        env = {**APP_ENV, "DJANGO_STATIC_ROOT": str(tmp / "static")}
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            env=subprocess_env(**env),
            check=True,
            timeout=120,
        )
        results = {}
        with open(tmp / "gunicorn.log", "w") as log:
            targets = [
                ("bare django /healthz", "bare_django:application", {"PYTHONPATH": str(tmp)}),
                ("amphibian /healthz", "project.wsgi:application", env),
                ("amphibian home page /en/", "project.wsgi:application", env),
            ]
            for name, app, app_env in targets:
                extra = {"PYTHONPATH": f"{tmp}:{ROOT}"} if "PYTHONPATH" in app_env else {}
                process, port = gunicorn(app, {**app_env, **extra}, args.workers, log)
                try:
                    path = name.rsplit(" ", 1)[1]
                    wrk(port, path, 1, args.connections)  # warm-up, not recorded
                    results[name] = wrk(port, path, args.seconds, args.connections)
                finally:
                    process.terminate()
                    process.wait(timeout=30)

    bare = results["bare django /healthz"]["requests_per_second"]
    result = {
        "benchmark": "wrk against gunicorn (server target) vs bare Django, loopback",
        "command": shlex.join(["python", "bench/server_load.py", *sys.argv[1:]]),
        "date": datetime.date.today().isoformat(),
        "machine": describe(["django", "gunicorn", "whitenoise"]),
        "wrk": {"threads": 2, "connections": args.connections, "seconds": args.seconds},
        "gunicorn_workers": args.workers,
        "results": results,
        "amphibian_healthz_share_of_bare": round(
            results["amphibian /healthz"]["requests_per_second"] / bare, 2
        ),
    }
    record.write(args.output, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

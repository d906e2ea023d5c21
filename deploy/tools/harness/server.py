"""The server target as it runs deployed: migrated, static files collected, and gunicorn with
``deploy/container/gunicorn.conf.py`` on a free loopback port."""

import json
import subprocess
import sys
import time

from deploy.tools.harness.browser import HOST, Browser
from deploy.tools.harness.localstack import stack_env
from deploy.tools.harness.loopback import free_port
from deploy.tools.harness.processes import ROOT, run_manage, stop_process, subprocess_env

GUNICORN_CONF = ROOT / "deploy" / "container" / "gunicorn.conf.py"


def server_env(stack, database_url, **extra):
    """The server target's environment against a local AWS stack (see ``stack_env``)."""
    return {
        "DJANGO_DEPLOY_TARGET": "server",
        "DJANGO_SECRET_KEY": "server-target-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_TRUST_X_FORWARDED_PROTO": "true",
        "DATABASE_URL": database_url,
        **stack_env(stack),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def prepare(env, static_root):
    """What a release does before starting: migrate, collect static files."""
    env = {**env, "DJANGO_STATIC_ROOT": str(static_root)}
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        run_manage([*command, "-v0"], subprocess_env(**env))
    return env


class Gunicorn:
    """gunicorn with the project's config file on a free loopback port; output to a file."""

    def __init__(self, env, log_path, workers=2, port=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = subprocess_env(
            **env, GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS=str(workers)
        )
        self.process = None

    def start(self, timeout=60):
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and config
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_health("127.0.0.1", self.port, timeout, self.process, self.log_path)
        return self

    def stop(self):
        if self.process:
            stop_process(self.process)
        self.log.close()

    def access_line(self, request_id, timeout=10):
        """The access line of ``request_id``: gunicorn writes it after the response, so a
        client can read the response before the line is in the file."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.access_log():
                if line.get("request_id") == request_id:
                    return line
            if time.monotonic() > deadline:
                raise AssertionError(f"no access line for request {request_id}")
            time.sleep(0.05)

    def access_log(self):
        """gunicorn's JSON access lines so far."""
        lines = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{") and '"gunicorn.access"' in line:
                lines.append(json.loads(line))
        return lines


def wait_for_health(host, port, timeout, process=None, log_path=None):
    """Until ``/healthz`` answers 200; RuntimeError if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = log_path.read_text() if log_path else ""
            raise RuntimeError(f"server exited early ({process.returncode}):\n{output}")
        try:
            status = Browser(f"http://{host}:{port}").get("/healthz").status
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no 200 from http://{host}:{port}/healthz in {timeout}s")

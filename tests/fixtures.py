"""Suite-wide fixtures (loaded with ``-p tests.fixtures``): real local parts, no mocks.

A test whose real part is missing skips with a reason saying how to get it; under CI
(``CI=true``) the same absence fails, so nothing silently stops being tested.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.test import override_settings

from deploy.tools.localaws.provision import provision_local_stack
from deploy.tools.localaws.server import LocalAWS

ROOT = Path(__file__).resolve().parent.parent
# What a deployed target (server, lambda) needs to start, with values that reach nothing:
# for check --deploy, cold-process probes, the built package and the benchmarks.
DEPLOYED_ENV = {
    "DJANGO_SECRET_KEY": "x7#Kq9!vB2$mN4@pL6^rT8&wY1*zC3(dF5)gH0_jJ-aS=eU+iO",
    "DJANGO_ALLOWED_HOSTS": "app.example.com",
    "DATABASE_URL": "postgres://amphibian@127.0.0.1:5432/amphibian",
    "AWS_REGION": "eu-west-1",
    "SESSIONS_TABLE": "amphibian-prod-sessions",
    "TOKEN_DENYLIST_TABLE": "amphibian-prod-denylist",
    "MEDIA_BUCKET": "amphibian-prod-media",
    "COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
    "COGNITO_APP_CLIENT_ID": "1example23456789",
}
# The developer tools (runlambda, invokelambda) are installed by the local and test settings
# only: their own process runs under the test settings, whatever target the environment names
# for the function they start (the function is not given DJANGO_SETTINGS_MODULE).
TOOL_SETTINGS = {"DJANGO_SETTINGS_MODULE": "project.settings.test"}
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def require(available, what, how):
    """Skip (on a developer's machine) or fail (under CI) when a real part is absent."""
    if available:
        return
    message = f"{what} is not available: {how}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: missing parts fail instead of skipping)")
    pytest.skip(message)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listening(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def local_aws():
    """moto's server on a free loopback port, provisioned like the local target.

    Settings point the AWS client factory at it for the whole session.
    """
    stack = LocalAWS().start()
    outputs = provision_local_stack(stack.url, ["http://testserver"])
    overrides = override_settings(
        AWS_ENDPOINT_URL=stack.url,
        AWS_ENDPOINT_URLS={},
        COGNITO_USER_POOL_ID=outputs["COGNITO_USER_POOL_ID"],
        COGNITO_APP_CLIENT_ID=outputs["COGNITO_APP_CLIENT_ID"],
    )
    overrides.enable()
    stack.outputs = outputs
    yield stack
    overrides.disable()
    stack.stop()


def subprocess_env(**extra):
    """A clean environment for a child Django process: only what a shell would have."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run_python(code, env, *, args=(), timeout=60):
    """Run ``code`` in a fresh interpreter (a cold process: imports, settings, sys.modules)."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_manage(args, env, timeout=180):
    """``python manage.py ARGS`` in a child process with ``env`` (see subprocess_env)."""
    subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=timeout
    )


def stop_process(process, timeout=30):
    """SIGTERM, then SIGKILL if it does not exit within ``timeout`` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class PostgresDatabase:
    """A fresh PostgreSQL database, dropped (even with connections open) on ``drop()``."""

    def __init__(self, postgres_url, prefix="amphibian_test"):
        import psycopg

        self.psycopg = psycopg
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.admin_url = postgres_url.rsplit("/", 1)[0] + "/postgres"
        self.url = postgres_url.rsplit("/", 1)[0] + f"/{self.name}"
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self):
        with self.psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def stack_env(stack):
    """A local stack's endpoint, resource names and Cognito ids, as the settings read them."""
    from django.conf import settings

    pool_id = stack.outputs["COGNITO_USER_POOL_ID"]
    return {
        "AWS_REGION": settings.AWS_REGION,
        "AWS_ENDPOINT_URL": stack.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "SESSIONS_TABLE": settings.SESSIONS_TABLE,
        "TOKEN_DENYLIST_TABLE": settings.TOKEN_DENYLIST_TABLE,
        "MEDIA_BUCKET": settings.MEDIA_BUCKET,
        "STATIC_BUCKET": settings.STATIC_BUCKET,
        "COGNITO_USER_POOL_ID": pool_id,
        "COGNITO_APP_CLIENT_ID": ",".join(stack.outputs["COGNITO_APP_CLIENT_ID"]),
        "COGNITO_JWKS_URL": f"{stack.url}/{pool_id}/.well-known/jwks.json",
    }


class LocalAWSProcess:
    """``manage.py localaws`` as a real child process, as ``make run`` starts it."""

    def __init__(self, state_dir, port=None, origins=()):
        self.state_dir = Path(state_dir)
        self.port = port or free_port()
        self.origins = origins  # browser origins the media bucket's CORS allows
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.output = ""

    def start(self, timeout=60):
        self.process = subprocess.Popen(
            [
                sys.executable,
                *("manage.py", "localaws"),
                *("--port", str(self.port)),
                *("--state-dir", str(self.state_dir)),
                *(arg for origin in self.origins for arg in ("--origin", origin)),
            ],
            cwd=ROOT,
            env=subprocess_env(DJANGO_DEPLOY_TARGET="test"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        outputs = self.state_dir / "outputs.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"localaws exited early:\n{self.process.stdout.read()}")
            if outputs.exists() and listening("127.0.0.1", self.port):
                return self
            time.sleep(0.1)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"localaws was not ready in {timeout}s:\n{self.output}")

    def stop(self, signum=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.output, _ = self.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.output, _ = self.process.communicate()
        return self.process.returncode if self.process else None


@pytest.fixture
def localaws_process(tmp_path):
    """Start ``manage.py localaws`` processes on state under ``tmp_path``; all stopped after."""
    started = []

    def start(state_dir=None, port=None):
        process = LocalAWSProcess(state_dir or tmp_path / "localaws", port=port).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def postgres_url():
    """The machine's PostgreSQL (127.0.0.1:5432, trust auth) for server/lambda settings."""
    require(
        listening("127.0.0.1", 5432),
        "PostgreSQL on 127.0.0.1:5432",
        "install and start it (Debian: apt-get install postgresql) or set TEST_POSTGRES_URL",
    )
    return POSTGRES_URL


@pytest.fixture(scope="session")
def podman(tmp_path_factory):
    """The podman CLI (tests/container_target.py); skips, or fails under CI, without it."""
    from tests.container_target import Podman

    return Podman(tmp_path_factory.mktemp("podman"))


@pytest.fixture(scope="session")
def container_image(podman, tmp_path_factory):
    """deploy/container's image, built once per session."""
    return podman.build_image(tmp_path_factory.mktemp("rootfs"))

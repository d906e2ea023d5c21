"""Child processes of this tree: clean environments, a cold ``python -c``, ``manage.py``, stop."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# What a deployed target (server, lambda) needs to start, with values that reach nothing:
# for check --deploy, cold-process probes, the built package and the benchmarks.
DEPLOYED_ENV = {
    "DJANGO_SECRET_KEY": "x7#Kq9!vB2$mN4@pL6^rT8&wY1*zC3(dF5)gH0_jJ-aS=eU+iO",
    "DJANGO_ALLOWED_HOSTS": "app.example.com",
    "CANONICAL_HOST": "app.example.com",
    "DATABASE_URL": "postgres://amphibian@127.0.0.1:5432/amphibian",
    "AWS_REGION": "eu-west-1",
    "SESSIONS_TABLE": "amphibian-prod-sessions",
    "TOKEN_DENYLIST_TABLE": "amphibian-prod-denylist",
    "RATE_LIMITS_TABLE": "amphibian-prod-ratelimits",
    "MEDIA_BUCKET": "amphibian-prod-media",
    "COGNITO_USER_POOL_ID": "eu-west-1_AbCdEf123",
    "COGNITO_APP_CLIENT_ID": "1example23456789",
}
# The developer tools (runlambda, invokelambda) are installed by the local and test settings
# only: their own process runs under the test settings, whatever target the environment names
# for the function they start (the function is not given DJANGO_SETTINGS_MODULE).
TOOL_SETTINGS = {"DJANGO_SETTINGS_MODULE": "project.settings.test"}


def subprocess_env(**extra):
    """A clean environment for a child Django process: only what a shell would have."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    env.update(PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run_python(code, env, *, args=(), timeout=60):
    """Run ``code`` in a fresh interpreter (a cold process: imports, settings, sys.modules)."""
    return subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_manage(args, env, timeout=180):
    """``python manage.py ARGS`` in a child process with ``env`` (see subprocess_env)."""
    subprocess.run(  # noqa: S603 - our own interpreter and manage.py
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

"""The local Lambda end to end: ``manage.py runlambda`` and ``invokelambda`` as real processes.

The function runs the lambda target (tests/support/lambda_settings.py adds the test views) on a
SQLite file, against the local AWS stack, under the real runtime interface client.
"""

import json
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from deploy.tools.harness.loopback import free_port, listening
from deploy.tools.harness.processes import (
    DEPLOYED_ENV,
    ROOT,
    TOOL_SETTINGS,
    run_manage,
    stop_process,
    subprocess_env,
)
from deploy.tools.locallambda import codedir, environment
from project.settings import test as test_settings

MB = 1024 * 1024


# The tests set every variable of the function themselves (function_env).
SHELL_ONLY = ("--environment", "shell")


def function_env(local_aws, database):
    return subprocess_env(
        DJANGO_DEPLOY_TARGET="lambda",
        **{
            **DEPLOYED_ENV,
            "DATABASE_URL": f"sqlite:///{database}",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "CANONICAL_HOST": "",  # redirects stay on the loopback host asked for
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": local_aws.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "SESSIONS_TABLE": test_settings.SESSIONS_TABLE,
            "TOKEN_DENYLIST_TABLE": test_settings.TOKEN_DENYLIST_TABLE,
            "MEDIA_BUCKET": test_settings.MEDIA_BUCKET,
            "COGNITO_USER_POOL_ID": local_aws.outputs["COGNITO_USER_POOL_ID"],
            "COGNITO_APP_CLIENT_ID": ",".join(local_aws.outputs["COGNITO_APP_CLIENT_ID"]),
        },
    )


@pytest.fixture(scope="module")
def lambda_env(local_aws, tmp_path_factory):
    database = tmp_path_factory.mktemp("lambda-db") / "db.sqlite3"
    env = function_env(local_aws, database)
    run_manage(["migrate", "--noinput", "-v0"], env)
    env["TEST_DATABASE"] = str(database)
    return env


class LocalLambda:
    """``manage.py runlambda`` on a free port; its output collected line by line."""

    def __init__(self, env, *options):
        self.port = free_port()
        self.lines = []
        self.process = subprocess.Popen(
            [
                *(sys.executable, "manage.py", "runlambda", "--source", *SHELL_ONLY),
                *("--port", str(self.port)),
                *("--env", "DJANGO_SETTINGS_MODULE=tests.support.lambda_settings"),
                *options,
            ],
            cwd=ROOT,
            env={**env, **TOOL_SETTINGS},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()
        deadline = time.monotonic() + 60
        while not listening("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("runlambda did not start:\n" + "\n".join(self.lines))
            time.sleep(0.1)
        self.url = f"http://127.0.0.1:{self.port}"

    def _collect(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self):
        stop_process(self.process)

    def line(self, pattern, timeout=10):
        """The first output line matching ``pattern``, waiting for it a bounded time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if re.search(pattern, line):
                    return line
            time.sleep(0.05)
        raise AssertionError(f"no line matches {pattern!r}:\n" + "\n".join(self.lines[-40:]))

    def count(self, prefix):
        return sum(line.startswith(prefix) for line in list(self.lines))


def fetch(url, data=None, headers=None):
    """``(status, headers, body)`` without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args):
            return None

    request = urllib.request.Request(url, data=data, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def multipart(size):
    boundary = uuid.uuid4().hex
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=photo; "
        'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    body = head + b"\x07" * size + f"\r\n--{boundary}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture(scope="module")
def local_lambda(lambda_env):
    """REST v1 events, stage dev; 3 s integration timeout and 4 s function timeout.

    Short enough to test both, long enough for a cold start on a busy 2-core machine.
    """
    running = LocalLambda(
        lambda_env,
        *("--event", "v1", "--concurrency", "2"),
        *("--integration-timeout", "3", "--timeout", "4"),
    )
    # Two requests in a row: a cold start, then the same instance warm. The second waits
    # until the first instance is back in the pool (it is, just after its REPORT line);
    # sent earlier it would find none idle and start a second, cold, instance.
    cold = fetch(f"{running.url}/dev/healthz")[1]["X-Request-ID"]
    running.line(rf"^REPORT RequestId: {cold}\t")
    time.sleep(0.2)
    warm = fetch(f"{running.url}/dev/healthz")[1]["X-Request-ID"]
    running.first_two = [cold, warm]
    yield running
    running.stop()


def test_serves_the_home_page_and_healthz(local_lambda):
    status, headers, body = fetch(f"{local_lambda.url}/dev/")
    if status in (301, 302):  # to the visitor's language, within the stage
        target = urllib.parse.urljoin(f"{local_lambda.url}/dev/", headers["Location"])
        assert urllib.parse.urlsplit(target).path.startswith("/dev/")
        status, headers, body = fetch(target)
    assert status == 200, body[:2000]
    assert b"<html" in body.lower()
    status, headers, body = fetch(f"{local_lambda.url}/dev/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert local_lambda.line(rf"^REPORT RequestId: {headers['X-Request-ID']}\t")


def test_cold_then_warm_in_report_lines(local_lambda):
    cold, warm = local_lambda.first_two
    cold_report = local_lambda.line(rf"^REPORT RequestId: {cold}\t")
    warm_report = local_lambda.line(rf"^REPORT RequestId: {warm}\t")
    for report in (cold_report, warm_report):
        assert re.search(r"\tDuration: [\d.]+ ms\tBilled Duration: \d+ ms\t", report)
        assert re.search(r"\tMemory Size: 512 MB\tMax Memory Used: [1-9]\d* MB", report)
    assert re.search(r"\tInit Duration: [\d.]+ ms$", cold_report)
    assert "Init Duration" not in warm_report


def test_stage_prefix_is_required_and_kept(local_lambda):
    assert fetch(f"{local_lambda.url}/healthz")[0] == 403
    status, headers, _ = fetch(f"{local_lambda.url}/dev/lambda-test/redirect")
    assert (status, headers["Location"]) == (302, "/dev/lambda-test/echo")


def test_cookies_arrive_once_each(local_lambda):
    _, headers, _ = fetch(f"{local_lambda.url}/dev/lambda-test/cookies")
    cookies = headers.get_all("Set-Cookie")
    assert sorted(cookie.split("=")[0] for cookie in cookies) == ["first", "second"]


def test_code_is_read_only_and_only_tmp_is_writable(local_lambda):
    _, _, body = fetch(f"{local_lambda.url}/dev/lambda-test/filesystem")
    seen = json.loads(body)
    assert seen["task_root_writable"] is False
    assert seen["tmp_writable"] is True
    assert seen["tmpdir"] != "/tmp"  # each instance has its own


def test_upload_near_6_mb_passes_and_above_is_413_before_invoking(local_lambda):
    # Every REST body travels base64 (binary support), 4/3 of its size.
    body, headers = multipart(int(4.3 * MB))
    status, _, answer = fetch(f"{local_lambda.url}/dev/lambda-test/upload", body, headers)
    assert status == 200, answer[:2000]
    assert json.loads(answer)["files"]["photo"]["size"] == int(4.3 * MB)

    starts = local_lambda.count("START ")
    body, headers = multipart(int(4.8 * MB))
    status, _, answer = fetch(f"{local_lambda.url}/dev/lambda-test/upload", body, headers)
    assert (status, json.loads(answer)) == (413, {"message": "Request Entity Too Large"})
    assert local_lambda.count("START ") == starts


def test_integration_timeout_is_504_and_the_function_timeout_ends_the_instance(local_lambda):
    status, _, body = fetch(f"{local_lambda.url}/dev/lambda-test/sleep?seconds=5")
    assert (status, json.loads(body)) == (504, {"message": "Endpoint request timed out"})
    assert local_lambda.line(r"Task timed out after 4\.00 seconds", timeout=5)
    assert local_lambda.line(r"^REPORT .*\tStatus: timeout$", timeout=5)


# --- invokelambda ---------------------------------------------------------------------------


def invokelambda(env, *options):
    return subprocess.run(
        [sys.executable, "manage.py", "invokelambda", "--source", *SHELL_ONLY, *options],
        cwd=ROOT,
        env={**env, **TOOL_SETTINGS},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_invokelambda_runs_a_schedule_event(lambda_env):
    key = f"old:{uuid.uuid4().hex}"
    with sqlite3.connect(lambda_env["TEST_DATABASE"]) as db:
        db.execute(
            "INSERT INTO tasks_idempotencykey (key, created_at) VALUES (?, ?)",
            (key, "2000-01-01 00:00:00"),
        )
    result = invokelambda(lambda_env, "--schedule", "purge-idempotency-keys")
    assert result.returncode == 0, result.stderr + result.stdout
    assert re.search(r"^REPORT RequestId: .*\tInit Duration: ", result.stdout, re.MULTILINE)
    with sqlite3.connect(lambda_env["TEST_DATABASE"]) as db:
        left = db.execute("SELECT count(*) FROM tasks_idempotencykey WHERE key = ?", (key,))
        assert left.fetchone() == (0,)


def test_invokelambda_runs_a_task_payload(lambda_env):
    key = uuid.uuid4().hex
    result = invokelambda(
        lambda_env,
        *("--task", "apps.tasks.tests.sample_tasks.add_and_record"),
        *("--args", json.dumps([key, [4, 5]])),
    )
    assert result.returncode == 0, result.stderr + result.stdout
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert (outcome["status"], outcome["return_value"]) == ("SUCCESSFUL", 9)
    with sqlite3.connect(lambda_env["TEST_DATABASE"]) as db:
        found = db.execute(
            "SELECT count(*) FROM tasks_idempotencykey WHERE key = ?", (f"sample:{key}",)
        )
        assert found.fetchone() == (1,)


def test_the_environment_is_the_stages_then_the_shells_then_env_flags():
    stage = codedir.Stage(
        "dev", "amphibian-dev", 512, 30, "us-east-1", {"aws_environment_variables": {}}
    )
    stage.settings["aws_environment_variables"] = {
        "DJANGO_DEPLOY_TARGET": "lambda",
        "MEDIA_BUCKET": "deployed",
        "KEEP": "stage",
    }
    shell = {"MEDIA_BUCKET": "local", "DJANGO_SETTINGS_MODULE": "project.settings.test"}
    built = environment.build("stage", ["KEEP=flag"], stage=stage, shell=shell)
    assert built.variables == {
        "DJANGO_DEPLOY_TARGET": "lambda",
        "MEDIA_BUCKET": "local",
        "KEEP": "flag",
    }
    assert built.describe() == [
        "  DJANGO_DEPLOY_TARGET=lambda",
        "  KEEP=flag  (--env)",
        "  MEDIA_BUCKET=local  (from this shell)",
    ]
    assert environment.build("shell", [], stage=stage, shell=shell).variables == {
        "MEDIA_BUCKET": "local"
    }


def test_printed_environment_masks_secrets_and_passwords():
    built = environment.Environment()
    built.add("local", {"DJANGO_SECRET_KEY": "abc", "DATABASE_URL": "postgres://u:pw@h/db"})
    built.add("local", {"TOKEN_DENYLIST_TABLE": "t"})
    built.add("shell", {"HOME": "/root"})
    assert built.describe() == [
        "  DATABASE_URL=postgres://u:***@h/db",
        "  DJANGO_SECRET_KEY=(set, 3 characters)",
        "  TOKEN_DENYLIST_TABLE=t",
        "  ... and 1 variables of this shell, passed on",
    ]


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_each_stages_environment_boots_and_passes_check_deploy(stage, tmp_path):
    # Only what the stage leaves to secrets and stack outputs comes from here.
    secrets = {
        name: DEPLOYED_ENV[name]
        for name in ("DJANGO_SECRET_KEY", "COGNITO_USER_POOL_ID", "COGNITO_APP_CLIENT_ID")
    }
    env = subprocess_env(
        **secrets, AWS_REGION="us-east-1", DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}"
    )
    result = invokelambda(
        env,
        *("--stage", stage, "--environment", "stage"),
        *("--manage", "check --deploy --fail-level WARNING"),
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    assert "System check identified no issues" in result.stdout + result.stderr


def test_static_files_come_the_way_the_package_ships_them(tmp_path, settings):
    stage = codedir.Stage("dev", "amphibian-dev", 512, 30, "us-east-1", {})
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:4566"
    # A source copy, or a zip built for S3 static files: the bucket behind the "CDN".
    assert environment.static_variables(stage, tmp_path, "v2") == {
        "DJANGO_STATIC_STORAGE": "s3",
        "STATIC_CDN_DOMAIN": f"127.0.0.1:4566/{settings.STATIC_BUCKET}",
        "STATIC_CDN_PROTOCOL": "http:",
    }
    # A zip that carries its files (built with DJANGO_STATIC_STORAGE=whitenoise).
    (tmp_path / "var" / "staticfiles").mkdir(parents=True)
    assert environment.static_variables(stage, tmp_path, "v2") == {
        "DJANGO_STATIC_STORAGE": "whitenoise",
        "DJANGO_STATIC_URL": "/dev/static/",
    }
    assert environment.static_variables(stage, tmp_path, "url")["DJANGO_STATIC_URL"] == "/static/"

"""The same tasks through all three backends: inline, database queue + worker, Lambda."""

import importlib
import json
import logging
import subprocess
import sys
import uuid

import pytest
from django_tasks.base import TaskResultStatus

from apps.tasks.models import IdempotencyKey
from apps.tasks.tests import sample_tasks
from deploy.tools.harness.loopback import LoopbackServer, QuietHandler
from deploy.tools.harness.postgres import PostgresDatabase
from deploy.tools.harness.processes import (
    DEPLOYED_ENV,
    ROOT,
    run_manage,
    run_python,
    stop_process,
    subprocess_env,
)

lambda_backend = importlib.import_module("deploy.lambda.tasks")

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
LAMBDA = {"default": {"BACKEND": "deploy.lambda.tasks.LambdaInvokeBackend"}}


class FakeLambda(LoopbackServer):
    """Lambda's Invoke API: records asynchronous invocations, delivers them on demand."""

    def __init__(self):
        self.invocations = []
        self.up = True

        class Handler(QuietHandler):
            def do_POST(self):
                owner = self.server.owner
                body = self.read_body()
                if not owner.up:
                    return self.reply(503, b'{"Message": "down"}')
                owner.invocations.append(
                    {
                        "path": self.path,
                        "type": self.headers.get("X-Amz-Invocation-Type"),
                        "payload": json.loads(body),
                    }
                )
                self.reply(202, b"")

        super().__init__(Handler)

    def deliver(self, index=-1):
        """What Lambda does next: run the real entry point with the recorded payload."""
        return lambda_backend.handle_invocation(self.invocations[index]["payload"])


@pytest.fixture
def fake_lambda(settings):
    with FakeLambda() as fake:
        settings.TASKS = LAMBDA
        settings.TASKS_LAMBDA_FUNCTION = "amphibian-dev"
        settings.AWS_ENDPOINT_URLS = {"LAMBDA": fake.url}
        yield fake


def side_effects(key):
    return IdempotencyKey.objects.filter(key=f"sample:{key}").count()


def run_immediate(settings, key):
    settings.TASKS = IMMEDIATE
    result = sample_tasks.add_and_record.enqueue(key, [1, 2, 3])
    assert result.status == TaskResultStatus.SUCCESSFUL
    return {"return_value": result.return_value, "side_effects": side_effects(key)}


def run_lambda(fake, key):
    result = sample_tasks.add_and_record.enqueue(key, [1, 2, 3])
    assert result.status == TaskResultStatus.READY
    invocation = fake.invocations[-1]
    assert invocation["type"] == "Event"
    assert invocation["path"] == "/2015-03-31/functions/amphibian-dev/invocations"
    assert invocation["payload"]["command"] == lambda_backend.ENTRY_POINT
    assert invocation["payload"]["task_id"] == result.id
    outcome = fake.deliver()
    return {"return_value": outcome["return_value"], "side_effects": side_effects(key)}


DB_RUN = """
import json, sys, time
import project.wsgi
from apps.tasks.models import IdempotencyKey
from apps.tasks.tests import sample_tasks
key = sys.argv[1]
result = sample_tasks.add_and_record.enqueue(key, [1, 2, 3])
deadline = time.monotonic() + 60
while not result.is_finished and time.monotonic() < deadline:
    time.sleep(0.2)
    result.refresh()
print(json.dumps({
    "status": result.status,
    "return_value": result.return_value,
    "side_effects": IdempotencyKey.objects.filter(key=f"sample:{key}").count(),
}))
"""


@pytest.fixture(scope="module")
def server_target(postgres_url):
    """A fresh PostgreSQL database migrated for the server target, and a real db_worker."""
    database = PostgresDatabase(postgres_url, prefix="amphibian_tasks")
    env = subprocess_env(
        DJANGO_DEPLOY_TARGET="server", **{**DEPLOYED_ENV, "DATABASE_URL": database.url}
    )
    run_manage(["migrate", "--noinput", "-v0"], env)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield env
    finally:
        stop_process(worker)
        database.drop()


def run_database(env, key):
    result = run_python(DB_RUN, env, args=[key], timeout=120)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome.pop("status") == "SUCCESSFUL"
    return outcome


@pytest.mark.django_db
def test_all_three_backends_produce_the_same_result(settings, fake_lambda, server_target):
    expected = {"return_value": 6, "side_effects": 1}
    assert run_immediate(settings, "immediate") == expected
    settings.TASKS = LAMBDA
    assert run_lambda(fake_lambda, "lambda") == expected
    assert run_database(server_target, "database") == expected


@pytest.mark.django_db
def test_duplicate_lambda_delivery_has_its_effect_once(fake_lambda):
    key = uuid.uuid4().hex
    sample_tasks.add_and_record.enqueue(key, [4, 5])
    first = fake_lambda.deliver()
    second = fake_lambda.deliver()
    assert first["status"] == "SUCCESSFUL" and first["return_value"] == 9
    assert second == {"status": "DUPLICATE", "task_id": first["task_id"]}
    assert side_effects(key) == 1


@pytest.mark.django_db
def test_failed_lambda_delivery_is_retried_and_logged(fake_lambda, caplog):
    sample_tasks.explode.enqueue("boom")
    with caplog.at_level(logging.ERROR, logger="apps.tasks"):
        for _ in range(2):  # Lambda's retry gets to run it again: no key was kept
            with pytest.raises(ValueError, match="boom"):
                fake_lambda.deliver()
    failures = [r for r in caplog.records if r.name == "apps.tasks"]
    assert len(failures) == 2
    assert failures[0].task == "apps.tasks.tests.sample_tasks.explode"
    assert failures[0].task_id == fake_lambda.invocations[-1]["payload"]["task_id"]
    assert failures[0].exception == "builtins.ValueError"


def test_oversized_payload_is_refused_at_enqueue(fake_lambda, settings):
    settings.TASKS_LAMBDA_MAX_PAYLOAD = 1024
    with pytest.raises(lambda_backend.PayloadTooLarge, match=r"at most 1024.*Pass a reference"):
        sample_tasks.add_and_record.enqueue("big", list(range(1000)))
    assert fake_lambda.invocations == []


def test_default_limit_is_256_kib(fake_lambda):
    with pytest.raises(lambda_backend.PayloadTooLarge, match="at most 262144"):
        sample_tasks.add_and_record.enqueue("huge", ["x" * 300_000])


def test_unreachable_lambda_is_a_clear_enqueue_failure(fake_lambda, settings):
    settings.AWS_MAX_ATTEMPTS = 1
    fake_lambda.up = False
    with pytest.raises(lambda_backend.EnqueueFailed):
        sample_tasks.add_and_record.enqueue("down", [1])


@pytest.mark.django_db
def test_malformed_invocations_are_dropped_not_retried(caplog):
    for event in ({}, {"task_path": "os.system", "args": [], "kwargs": {}, "task_id": "x"}):
        assert lambda_backend.handle_invocation(event) == {"status": "REJECTED"}


def test_lambda_backend_import_does_not_load_boto3():
    code = (
        "import sys, project.targets; project.targets.configure();"
        "import django; django.setup();"
        "import importlib; importlib.import_module('deploy.lambda.tasks');"
        "print('boto3' in sys.modules)"
    )
    result = run_python(
        code,
        subprocess_env(
            DJANGO_DEPLOY_TARGET="lambda", **{**DEPLOYED_ENV, "DATABASE_URL": "sqlite://:memory:"}
        ),
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr

"""``manage.py failedtasks`` on the database queue: db_worker's own processing marks a task
FAILED; the command lists it, redrives it, and the worker runs it again under the same id."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_tasks import task
from django_tasks.base import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from apps.tasks.idempotency import once
from apps.tasks.models import IdempotencyKey
from tests.support.failedtasks import failedtasks, listed

DATABASE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

pytestmark = pytest.mark.django_db(transaction=True)


@task
def send_report(key):
    """Fails while its dependency is down (no ``up:<key>`` key yet), like a mail server."""
    if not IdempotencyKey.objects.filter(key=f"up:{key}").exists():
        raise ConnectionError(f"report server down for {key}")
    with once(f"report:{key}") as first:
        return "sent" if first else "already sent"


@pytest.fixture(autouse=True)
def database_queue(settings):
    settings.TASKS = DATABASE
    settings.TASKS_FAILURES = "apps.tasks.failures.DatabaseFailures"


def run_worker():
    """What ``manage.py db_worker --batch`` does, without its signal and logging set-up."""
    Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


def failed_report(key):
    result = send_report.enqueue(key)
    run_worker()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    return result


def test_a_failed_task_is_listed_redriven_and_runs_again_under_its_id():
    result = failed_report("weekly")

    text = failedtasks()
    assert "1 failed in the database queue" in text
    assert result.id in text
    assert 'test_failedtasks.send_report("weekly")' in text
    assert "why: ConnectionError: report server down for weekly (1 attempt)" in text
    [entry] = listed()
    assert entry["id"] == entry["task_id"] == result.id
    assert (entry["kind"], entry["error_type"], entry["attempts"]) == (
        "task",
        "ConnectionError",
        1,
    )
    assert entry["failed_at"].startswith(
        str(DBTaskResult.objects.get(pk=result.id).finished_at.date())
    )
    assert (
        DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.FAILED
    )  # listing is read-only

    IdempotencyKey.objects.create(key="up:weekly")
    assert f"{result.id}  " in failedtasks("--redrive", result.id)
    assert listed() == []
    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.READY

    run_worker()
    result.refresh()
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, "sent")
    assert result.worker_ids == ["test-worker", "test-worker"]
    assert listed() == []


def test_dry_run_and_unknown_ids_change_nothing():
    result = failed_report("daily")
    assert "would be redriven" in failedtasks("--redrive-all", "--dry-run")
    with pytest.raises(
        CommandError, match=r"Not in the database queue .*: nope\. Nothing was redriven"
    ):
        failedtasks("--redrive", result.id, "nope")
    assert [entry["id"] for entry in listed()] == [result.id]
    with pytest.raises(CommandError, match="--dry-run goes with --redrive"):
        failedtasks("--dry-run")


def test_redrive_all_requeues_every_failure_and_a_new_failure_is_listed_again():
    first, second = failed_report("a"), failed_report("b")
    assert {entry["id"] for entry in listed()} == {first.id, second.id}
    rows = json.loads(failedtasks("--redrive-all", "--json"))
    assert {(row["id"], row["outcome"]) for row in rows} == {
        (first.id, "redriven"),
        (second.id, "redriven"),
    }
    run_worker()  # the dependency is still down: they fail again, and are listed again
    assert {entry["attempts"] for entry in listed()} == {2}


def test_a_task_that_cannot_be_requeued_stays_failed():
    result = failed_report("gone")
    DBTaskResult.objects.filter(pk=result.id).update(task_path="apps.tasks.tests.nowhere.task")
    with pytest.raises(CommandError, match=f"1 of 1 not redriven; they stay listed: {result.id}"):
        failedtasks("--redrive", result.id)
    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.FAILED
    assert [entry["what"] for entry in listed()] == ['apps.tasks.tests.nowhere.task("gone")']


def test_a_task_whose_backend_is_no_longer_the_database_queue_stays_failed(settings):
    result = failed_report("moved")
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    out = StringIO()
    with pytest.raises(CommandError, match="not redriven"):
        call_command("failedtasks", "--redrive-all", stdout=out)
    assert "ImmediateBackend here, not the database queue" in out.getvalue()
    assert DBTaskResult.objects.get(pk=result.id).status == TaskResultStatus.FAILED


def test_nothing_failed_says_so():
    assert failedtasks() == "No failed background work in the database queue (django_tasks_db).\n"
    assert listed() == []


def test_a_bad_failures_setting_is_a_clear_error(settings):
    settings.TASKS_FAILURES = "apps.tasks.nowhere.Failures"
    with pytest.raises(
        CommandError, match=r"TASKS_FAILURES = 'apps\.tasks\.nowhere\.Failures' cannot"
    ):
        failedtasks()

"""Background work that failed for good, wherever each world keeps it, and running it again.

No failure is only in a log: ``manage.py failedtasks`` lists what failed (``--json`` for
machines) and ``--redrive ID ...`` / ``--redrive-all`` enqueues it again. Each world keeps
its failures in its own place, behind one interface (``FailureSource``), and
``settings.TASKS_FAILURES`` names the one this target uses, resolved when the command runs:

- the server target (and local, tests): ``DatabaseFailures``, the rows ``manage.py
  db_worker`` marked FAILED in django_tasks_db's table;
- the lambda target: ``deploy.lambda.tasks.FailedInvocations``, the invocation records
  Lambda's on-failure destination put in the SQS queue ``TASKS_FAILED_QUEUE_URL`` (tasks,
  S3 notifications and schedule events alike, after Lambda's own retries).

Listing removes nothing. A redrive enqueues the work again under the same task id and takes
it out of the failed set only once the new enqueue was accepted: a refused enqueue leaves it
where it was, listed. Tasks are idempotent (``apps.tasks.idempotency``), so redriving work
that had in fact completed has no second effect.

Run it with the target's settings and variables: ``manage.py failedtasks`` on a server, or
on an operator's machine with the stage's variables (``manage.py stackenv``), or
``zappa manage <stage> failedtasks``.
"""

import datetime
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.base import TaskResultStatus
from django_tasks.exceptions import InvalidTaskBackendError, InvalidTaskError
from django_tasks.signals import task_enqueued

SUMMARY_LENGTH = 120


class FailureSourceUnavailable(Exception):
    """The place failures are kept cannot be read now (a queue down, a permission missing)."""


class RedriveFailed(Exception):
    """This failure was not enqueued again; it stays in the failed set."""


@dataclass(frozen=True)
class Failure:
    """One delivery of background work that failed for good, as an operator reads it."""

    id: str  # what ``--redrive`` takes
    failed_at: datetime.datetime | None
    kind: str  # "task", "s3", "schedule" or "unknown"
    what: str  # the task and its arguments, the S3 objects, the scheduled job
    error_type: str
    error_message: str
    condition: str  # why it stopped being retried ("RetriesExhausted"), when the source says
    attempts: int | None
    task_id: str | None = None
    # What the source needs to redrive it (a row, a message); never shown.
    handle: Any = field(default=None, repr=False, compare=False)

    def as_dict(self):
        """The JSON form (``failedtasks --json``)."""
        return {
            "id": self.id,
            "failed_at": self.failed_at.isoformat() if self.failed_at else None,
            "kind": self.kind,
            "what": self.what,
            "task_id": self.task_id,
            "error_type": self.error_type,
            "error_message": self.error_message,
            "condition": self.condition,
            "attempts": self.attempts,
        }


class FailureSource:
    """Where one world keeps its failed background work; a context manager, closed after use.

    ``list`` may hold what it read (SQS messages stay invisible to others while the command
    works on them); ``close`` gives back whatever was not redriven.
    """

    description = ""  # for the operator: where the failures were read from

    def list(self) -> Iterable[Failure]:
        """Every failure now in the set; raises FailureSourceUnavailable. Removes nothing."""
        raise NotImplementedError("subclasses of FailureSource must provide a list() method")

    def redrive(self, failure: Failure) -> None:
        """Enqueue ``failure``'s work again, then remove it from the set; raises RedriveFailed
        (the failure is then still in the set)."""
        raise NotImplementedError("subclasses of FailureSource must provide a redrive() method")

    def close(self) -> None:
        """Release what ``list`` holds."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def failure_source() -> FailureSource:
    """The source ``settings.TASKS_FAILURES`` names, for this target's task backend."""
    path = settings.TASKS_FAILURES
    try:
        source_class = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"TASKS_FAILURES = {path!r} cannot be imported: {exc}") from exc
    return source_class()


def describe_call(task_path, args, kwargs):
    """``path(arg, key=value)``, shortened to one readable line."""
    arguments = [json.dumps(value, default=str) for value in args or ()]
    arguments += [
        f"{key}={json.dumps(value, default=str)}" for key, value in (kwargs or {}).items()
    ]
    return shorten(f"{task_path}({', '.join(arguments)})")


def shorten(text, length=SUMMARY_LENGTH):
    return text if len(text) <= length else text[: length - 1] + "…"


class DatabaseFailures(FailureSource):
    """The database queue's failed task results (django_tasks_db, run by ``db_worker``).

    A redrive puts the same row back to READY, in one conditional UPDATE, rather than
    creating a new result: django_tasks_db has no "redriven" state to mark an old row with,
    the task keeps its id (and whoever holds its result sees it run again), ``worker_ids``
    keeps counting the attempts, and a redrive that fails changes nothing. The last error
    stays on the row until the next attempt overwrites it.

    ``db_worker`` does not retry; and ``prune_db_task_results`` deletes failed rows after
    its ``--failed-min-age-days``, so redrive before then.
    """

    description = "the database queue (django_tasks_db)"

    def list(self):
        # Here, not at the top: the lambda target's task backend imports this module's
        # interface on its enqueue path, and has no database queue to load.
        from django_tasks_db.models import DBTaskResult

        for row in DBTaskResult.objects.failed().order_by("finished_at"):
            error_type, message = _python_error(row.exception_class_path, row.traceback)
            yield Failure(
                id=str(row.id),
                failed_at=row.finished_at,
                kind="task",
                what=describe_call(
                    row.task_path, row.args_kwargs.get("args"), row.args_kwargs.get("kwargs")
                ),
                error_type=error_type,
                error_message=message,
                condition="",
                attempts=len(row.worker_ids),
                task_id=str(row.id),
                handle=row,
            )

    def redrive(self, failure):
        from django_tasks_db.backend import DatabaseBackend
        from django_tasks_db.models import DBTaskResult

        row = failure.handle
        try:
            backend = row.task.get_backend()
        except InvalidTaskBackendError as exc:
            raise RedriveFailed(
                f"Its backend {row.backend_name!r} is not in settings.TASKS here."
            ) from exc
        except (ImportError, SuspiciousOperation, InvalidTaskError) as exc:
            raise RedriveFailed(
                f"{row.task_path} is no longer a task in this code: {exc}"
            ) from exc
        if not isinstance(backend, DatabaseBackend):
            raise RedriveFailed(
                f"Its backend {row.backend_name!r} is {type(backend).__name__} here, not the "
                "database queue: db_worker would never run it."
            )
        requeued = DBTaskResult.objects.filter(pk=row.pk, status=TaskResultStatus.FAILED).update(
            status=TaskResultStatus.READY,
            enqueued_at=timezone.now(),
            started_at=None,
            finished_at=None,
        )
        if not requeued:
            raise RedriveFailed("It is no longer failed (redriven meanwhile, or pruned).")
        row.refresh_from_db()
        task_enqueued.send(type(backend), task_result=row.task_result)


def _python_error(exception_class_path, traceback):
    """``(type, message)`` from a stored exception path and its formatted traceback."""
    error_type = exception_class_path.removeprefix("builtins.")
    lines = [line for line in (traceback or "").splitlines() if line.strip()]
    last = lines[-1] if lines else ""
    short_name = exception_class_path.rpartition(".")[2]
    for prefix in (f"{exception_class_path}:", f"{short_name}:"):
        if last.startswith(prefix):
            return error_type, last[len(prefix) :].strip()
    return error_type, last

"""Tasks on Lambda: enqueue by invoking this same function asynchronously.

``LambdaInvokeBackend.enqueue`` sends a small JSON payload with ``InvocationType="Event"``;
Lambda queues it and calls the function again, where Zappa's handler routes the payload's
``command`` to ``handle_invocation``, which runs the task. The payload keeps Zappa's
asynchronous format (``task_path``, ``args``, ``kwargs``, ``capture_response``) without
importing ``zappa.asynchronous``, which builds boto3 clients at import time and would put
them on every cold start (measured in bench/results/tasks_import.json).

Lambda retries a failed asynchronous invocation up to twice and may deliver one twice, so
each delivery runs inside ``once("task:<id>")``: a duplicate of a finished task does
nothing, and a failed attempt leaves no key, so the retry runs it again.
"""

import json
import logging
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.base import Task, TaskContext, TaskError, TaskResult, TaskResultStatus
from django_tasks.exceptions import InvalidTaskError
from django_tasks.signals import task_enqueued, task_finished, task_started
from django_tasks.utils import get_exception_traceback, get_module_path, get_random_id

from apps.core import aws
from apps.tasks.idempotency import once

logger = logging.getLogger(__name__)

ENTRY_POINT = "deploy.lambda.tasks.handle_invocation"


class PayloadTooLarge(InvalidTaskError):
    """The task's arguments do not fit in an asynchronous invocation."""


class EnqueueFailed(Exception):
    """Lambda did not accept the invocation; nothing was queued."""


class LambdaInvokeBackend(BaseTaskBackend):
    """django-tasks backend for the lambda target (see the module docstring)."""

    supports_async_task = False
    supports_get_result = False

    def enqueue(self, task, args, kwargs):
        """Invoke the function asynchronously with the task; raises if Lambda refused it."""
        self.validate_task(task)
        result: TaskResult[Any] = TaskResult(
            task=task,
            id=get_random_id(),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=list(args),
            kwargs=dict(kwargs),
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        body = encode_payload(result)
        function_name = settings.TASKS_LAMBDA_FUNCTION
        if not function_name:
            raise EnqueueFailed("TASKS_LAMBDA_FUNCTION is not set; the lambda target needs it.")
        with aws.unavailable_as(EnqueueFailed, lambda exc: f"Lambda is unreachable: {exc}"):
            response = aws.client("lambda").invoke(
                FunctionName=function_name, InvocationType="Event", Payload=body
            )
        if response.get("StatusCode") != 202:
            raise EnqueueFailed(f"Lambda answered {response.get('StatusCode')}, not 202")
        object.__setattr__(result, "enqueued_at", timezone.now())
        task_enqueued.send(type(self), task_result=result)
        return result


def encode_payload(result):
    """The invocation payload for ``result``; refuses what Lambda would refuse."""
    payload = {
        # Zappa's handler routes on "command"; the rest is Zappa's async task format.
        "command": ENTRY_POINT,
        "task_path": result.task.module_path,
        "args": result.args,
        "kwargs": result.kwargs,
        "capture_response": False,
        "response_id": None,
        "task_id": result.id,
        "backend": result.backend,
    }
    # Task.enqueue already normalized the arguments to JSON types.
    body = json.dumps(payload, separators=(",", ":")).encode()
    limit = settings.TASKS_LAMBDA_MAX_PAYLOAD
    if len(body) > limit:
        raise PayloadTooLarge(
            f"Arguments of {result.task.module_path} make a {len(body)}-byte payload; an "
            f"asynchronous Lambda invocation takes at most {limit}. Pass a reference (a "
            "primary key, an S3 key) instead of the data."
        )
    return body


def handle_invocation(event, context=None):
    """Run the task an asynchronous invocation carries (Zappa calls this with the event).

    Malformed payloads are logged and dropped: raising would only make Lambda retry them.
    A task that raises is re-raised so that Lambda's retries and on-failure destination
    apply.
    """
    try:
        task = import_string(event["task_path"])
        args, kwargs, task_id = list(event["args"]), dict(event["kwargs"]), str(event["task_id"])
    except (KeyError, TypeError, ValueError, ImportError) as exc:
        logger.error("dropping malformed task invocation: %r", exc)
        return {"status": "REJECTED"}
    if not isinstance(task, Task):
        logger.error("dropping invocation of %s: not a task", event["task_path"])
        return {"status": "REJECTED"}

    worker_id = getattr(context, "aws_request_id", None) or get_random_id()
    started = timezone.now()
    result: TaskResult[Any] = TaskResult(
        task=task,
        id=task_id,
        status=TaskResultStatus.RUNNING,
        enqueued_at=None,
        started_at=started,
        last_attempted_at=started,
        finished_at=None,
        args=args,
        kwargs=kwargs,
        backend=event.get("backend", "default"),
        errors=[],
        worker_ids=[worker_id],
    )
    try:
        with once(f"task:{task_id}") as first:
            if not first:
                logger.info("task %s already ran; duplicate delivery ignored", task_id)
                return {"status": "DUPLICATE", "task_id": task_id}
            task_started.send(LambdaInvokeBackend, task_result=result)
            if task.takes_context:
                value = task.call(TaskContext(task_result=result), *args, **kwargs)
            else:
                value = task.call(*args, **kwargs)
    except Exception as exc:
        object.__setattr__(result, "finished_at", timezone.now())
        object.__setattr__(result, "status", TaskResultStatus.FAILED)
        result.errors.append(
            TaskError(
                exception_class_path=get_module_path(type(exc)),
                traceback=get_exception_traceback(exc),
            )
        )
        task_finished.send(LambdaInvokeBackend, task_result=result)
        raise
    object.__setattr__(result, "finished_at", timezone.now())
    object.__setattr__(result, "status", TaskResultStatus.SUCCESSFUL)
    object.__setattr__(result, "_return_value", value)
    task_finished.send(LambdaInvokeBackend, task_result=result)
    return {"status": "SUCCESSFUL", "task_id": task_id, "return_value": value}

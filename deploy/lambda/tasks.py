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

What still fails after the retries (a task, an S3 notification, a schedule event: every
asynchronous invocation) goes to the on-failure destination, an SQS queue, where
``FailedInvocations`` lists it and redrives it for ``manage.py failedtasks``
(``apps.tasks.failures``).
"""

import datetime
import json
import logging
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.module_loading import import_string
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.base import Task, TaskContext, TaskError, TaskResult, TaskResultStatus
from django_tasks.exceptions import InvalidTaskError
from django_tasks.signals import task_enqueued, task_finished, task_started
from django_tasks.utils import get_exception_traceback, get_module_path, get_random_id

from apps.core import aws
from apps.tasks.failures import (
    Failure,
    FailureSource,
    FailureSourceUnavailable,
    RedriveFailed,
    describe_call,
    shorten,
)
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
        invoke_async(encode_payload(result))
        object.__setattr__(result, "enqueued_at", timezone.now())
        task_enqueued.send(type(self), task_result=result)
        return result


def invoke_async(body):
    """Hand ``body`` to Lambda as an asynchronous invocation of the function; raises
    EnqueueFailed unless Lambda accepted it (202)."""
    function_name = settings.TASKS_LAMBDA_FUNCTION
    if not function_name:
        raise EnqueueFailed("TASKS_LAMBDA_FUNCTION is not set; the lambda target needs it.")
    qualifier = (
        {"Qualifier": settings.TASKS_LAMBDA_QUALIFIER} if settings.TASKS_LAMBDA_QUALIFIER else {}
    )
    with aws.unavailable_as(EnqueueFailed, lambda exc: f"Lambda is unreachable: {exc}"):
        response = aws.client("lambda").invoke(
            FunctionName=function_name, InvocationType="Event", Payload=body, **qualifier
        )
    if response.get("StatusCode") != 202:
        raise EnqueueFailed(f"Lambda answered {response.get('StatusCode')}, not 202")


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


class FailedInvocations(FailureSource):
    """Asynchronous invocations that failed for good: the invocation records Lambda's
    on-failure destination puts in the SQS queue ``TASKS_FAILED_QUEUE_URL``.

    Tasks, S3 notifications and schedule events alike, once Lambda's retries are spent
    (``RetriesExhausted``) or the event waited too long (``EventAgeExceeded``). Listing
    receives every message with a visibility timeout and gives each back (visibility 0)
    when the command closes the source; nothing is deleted. A redrive invokes the function
    asynchronously with the record's original ``requestPayload``, whatever it was, and
    deletes the message only once Lambda accepted the invocation. The SQS client is made
    when the command runs, so no cold start pays for it.
    """

    # Seconds the listed messages stay hidden should the command die before giving them back.
    visibility_timeout = 120
    # Long polling asks every SQS server, so an empty answer means an empty queue.
    wait_seconds = 1

    def __init__(self):
        self.queue_url = settings.TASKS_FAILED_QUEUE_URL
        if not self.queue_url:
            raise ImproperlyConfigured(
                "TASKS_FAILED_QUEUE_URL is not set: it is the stack's FailedInvocationsQueueUrl "
                "output (`manage.py stackenv` prints the stage's variables)."
            )
        self.description = f"the failed-invocations queue {self.queue_url}"
        self._held = {}  # MessageId -> receipt handle, for what list() received and kept

    def list(self):
        sqs = aws.client("sqs")
        messages = {}
        with self._reading():
            while True:
                batch = sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=10,
                    VisibilityTimeout=self.visibility_timeout,
                    WaitTimeSeconds=self.wait_seconds,
                ).get("Messages", [])
                fresh = [message for message in batch if message["MessageId"] not in messages]
                for message in batch:
                    messages[message["MessageId"]] = message
                    self._held[message["MessageId"]] = message["ReceiptHandle"]
                if not fresh:  # empty, or come round to messages already held
                    break
        failures = [invocation_failure(m["MessageId"], m["Body"]) for m in messages.values()]
        return sorted(failures, key=lambda failure: failure.failed_at or _EPOCH)

    def redrive(self, failure):
        from botocore.exceptions import BotoCoreError, ClientError

        if failure.handle is None:
            raise RedriveFailed(
                "Not a Lambda invocation record, so there is no event to invoke with; read it "
                "and delete it in the SQS console."
            )
        try:
            invoke_async(json.dumps(failure.handle, separators=(",", ":")).encode())
        except EnqueueFailed as exc:
            raise RedriveFailed(str(exc)) from exc
        except (BotoCoreError, ClientError) as exc:
            raise RedriveFailed(f"Lambda refused the invocation: {exc}") from exc
        try:
            with self._reading():
                aws.client("sqs").delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=self._held[failure.id]
                )
        except FailureSourceUnavailable as exc:
            raise RedriveFailed(
                f"Invoked again, but the message stays in the queue ({exc}); redriving it "
                "again is harmless: a task that ran does nothing twice."
            ) from exc
        del self._held[failure.id]

    def close(self):
        """Make every message listed and not redriven visible again at once."""
        from botocore.exceptions import BotoCoreError, ClientError

        held, self._held = list(self._held.items()), {}
        for start in range(0, len(held), 10):  # SQS batches hold at most 10 entries
            entries = [
                {"Id": str(number), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for number, (_, handle) in enumerate(held[start : start + 10])
            ]
            try:
                aws.client("sqs").change_message_visibility_batch(
                    QueueUrl=self.queue_url, Entries=entries
                )
            except (BotoCoreError, ClientError) as exc:
                logger.warning(
                    "%d failed invocations stay hidden for up to %d s: %s",
                    len(entries),
                    self.visibility_timeout,
                    exc,
                )

    @contextmanager
    def _reading(self):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except (BotoCoreError, ClientError) as exc:
            raise FailureSourceUnavailable(f"{self.description} cannot be read: {exc}") from exc


_EPOCH = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def invocation_failure(message_id, body):
    """The Failure an SQS message from the on-failure destination stands for.

    The record is ``{"timestamp", "requestContext": {"condition", "approximateInvokeCount",
    ...}, "requestPayload": <the event>, "responseContext": {"functionError", ...},
    "responsePayload": {"errorType", "errorMessage", "stackTrace"}}``; the handle is the
    event, or None for a message that is no such record.
    """
    try:
        record = json.loads(body)
    except ValueError:
        record = None
    if not isinstance(record, dict) or "requestPayload" not in record:
        return Failure(
            id=message_id,
            failed_at=None,
            kind="unknown",
            what=shorten(f"not an invocation record: {body}"),
            error_type="",
            error_message="",
            condition="",
            attempts=None,
        )
    context = record.get("requestContext") or {}
    response = record.get("responsePayload")
    if not isinstance(response, dict):
        response = {"errorMessage": json.dumps(response)} if response is not None else {}
    kind, what, task_id = describe_event(record["requestPayload"])
    return Failure(
        id=message_id,
        failed_at=_timestamp(record.get("timestamp")),
        kind=kind,
        what=what,
        error_type=str(
            response.get("errorType")
            or (record.get("responseContext") or {}).get("functionError")
            or ""
        ),
        error_message=str(response.get("errorMessage") or ""),
        condition=str(context.get("condition") or ""),
        attempts=context.get("approximateInvokeCount"),
        task_id=task_id,
        handle=record["requestPayload"],
    )


def describe_event(event):
    """``(kind, what, task id)`` for an event this function is invoked with asynchronously."""
    try:
        if event.get("command") == ENTRY_POINT:
            what = describe_call(event["task_path"], event.get("args"), event.get("kwargs"))
            return "task", what, str(event["task_id"])
        if event.get("detail-type") == "Scheduled Event":
            job = (event.get("kwargs") or {}).get("job")
            rule = event["resources"][0].rsplit("/", 1)[-1]
            return "schedule", f"schedule job {job}" if job else f"schedule rule {rule}", None
        if event.get("Records") and all("s3" in record for record in event["Records"]):
            objects = [
                f"s3://{record['s3']['bucket']['name']}/{unquote_plus(record['s3']['object']['key'])}"
                for record in event["Records"]
            ]
            return (
                "s3",
                shorten(f"{event['Records'][0].get('eventName')} {', '.join(objects)}"),
                None,
            )
    except (AttributeError, IndexError, KeyError, TypeError):
        pass  # not one of ours after all
    return "unknown", shorten(json.dumps(event, separators=(",", ":"))), None


def _timestamp(value):
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)

"""``manage.py failedtasks`` on the lambda target: Lambda's on-failure records in the local
stack's SQS, redriven as asynchronous invocations of the function (a loopback stand-in for
Lambda's Invoke API records them)."""

import importlib
import json
import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.core import aws
from apps.tasks.tests import sample_tasks
from deploy.tools.locallambda import invocations
from tests.support.failedtasks import failedtasks, listed
from tests.test_tasks import LAMBDA, FakeLambda

lambda_tasks = importlib.import_module("deploy.lambda.tasks")

FUNCTION = "amphibian-test"


@pytest.fixture
def queue(local_aws, settings, monkeypatch):
    """A fresh on-failure queue, and the lambda target's failure source reading it."""
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=f"failed-invocations-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    settings.TASKS_FAILED_QUEUE_URL = url
    settings.TASKS_FAILURES = "deploy.lambda.tasks.FailedInvocations"
    # moto answers a short poll from the whole queue, as real SQS's long polling does.
    monkeypatch.setattr(lambda_tasks.FailedInvocations, "wait_seconds", 0)
    yield url
    sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def function(settings):
    with FakeLambda() as fake:
        settings.TASKS = LAMBDA
        settings.TASKS_LAMBDA_FUNCTION = FUNCTION
        settings.AWS_ENDPOINT_URLS = {"LAMBDA": fake.url}
        yield fake


def fail(queue_url, event, condition="RetriesExhausted", attempts=3, error=None):
    """Put the record Lambda's on-failure destination sends for ``event`` in the queue."""
    record = {
        "version": "1.0",
        "timestamp": "2026-01-05T10:00:00.123Z",
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST"},
    }
    if error:  # an event that aged out never ran: no response
        record["responseContext"]["functionError"] = "Unhandled"
        record["responsePayload"] = {
            "errorType": error[0],
            "errorMessage": error[1],
            "stackTrace": ['  File "/var/task/apps/tasks/tests/sample_tasks.py", line 12'],
        }
    return send(queue_url, json.dumps(record))


def send(queue_url, body):
    return aws.client("sqs").send_message(QueueUrl=queue_url, MessageBody=body)["MessageId"]


def in_queue(queue_url):
    """Messages in the queue, visible or not: what a redrive has not removed."""
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(count) for count in attributes.values())


@pytest.mark.django_db
def test_a_failed_task_is_listed_then_redriven_with_its_payload(queue, function):
    sample_tasks.add_and_record.enqueue("report", [1, 2])
    payload = function.invocations.pop()["payload"]  # what encode_payload sent
    message_id = fail(queue, payload, error=("OperationalError", "the database is down"))

    text = failedtasks()
    assert f"1 failed in the failed-invocations queue {queue}" in text
    assert f"{message_id}  2026-01-05 10:00:00 UTC  task  " in text
    assert 'apps.tasks.tests.sample_tasks.add_and_record("report", [1, 2])' in text
    assert "why: OperationalError: the database is down (RetriesExhausted, 3 attempts)" in text
    [entry] = listed()
    assert (entry["id"], entry["task_id"]) == (message_id, payload["task_id"])
    # Listing hid nothing: the message is visible again at once.
    visible = aws.client("sqs").receive_message(QueueUrl=queue, VisibilityTimeout=0)
    assert [message["MessageId"] for message in visible["Messages"]] == [message_id]

    # By task id (what the logs show) as well as by message id.
    assert "redriven" in failedtasks("--redrive", payload["task_id"])
    [invocation] = function.invocations
    assert invocation["type"] == "Event"
    assert invocation["path"] == f"/2015-03-31/functions/{FUNCTION}/invocations"
    assert invocation["payload"] == payload
    assert in_queue(queue) == 0
    assert listed() == []

    outcome = function.deliver()
    assert (outcome["status"], outcome["task_id"]) == ("SUCCESSFUL", payload["task_id"])
    # Had the task in fact completed, the redriven delivery would do nothing twice.
    assert function.deliver()["status"] == "DUPLICATE"


def test_s3_schedule_and_foreign_events_are_redriven_as_they_were(queue, function):
    s3 = invocations.s3_object_created(
        "amphibian-test-media", "uploads/a b.png", FUNCTION, "us-east-1"
    )
    schedule = invocations.scheduled("purge-idempotency-keys", FUNCTION, "us-east-1")
    foreign = {"hello": "world"}
    fail(queue, s3, condition="EventAgeExceeded", attempts=1)
    fail(queue, schedule, error=("KeyError", "'job'"))
    fail(queue, foreign, error=("UnroutableEvent", "No route for an event with keys ['hello']."))

    entries = {entry["kind"]: entry for entry in listed()}
    assert entries["s3"]["what"] == "ObjectCreated:Put s3://amphibian-test-media/uploads/a b.png"
    assert (entries["s3"]["condition"], entries["s3"]["error_type"]) == ("EventAgeExceeded", "")
    assert entries["schedule"]["what"] == "schedule job purge-idempotency-keys"
    assert entries["unknown"]["what"] == '{"hello":"world"}'
    assert "why: unknown (EventAgeExceeded, 1 attempt)" in failedtasks()

    rows = json.loads(failedtasks("--redrive-all", "--json"))
    assert {row["outcome"] for row in rows} == {"redriven"}
    payloads = [invocation["payload"] for invocation in function.invocations]
    assert sorted(payloads, key=json.dumps) == sorted([s3, schedule, foreign], key=json.dumps)
    assert in_queue(queue) == 0


def test_a_refused_invoke_keeps_the_message(queue, function, settings):
    settings.AWS_MAX_ATTEMPTS = 1
    function.up = False
    message_id = fail(queue, invocations.task("apps.tasks.tests.sample_tasks.explode", ["x"]))
    out = StringIO()
    with pytest.raises(CommandError, match=f"1 of 1 not redriven; they stay listed: {message_id}"):
        call_command("failedtasks", "--redrive", message_id, stdout=out)
    assert "not redriven, still listed: Lambda is unreachable" in out.getvalue()
    assert function.invocations == []
    assert [entry["id"] for entry in listed()] == [message_id]

    function.up = True
    assert "would be redriven" in failedtasks("--redrive", message_id, "--dry-run")
    assert function.invocations == []
    assert in_queue(queue) == 1


def test_a_message_that_is_no_invocation_record_is_listed_not_redriven(queue, function):
    message_id = send(queue, "written by hand")
    [entry] = listed()
    assert (entry["id"], entry["kind"]) == (message_id, "unknown")
    assert entry["what"] == "not an invocation record: written by hand"
    with pytest.raises(CommandError, match="not redriven"):
        failedtasks("--redrive-all")
    assert function.invocations == []
    assert in_queue(queue) == 1


def test_an_unreadable_queue_is_a_clear_error(queue, settings):
    settings.TASKS_FAILED_QUEUE_URL = queue.rsplit("/", 1)[0] + "/no-such-queue"
    with pytest.raises(CommandError, match=r"no-such-queue cannot be read: .*NonExistentQueue"):
        failedtasks()
    settings.AWS_MAX_ATTEMPTS = 1
    settings.AWS_ENDPOINT_URLS = {"SQS": "http://127.0.0.1:9"}
    with pytest.raises(CommandError, match="cannot be read: Could not connect"):
        failedtasks()
    settings.TASKS_FAILED_QUEUE_URL = None
    with pytest.raises(CommandError, match="TASKS_FAILED_QUEUE_URL is not set"):
        failedtasks()


def test_no_failure_says_so(queue):
    assert failedtasks() == f"No failed background work in the failed-invocations queue {queue}.\n"

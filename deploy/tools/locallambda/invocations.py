"""The non-HTTP events ``manage.py invokelambda`` sends, in the shapes AWS and Zappa use."""

import uuid
from datetime import UTC, datetime
from urllib.parse import quote_plus

from deploy.tools import lambda_module

ENTRY_POINT = lambda_module("tasks").ENTRY_POINT
SCHEDULED_ENTRY_POINT = lambda_module("schedules").SCHEDULED_ENTRY_POINT

ACCOUNT = "123456789012"


def s3_object_created(bucket, key, function_name, region, size=0):
    """An S3 ``ObjectCreated:Put`` notification for ``bucket``/``key``."""
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:LOCAL"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper()},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    # Zappa names the bucket notification after the function.
                    "configurationId": function_name,
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCAL"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    # S3 sends keys form-encoded (a space is "+").
                    "object": {"key": quote_plus(key, safe="/"), "size": size, "eTag": ""},
                },
            }
        ]
    }


def scheduled(job, function_name, region, function=SCHEDULED_ENTRY_POINT):
    """The event a Zappa schedule rule for ``job`` (settings.SCHEDULES) delivers."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": now,
        "region": region,
        # Zappa's handler finds the function at the end of the rule name.
        "resources": [f"arn:aws:events:{region}:{ACCOUNT}:rule/{function_name}-{function}"],
        "detail": {},
        "kwargs": {"job": job},
    }


def task(task_path, args=(), kwargs=None):
    """An asynchronous task payload, as deploy/lambda/tasks.py sends it."""
    return {
        "command": ENTRY_POINT,
        "task_path": task_path,
        "args": list(args),
        "kwargs": dict(kwargs or {}),
        "capture_response": False,
        "response_id": None,
        "task_id": uuid.uuid4().hex,
        "backend": "default",
    }


def manage(command_line):
    """A management command, as ``zappa manage <stage> "<command>"`` sends it."""
    return {"manage": command_line}

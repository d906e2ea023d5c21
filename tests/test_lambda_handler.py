"""The Lambda handler with recorded-shape events from all four HTTP sources, and Zappa's others.

Events in tests/lambda_events/ follow AWS's documented examples; the handler runs Django
in this process (test settings) with the views of tests/support/lambda_urls.py.
"""

import base64
import copy
import hashlib
import importlib
import json
import subprocess
import sys
import time
import types
import uuid
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from awslambdaric.lambda_context import LambdaContext

from apps.tasks.models import IdempotencyKey

handler = importlib.import_module("deploy.lambda.handler")
events = importlib.import_module("deploy.lambda.events")
from deploy.tools.locallambda import invocations  # noqa: E402

EVENTS = Path(__file__).parent / "lambda_events"
SOURCES = ["rest_v1", "http_api_v2", "function_url", "alb"]
# Django's WSGI handler checks the database connection at each request start.
pytestmark = pytest.mark.django_db

STAGE_PREFIX = {"rest_v1": "/dev", "http_api_v2": "/dev", "function_url": "", "alb": ""}


@pytest.fixture(autouse=True)
def test_views(settings):
    settings.ROOT_URLCONF = "tests.support.lambda_urls"
    settings.ALLOWED_HOSTS = [".amazonaws.com", ".on.aws"]


def context():
    deadline = int((time.time() + 30) * 1000)
    return LambdaContext(str(uuid.uuid4()), None, None, deadline)


def http_event(source, path, method="GET", body=None, content_type=None, binary=False):
    """The recorded event of ``source``, pointed at ``path`` with ``method`` and ``body``."""
    event = copy.deepcopy(json.loads((EVENTS / f"{source}.json").read_text()))
    encoded = body is not None and (binary or source == "rest_v1")
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if encoded else body.decode()
        event["isBase64Encoded"] = encoded
    if source in ("http_api_v2", "function_url"):
        event["rawPath"] = STAGE_PREFIX[source] + path
        event["requestContext"]["http"].update(method=method, path=event["rawPath"])
        if content_type:
            event["headers"]["content-type"] = content_type
        return event
    event.update(path=path, httpMethod=method)
    if source == "rest_v1":
        event["requestContext"]["path"] = "/dev" + path
    if content_type:
        name = "Content-Type" if source == "rest_v1" else "content-type"
        event.setdefault("headers", {})[name] = content_type
        event["multiValueHeaders"][name] = [content_type]
    return event


def invoke(event):
    response = handler.lambda_handler(event, context())
    json.dumps(response)  # what Lambda does with it: it must be JSON
    return response


def body_of(response):
    body = response.get("body") or ""
    return base64.b64decode(body) if response["isBase64Encoded"] else body.encode()


def set_cookies(response):
    if "cookies" in response:
        assert "Set-Cookie" not in response["headers"]
        return response["cookies"]
    assert "headers" not in response, "headers + multiValueHeaders: API Gateway sends both"
    return response["multiValueHeaders"]["Set-Cookie"]


def header(response, name):
    if "multiValueHeaders" in response:
        return response["multiValueHeaders"][name][0]
    return response["headers"][name]


def test_init_sets_django_up_and_warms_the_first_page_but_opens_no_aws_client():
    # A fresh interpreter: this one has loaded boto3 for other tests. Init creates the S3
    # storages (boto3 imported: every page's {% static %} would import it) and renders the
    # home page once, but makes no AWS client and calls nothing.
    code = (
        "import importlib, json, sys; importlib.import_module('deploy.lambda.handler');"
        "from django.apps import apps; from apps.core import aws;"
        "print(json.dumps([apps.ready, 'boto3' in sys.modules, len(aws._clients)]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).parent.parent,
        env={"DJANGO_SETTINGS_MODULE": "project.settings.test", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True, 0]
    # The warm-up request went through the access log under its own request id.
    assert '"request_id": "init-warm-up"' in result.stdout


@pytest.mark.parametrize("source", SOURCES)
def test_multi_value_query_cookies_stage_prefix_and_request_id(source):
    lambda_context = context()
    response = handler.lambda_handler(http_event(source, "/lambda-test/echo"), lambda_context)
    assert response["statusCode"] == 200
    seen = json.loads(body_of(response))
    prefix = STAGE_PREFIX[source]
    assert seen["query"] == {"tag": ["a", "b"], "q": ["frogs & toads"]}
    assert seen["cookies"] == {"theme": "dark", "lang": "en"}
    assert seen["path"] == f"{prefix}/lambda-test/echo"
    assert seen["path_info"] == "/lambda-test/echo"
    assert seen["script_name"] == prefix
    assert seen["reversed"] == f"{prefix}/lambda-test/echo"
    assert seen["secure"] is True
    assert seen["request_id"] == lambda_context.aws_request_id


@pytest.mark.parametrize("source", SOURCES)
def test_each_set_cookie_comes_out_once(source):
    response = invoke(http_event(source, "/lambda-test/cookies"))
    cookies = set_cookies(response)
    assert len(cookies) == 2
    assert sorted(SimpleCookie(cookie).popitem()[0] for cookie in cookies) == ["first", "second"]


@pytest.mark.parametrize("source", SOURCES)
def test_redirects_keep_the_stage_prefix(source):
    response = invoke(http_event(source, "/lambda-test/redirect"))
    assert response["statusCode"] == 302
    assert header(response, "Location") == f"{STAGE_PREFIX[source]}/lambda-test/echo"


@pytest.mark.parametrize("source", ["rest_v1", "http_api_v2"])
def test_relative_static_url_gets_the_stage_prefix(source, settings):
    settings.STATIC_URL = "static/"  # relative: Django prefixes SCRIPT_NAME
    seen = json.loads(body_of(invoke(http_event(source, "/lambda-test/echo"))))
    assert seen["static"] == "/dev/static/css/site.css"


@pytest.mark.parametrize("source", SOURCES)
def test_binary_bodies_are_base64_both_ways(source):
    data = bytes(range(256)) * 64
    response = invoke(
        http_event(
            source,
            "/lambda-test/binary",
            method="POST",
            body=data,
            content_type="application/octet-stream",
            binary=True,
        )
    )
    assert response["statusCode"] == 200
    assert response["isBase64Encoded"] is True
    assert base64.b64decode(response["body"]) == data


def test_text_responses_are_not_base64():
    response = invoke(http_event("http_api_v2", "/healthz"))
    assert response["isBase64Encoded"] is False
    assert json.loads(response["body"]) == {"status": "ok"}


@pytest.mark.parametrize("source", SOURCES)
def test_multipart_form_with_a_file(source):
    data = b"\x00\xffphoto bytes" * 1000
    boundary = "----amphibian7MA4YWxkTrZu0gW"
    body = (
        (
            f"--{boundary}\r\nContent-Disposition: form-data; name=title\r\n\r\nA frog\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=photo; "
            'filename="frog.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = invoke(
        http_event(
            source,
            "/lambda-test/upload",
            method="POST",
            body=body,
            content_type=f"multipart/form-data; boundary={boundary}",
            binary=True,
        )
    )
    assert response["statusCode"] == 200, body_of(response)[:500]
    seen = json.loads(body_of(response))
    assert seen["fields"] == {"title": "A frog"}
    assert seen["files"]["photo"]["name"] == "frog.jpg"
    assert seen["files"]["photo"]["sha256"] == hashlib.sha256(data).hexdigest()


def test_alb_answers_with_a_status_description():
    response = invoke(http_event("alb", "/healthz"))
    assert response["statusDescription"] == "200 OK"


def test_alb_without_multi_value_headers_gets_single_headers():
    event = http_event("alb", "/healthz")
    event["headers"] = {
        name: values[-1] for name, values in event.pop("multiValueHeaders").items()
    }
    event["queryStringParameters"] = {}
    event.pop("multiValueQueryStringParameters")
    response = invoke(event)
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"


def test_custom_domain_without_stage_has_no_prefix():
    event = http_event("rest_v1", "/lambda-test/echo")
    event["requestContext"]["path"] = "/lambda-test/echo"
    seen = json.loads(body_of(invoke(event)))
    assert seen["script_name"] == ""
    assert seen["reversed"] == "/lambda-test/echo"


# --- non-HTTP events -------------------------------------------------------------------

S3_CALLS = []


def record_s3_event(event, context):
    """Stands in for the files app's S3 hook: the routing is under test, not the hook."""
    S3_CALLS.append(event["Records"][0]["s3"]["object"]["key"])
    return "handled"


def test_task_payload_runs_the_task():
    key = uuid.uuid4().hex
    event = invocations.task("apps.tasks.tests.sample_tasks.add_and_record", [key, [2, 3]])
    result = invoke(event)
    assert result["status"] == "SUCCESSFUL"
    assert result["return_value"] == 5
    assert IdempotencyKey.objects.filter(key=f"sample:{key}").exists()


def test_schedule_event_runs_the_job():
    old = IdempotencyKey.objects.create(key=f"old:{uuid.uuid4().hex}")
    IdempotencyKey.objects.filter(pk=old.pk).update(created_at=datetime(2000, 1, 1, tzinfo=UTC))
    invoke(invocations.scheduled("purge-idempotency-keys", "amphibian-dev", "us-east-1"))
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


def test_keep_warm_ping_does_nothing():
    event = invocations.scheduled(
        "x", "amphibian-dev", "us-east-1", function="handler.keep_warm_callback"
    )
    assert invoke(event) is None


def test_manage_event_runs_the_command():
    result = invoke(invocations.manage("check --deploy --fail-level CRITICAL"))
    assert "System check identified" in result["output"]


def test_s3_records_go_to_the_mapped_function():
    event = invocations.s3_object_created("media", "uploads/a b.jpg", "amphibian-dev", "us-east-1")
    mapping = {"arn:aws:s3:::media": ["tests.test_lambda_handler.record_s3_event"]}
    package = types.SimpleNamespace(AWS_EVENT_MAPPING=mapping)
    assert events.dispatch(event, context(), package) == "handled"
    assert S3_CALLS[-1] == "uploads/a+b.jpg"


def test_unmapped_records_and_raw_commands_are_refused():
    event = invocations.s3_object_created("other", "k", "amphibian-dev", "us-east-1")
    with pytest.raises(events.UnroutableEvent, match="arn:aws:s3:::other"):
        invoke(event)
    with pytest.raises(events.UnroutableEvent, match="raw_command"):
        invoke({"raw_command": "print(1)"})
    for payload in ("hello", ["a"], 7, None):
        with pytest.raises(events.UnroutableEvent, match="event of type"):
            invoke(payload)


def test_header_names_chosen_by_clients_do_not_grow_the_key_cache():
    apigateway = importlib.import_module("deploy.lambda.apigateway")
    for number in range(1000):
        assert apigateway._environ_key(f"x-probe-{number}") == f"HTTP_X_PROBE_{number}"
    assert len(apigateway._ENVIRON_KEYS) <= 256

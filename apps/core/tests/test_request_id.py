"""Request id: reuse, fallback, echo; one access-log line per request in JSON or console."""

import json
import logging
import types
import uuid

import pytest

from apps.core import request_id
from apps.core.logs import ConsoleFormatter, JSONFormatter, RequestIDFilter


@pytest.mark.parametrize(
    "incoming",
    ["abc-123", "Root=1-67891233-abcdef012345678912345678", "f" * 128, "req_1.2:3"],
)
def test_sane_incoming_id_is_reused_and_echoed(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] == incoming


@pytest.mark.parametrize(
    "incoming",
    ["", "a" * 129, "bad id", "line\nbreak", "<script>", "-leading-dash", "ünïcode"],
)
def test_insane_incoming_id_is_replaced_with_a_uuid(client, incoming):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=incoming)
    assert response["X-Request-ID"] != incoming
    assert uuid.UUID(hex=response["X-Request-ID"])


def test_lambda_request_id_is_used_when_no_header(rf):
    context = types.SimpleNamespace(aws_request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef")
    request = rf.get("/")
    request.META["lambda.context"] = context
    assert request_id.for_request(request) == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    request = rf.get("/", HTTP_X_REQUEST_ID="from-the-edge")
    request.META["lambda.context"] = context
    assert request_id.for_request(request) == "from-the-edge"


def test_each_request_gets_a_fresh_id(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert first != second


def test_one_access_log_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="apps.core.access"):
        response = client.get("/healthz?probe=1", HTTP_X_REQUEST_ID="trace-42")
    records = [r for r in caplog.records if r.name == "apps.core.access"]
    assert len(records) == 1
    record = records[0]
    assert (record.method, record.path, record.status) == ("GET", "/healthz", 200)
    assert record.duration_ms >= 0
    assert record.user_id is None
    assert response["X-Request-ID"] == "trace-42"
    line = json.loads(_format(JSONFormatter(), record, "trace-42"))
    assert line["request_id"] == "trace-42"
    assert line["status"] == 200
    assert line["level"] == "INFO"
    assert line["logger"] == "apps.core.access"
    assert line["message"] == "GET /healthz 200"


def test_access_log_names_the_user_once_the_view_resolved_it(client, django_user_model, caplog):
    user = django_user_model.objects.create_user("ada", password="pw-for-tests-only")
    client.force_login(user)
    with caplog.at_level(logging.INFO, logger="apps.core.access"):
        client.get("/admin/")  # the admin looks at request.user
    records = [r for r in caplog.records if r.name == "apps.core.access"]
    assert records[-1].user_id == user.pk


def test_access_log_does_not_load_the_session_to_find_the_user(client, django_user_model, caplog):
    user = django_user_model.objects.create_user("grace", password="pw-for-tests-only")
    client.force_login(user)
    with caplog.at_level(logging.INFO, logger="apps.core.access"):
        client.get("/healthz")  # never touches request.user
    records = [r for r in caplog.records if r.name == "apps.core.access"]
    assert records[-1].user_id is None


def test_json_formatter_carries_exceptions_as_one_line():
    logger = logging.getLogger("amphibian.test")
    try:
        raise ValueError("boom")
    except ValueError:
        record = logger.makeRecord(
            "amphibian.test", logging.ERROR, __file__, 1, "failed", (), exc_info=True
        )
        import sys

        record.exc_info = sys.exc_info()
    line = _format(JSONFormatter(), record, None)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_console_formatter_is_human_readable():
    record = logging.LogRecord("apps.core.access", logging.INFO, "", 0, "GET / 200", (), None)
    record.status = 200
    line = _format(ConsoleFormatter(), record, "abc")
    assert "INFO" in line
    assert "GET / 200" in line
    assert "status=200" in line
    assert not line.lstrip().startswith("{")


def _format(formatter, record, current_id):
    token = request_id.set(current_id)
    try:
        if hasattr(record, "request_id"):
            del record.request_id
        RequestIDFilter().filter(record)
        return formatter.format(record)
    finally:
        request_id.reset(token)

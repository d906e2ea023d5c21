"""One answer for every dependency that is down: what counts as one (errors.unavailable_cause),
the 503 a browser and an API client get (http.dependency_unavailable), and its log line.
Every endpoint with each dependency down: tests/test_dependency_failures.py."""

import json
import logging

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.test import RequestFactory
from django.utils import translation
from django.utils.functional import SimpleLazyObject

from apps.core import errors, http, request_id
from apps.core.limits import LimitsUnavailable
from apps.core.middleware import DependencyUnavailableMiddleware

rf = RequestFactory()


def test_a_dependency_unavailable_is_its_own_cause():
    error = LimitsUnavailable("DynamoDB update_item on counters: ResourceNotFoundException")
    assert errors.unavailable_cause(error) is error
    assert error.dependency == "rate-limit counters"


@pytest.mark.parametrize("error_class", [OperationalError, InterfaceError])
def test_database_errors_are_the_database_unavailable_in_one_line(error_class):
    cause = errors.unavailable_cause(
        error_class('connection to server at "db" failed: Connection refused\n\tIs it running?')
    )
    assert isinstance(cause, errors.DatabaseUnavailable) and cause.dependency == "database"
    assert str(cause) == (
        f'{error_class.__name__}: connection to server at "db" failed: Connection refused '
        "Is it running?"
    )


def test_an_aws_outage_no_store_wrapped_is_still_named():
    cause = errors.unavailable_cause(EndpointConnectionError(endpoint_url="http://127.0.0.1:9/"))
    assert isinstance(cause, errors.AWSUnavailable)
    assert "http://127.0.0.1:9/" in str(cause)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("a bug"),
        Http404("no such page"),
        ClientError({"Error": {"Code": "ValidationException"}}, "PutItem"),
    ],
    ids=["bug", "404", "bad request to AWS"],
)
def test_anything_else_is_not_an_outage(exc):
    assert errors.unavailable_cause(exc) is None


@pytest.mark.parametrize(
    ("request_", "api"),
    [
        (rf.get("/en/files/"), False),
        (rf.get("/en/", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8"), False),
        (rf.get("/en/files/", HTTP_ACCEPT="application/json"), True),
        (rf.get("/en/files/", HTTP_AUTHORIZATION="Bearer abc"), True),
        (rf.post("/en/files/upload", {}, content_type="application/json"), True),
        (rf.get("/api/files/"), True),
    ],
    ids=["no Accept", "a browser's Accept", "Accept JSON", "Bearer", "JSON body", "the API"],
)
def test_api_clients_are_told_apart_from_browsers(request_, api):
    assert http.wants_json(request_) is api


def _down(path, **extra):
    request = rf.get(path, **extra)
    request.user = SimpleLazyObject(_never_resolved)
    return http.dependency_unavailable(request, LimitsUnavailable("counters: Throttling"))


def _never_resolved():
    raise AssertionError("the 503 resolved the user: that may be what is down")


def test_a_browser_gets_the_sites_page_in_its_language(caplog):
    token = request_id.set("req-down-1")
    try:
        with translation.override("fr"), caplog.at_level(logging.WARNING, "apps.core.http"):
            response = _down("/fr/fichiers/")
    finally:
        request_id.reset(token)
    assert response.status_code == 503
    assert response["Retry-After"] == str(http.RETRY_AFTER_SECONDS)
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    assert 'class="site-header"' in page and "Temporairement indisponible" in page
    assert "Throttling" not in page and "counters" not in page
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "rate-limit counters unavailable: counters: Throttling"
    assert (record.dependency, record.request_id) == ("rate-limit counters", "req-down-1")


def test_an_api_client_gets_json():
    with translation.override("de"):
        response = _down("/api/files/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(http.RETRY_AFTER_SECONDS)
    assert json.loads(response.content) == {
        "error": "temporarily_unavailable",
        "detail": "Ein Dienst, den diese Anfrage braucht, ist gerade nicht erreichbar. Es "
        "wurde nichts geändert; bitte versuchen Sie es gleich noch einmal.",
    }


@pytest.mark.django_db
def test_a_user_the_request_knows_already_stays_in_the_header():
    user = get_user_model().objects.create_user(username="ada", sub="s-1", email="a@x.example")
    request = rf.get("/en/files/")
    request.user = user
    page = http.dependency_unavailable(request, LimitsUnavailable("x")).content.decode()
    assert "a@x.example" in page


def test_the_middleware_answers_outages_and_nothing_else():
    middleware = DependencyUnavailableMiddleware(lambda request: None)
    request = rf.get("/api/files/")
    assert middleware.process_exception(request, ValueError("a bug")) is None
    response = middleware.process_exception(request, OperationalError("server closed"))
    assert response.status_code == 503
    assert isinstance(response.dependency_unavailable, errors.DatabaseUnavailable)

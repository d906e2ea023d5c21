"""HTTP events that cannot be requests get a 400 in their source's shape, never an exception.

A malformed event once raised out of the handler (Lambda answers its caller 502 and logs
a stack trace): a base64 flag on a body that is not base64, a lone surrogate that JSON can
carry and UTF-8 cannot, a field of the wrong type. The parser is tested over mutated
recorded events with a stand-in WSGI application, and the listed cases through Django.
"""

import base64
import copy
import importlib
import json
import time
import uuid
from pathlib import Path

import pytest
from awslambdaric.lambda_context import LambdaContext
from django.urls import set_script_prefix
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

handler = importlib.import_module("deploy.lambda.handler")
apigateway = importlib.import_module("deploy.lambda.apigateway")

EVENTS = Path(__file__).parent / "lambda_events"
SOURCES = ["rest_v1", "http_api_v2", "function_url", "alb"]
RECORDED = {name: json.loads((EVENTS / f"{name}.json").read_text()) for name in SOURCES}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def test_views(settings):
    settings.ROOT_URLCONF = "tests.support.lambda_urls"
    settings.ALLOWED_HOSTS = [".amazonaws.com", ".on.aws"]
    yield
    # Django's WSGI handler leaves the last request's SCRIPT_NAME (/dev) as the thread's
    # prefix for reverse(); the test client never resets it for the tests that follow.
    set_script_prefix("/")


def context():
    return LambdaContext(str(uuid.uuid4()), None, None, int((time.time() + 30) * 1000))


def recorded(source):
    return copy.deepcopy(RECORDED[source])


def invoke(event):
    response = handler.lambda_handler(event, context())
    json.dumps(response)  # what Lambda does with it
    return response


def assert_400_in_its_shape(response, source):
    assert response["statusCode"] == 400, response
    assert response["body"].startswith("Bad request: ")
    if source in ("http_api_v2", "function_url"):
        assert "cookies" in response and "headers" in response
    else:
        assert "multiValueHeaders" in response and "headers" not in response
    if source == "alb":
        assert response["statusDescription"] == "400 Bad Request"


def _set(event, path, value):
    *parents, last = path
    target = event
    for name in parents:
        target = target[name]
    target[last] = value
    return event


# Issue 16, and what else in an event raised; each was an exception out of the handler.
MALFORMED = {
    "isBase64Encoded with a body that is not base64": lambda source: {
        **recorded(source),
        "body": "this is not base64!",
        "isBase64Encoded": True,
    },
    "isBase64Encoded with bad padding": lambda source: {
        **recorded(source),
        "body": "abc",
        "isBase64Encoded": True,
    },
    "isBase64Encoded with non-ASCII": lambda source: {
        **recorded(source),
        "body": "é",
        "isBase64Encoded": True,
    },
    "lone surrogate in the body": lambda source: {
        **recorded(source),
        "body": '{"name": "a\ud800"}',
        "isBase64Encoded": False,
    },
    "body a number": lambda source: {**recorded(source), "body": 12},
    "body an object": lambda source: {**recorded(source), "body": {"a": 1}},
}
V2_MALFORMED = {
    "no requestContext.http.method": lambda e: _set(e, ["requestContext", "http"], {}),
    "requestContext.http a list": lambda e: _set(e, ["requestContext", "http"], ["GET"]),
    "method a number": lambda e: _set(e, ["requestContext", "http", "method"], 1),
    "rawPath a list": lambda e: _set(e, ["rawPath"], ["/"]),
    "lone surrogate in rawPath": lambda e: _set(e, ["rawPath"], "/\udc80"),
    "lone surrogate in rawQueryString": lambda e: _set(e, ["rawQueryString"], "q=\ud800"),
    "stage a number": lambda e: _set(e, ["requestContext", "stage"], 7),
    "headers a list": lambda e: _set(e, ["headers"], ["host"]),
    "header value a number": lambda e: _set(e, ["headers", "accept"], 5),
    "lone surrogate in a header": lambda e: _set(e, ["headers", "user-agent"], "\ud800"),
    "cookies a string": lambda e: _set(e, ["cookies"], "a=b"),
    "a cookie a number": lambda e: _set(e, ["cookies"], ["a=b", 3]),
    "sourceIp an object": lambda e: _set(e, ["requestContext", "http", "sourceIp"], {}),
}
V1_MALFORMED = {
    "httpMethod null": lambda e: _set(e, ["httpMethod"], None),
    "httpMethod a list": lambda e: _set(e, ["httpMethod"], ["GET"]),
    "path a number": lambda e: _set(e, ["path"], 404),
    "multiValueHeaders a list": lambda e: _set(e, ["multiValueHeaders"], [["host", "x"]]),
    "header values a string": lambda e: _set(e, ["multiValueHeaders", "Accept"], "text/html"),
    "header values with a number": lambda e: _set(e, ["multiValueHeaders", "Accept"], [1]),
    "lone surrogate in a query parameter": lambda e: _set(
        e, ["multiValueQueryStringParameters", "q"], ["\udfff"]
    ),
    "query parameter values an object": lambda e: _set(
        e, ["multiValueQueryStringParameters", "q"], {"a": "b"}
    ),
    "identity a string": lambda e: _set(e, ["requestContext", "identity"], "me"),
    "requestContext.path a number": lambda e: _set(e, ["requestContext", "path"], 1),
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_event_is_400(source, name):
    assert_400_in_its_shape(invoke(MALFORMED[name](source)), source)


@pytest.mark.parametrize("source", ["rest_v1", "http_api_v2", "function_url"])
def test_request_context_not_an_object_is_400(source):
    # (An ALB event without its requestContext cannot be told from a REST API one.)
    event = {**recorded(source), "requestContext": "x"}
    assert_400_in_its_shape(invoke(event), source)


@pytest.mark.parametrize("source", ["http_api_v2", "function_url"])
@pytest.mark.parametrize("name", list(V2_MALFORMED))
def test_malformed_v2_event_is_400(source, name):
    assert_400_in_its_shape(invoke(V2_MALFORMED[name](recorded(source))), source)


@pytest.mark.parametrize("name", list(V1_MALFORMED))
def test_malformed_v1_event_is_400(name):
    assert_400_in_its_shape(invoke(V1_MALFORMED[name](recorded("rest_v1"))), "rest_v1")


def test_alb_query_strings_outside_latin_1_reach_the_view():
    # ALB passes the query as the client sent it; Django reads QUERY_STRING as latin-1,
    # so a raw "€" was a UnicodeEncodeError in the view (a 500).
    event = recorded("alb")
    event["multiValueQueryStringParameters"] = {"q": ["€uro"]}
    response = invoke(event)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["query"] == {"q": ["€uro"]}


def test_the_400_names_the_field_and_echoes_nothing():
    event = recorded("http_api_v2")
    event.update(body="<script>alert(1)</script>", isBase64Encoded=True)
    response = invoke(event)
    assert response["body"] == "Bad request: isBase64Encoded, but the body is not base64.\n"
    assert response["headers"]["Content-Type"] == "text/plain; charset=utf-8"


@pytest.mark.parametrize("event", [None, [], "GET /", 7])
def test_an_event_that_is_not_an_object_is_not_http(event):
    assert apigateway.source(event) is None


def test_valid_base64_still_works():
    event = recorded("http_api_v2")
    event.update(body=base64.b64encode(b"\x00\xff").decode(), isBase64Encoded=True)
    assert apigateway.request_body(event) == b"\x00\xff"


# --- property: mutated recorded events, through a stand-in application ------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(categories=["L", "N", "P", "S", "Z", "Cc", "Cs"]), max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value, prefix=()):
    """Every key path in a recorded event: the places a mutation can land."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield (*prefix, name)
            yield from _paths(item, (*prefix, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def _mutate(event, path, value, delete):
    *parents, last = path
    target = event
    for name in parents:
        target = target[name]
    if delete:
        del target[last]
    else:
        target[last] = value


@st.composite
def malformed_events(draw, keep_host=False):
    """A recorded event with one to three values replaced or deleted, maybe a new body.

    ``keep_host`` leaves the Host header alone: hosts are the canonical-host middleware's
    to check, with tests of its own.
    """
    source = draw(st.sampled_from(SOURCES))
    mutated = recorded(source)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [
            path
            for path in _paths(mutated)
            if not (keep_host and any(str(part).lower() == "host" for part in path))
        ]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        _mutate(mutated, path, draw(json_values), delete=draw(st.booleans()))
    if draw(st.booleans()):
        mutated["isBase64Encoded"] = draw(st.booleans())
        mutated["body"] = draw(st.text(max_size=40) | json_values)
    return mutated


def stand_in(environ, start_response):
    """Reads the environ as Django does: every string as latin-1 bytes, the whole body."""
    for value in environ.values():
        if isinstance(value, str):
            value.encode("iso-8859-1")
    environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@settings(max_examples=200, deadline=None)
@given(mutated=malformed_events())
def test_any_mutated_event_is_answered_in_its_shape(mutated):
    kind = apigateway.source(mutated)
    if kind is None:
        return  # no longer HTTP: the non-HTTP router's business
    response = apigateway.handle(stand_in, mutated, context(), kind)
    json.dumps(response)
    assert response["statusCode"] in (200, 400)
    event(f"{kind} {response['statusCode']}")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mutated=malformed_events(keep_host=True))
def test_any_mutated_event_through_django_is_not_a_500(mutated):
    if apigateway.source(mutated) is not None:
        assert invoke(mutated)["statusCode"] < 500

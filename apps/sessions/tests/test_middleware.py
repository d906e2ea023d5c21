"""The engine through the whole Django stack: DynamoDB calls per request, logins, faults."""

import logging
import time

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.test import AsyncClient, Client

from apps.sessions.backends.dynamodb import DATA_ATTRIBUTE, SessionStore
from apps.sessions.tests.table import (
    get_item,
    operations,
    put_item,
    recorded_calls,
    set_stored_expiry,
)
from deploy.tools.harness.loopback import free_port

pytestmark = [pytest.mark.urls("apps.sessions.tests.urls"), pytest.mark.usefixtures("local_aws")]

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
# The views here answer JSON, and their clients say so, as API clients do: a 503 is then
# JSON too (a browser's is the site's page: tests/test_dependency_failures.py).
JSON_HEADERS = {"Accept": "application/json"}


def session_cookie(response):
    return response.cookies.get(settings.SESSION_COOKIE_NAME)


def session_key(client):
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def calls_for(client, path, method="get", **kwargs):
    with recorded_calls() as calls:
        response = getattr(client, method)(path, **kwargs)
    return response, operations(calls)


@pytest.fixture
def client():
    return Client(headers=JSON_HEADERS)


@pytest.fixture
def session_client(client):
    """A test client holding a saved session ``{"count": 1}``."""
    client.get("/write")
    return client


@pytest.fixture
def store_down(settings):
    """AWS clients pointed at a closed loopback port; one attempt and short timeouts."""
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.AWS_CONNECT_TIMEOUT = 0.5
    settings.AWS_READ_TIMEOUT = 0.5
    settings.AWS_MAX_ATTEMPTS = 1
    return settings


@pytest.fixture
def model_backend(settings):
    settings.AUTHENTICATION_BACKENDS = [MODEL_BACKEND]


# --- Calls per request --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/read", "/whoami"])
def test_anonymous_request_without_a_cookie_makes_no_call(client, path):
    response, calls = calls_for(client, path)
    assert response.status_code == 200
    assert calls == []
    assert session_cookie(response) is None


def test_read_only_request_is_exactly_one_getitem(session_client):
    response, calls = calls_for(session_client, "/read")
    assert response.json() == {"session": {"count": 1}}
    assert calls == ["GetItem"]
    assert session_cookie(response) is None


def test_modifying_request_is_one_getitem_and_one_write(session_client):
    response, calls = calls_for(session_client, "/write")
    assert response.json() == {"session": {"count": 2}}
    assert calls == ["GetItem", "PutItem"]
    assert session_cookie(response).value == session_key(session_client)


def test_first_write_of_a_new_session_is_one_conditional_put(client):
    response, calls = calls_for(client, "/write")
    assert calls == ["PutItem"]
    assert get_item(session_cookie(response).value) is not None


def test_unknown_session_cookie_is_read_once_and_nothing_is_written(client):
    client.cookies[settings.SESSION_COOKIE_NAME] = "someunknownkey"
    response, calls = calls_for(client, "/read")
    assert response.json() == {"session": {}}
    assert calls == ["GetItem"]
    # Django's answer to a cookie without a session: delete the cookie.
    assert session_cookie(response)["max-age"] == 0
    assert get_item("someunknownkey") is None


def test_expired_item_is_not_loaded(session_client):
    set_stored_expiry(session_key(session_client), time.time() - 1)
    response, calls = calls_for(session_client, "/read")
    assert response.json() == {"session": {}}
    assert calls == ["GetItem"]


def test_save_every_request_refreshes_only_when_the_fraction_is_reached(session_client, settings):
    settings.SESSION_SAVE_EVERY_REQUEST = True
    _, calls = calls_for(session_client, "/read")
    assert calls == ["GetItem"]

    set_stored_expiry(session_key(session_client), time.time() + settings.SESSION_COOKIE_AGE / 4)
    _, calls = calls_for(session_client, "/read")
    assert calls == ["GetItem", "PutItem"]


def test_asgi_requests_make_the_same_calls(session_client):
    client = AsyncClient()
    client.cookies = session_client.cookies

    async def get(path):
        return await client.get(path, headers=JSON_HEADERS)

    with recorded_calls() as calls:
        response = async_to_sync(get)("/write")
    assert response.json() == {"session": {"count": 2}}
    assert operations(calls) == ["GetItem", "PutItem"]


# --- Integrity ----------------------------------------------------------------------------


def test_tampered_data_is_an_empty_session_and_not_written(session_client, caplog):
    key = session_key(session_client)
    item = get_item(key)
    # Another payload under the original timestamp and signature.
    forged_payload = SessionStore().encode({"count": 1000}).partition(":")[0]
    signed_part = item[DATA_ATTRIBUTE]["S"].partition(":")[2]
    item[DATA_ATTRIBUTE] = {"S": f"{forged_payload}:{signed_part}"}
    put_item(key, item)
    with caplog.at_level(logging.WARNING, logger="django.security.SuspiciousSession"):
        response, calls = calls_for(session_client, "/read")
    assert response.json() == {"session": {}}
    assert calls == ["GetItem"]
    assert "Session data corrupted" in caplog.text


def test_concurrent_logout_is_a_400_and_the_session_stays_deleted(session_client):
    key = session_key(session_client)
    response = session_client.get("/write-after-logout-elsewhere")
    assert response.status_code == 400
    assert session_cookie(response) is None
    assert get_item(key) is None


@pytest.mark.django_db
def test_login_cycles_the_session_key(session_client, django_user_model, model_backend):
    user = django_user_model.objects.create_user(username="alice")
    anonymous_key = session_key(session_client)

    response = session_client.post("/sign-in", {"user": user.pk})

    assert response.status_code == 200
    assert session_key(session_client) != anonymous_key
    assert get_item(anonymous_key) is None
    assert session_client.get("/whoami").json() == {"authenticated": True}
    assert session_client.get("/read").json()["session"]["count"] == 1


@pytest.mark.django_db
def test_logout_deletes_the_item(session_client, django_user_model, model_backend):
    user = django_user_model.objects.create_user(username="bob")
    session_client.post("/sign-in", {"user": user.pk})
    key = session_key(session_client)

    response = session_client.post("/sign-out")

    assert session_cookie(response)["max-age"] == 0
    assert get_item(key) is None
    assert session_client.get("/whoami").json() == {"authenticated": False}


# --- Faults -------------------------------------------------------------------------------


def assert_unavailable(response):
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"] == "temporarily_unavailable"
    assert "no-cache" in response["Cache-Control"]
    assert session_cookie(response) is None


def test_unreachable_store_is_a_503_logged_with_the_request_id(session_client, store_down, caplog):
    with caplog.at_level(logging.WARNING, logger="apps.core.http"):
        response = session_client.get("/read", HTTP_X_REQUEST_ID="req-unreachable-1")
    assert_unavailable(response)
    [record] = [r for r in caplog.records if r.name == "apps.core.http"]
    assert record.levelno == logging.WARNING and record.dependency == "session store"
    assert record.request_id == "req-unreachable-1" == response["X-Request-ID"]
    assert "EndpointConnectionError" in record.getMessage()


def test_missing_table_is_a_503(session_client, settings):
    settings.SESSIONS_TABLE = "missing"
    assert_unavailable(session_client.get("/read"))
    assert_unavailable(session_client.get("/write"))


def test_failed_save_sets_no_cookie_at_all(client, store_down):
    response = client.get("/write-without-reading")
    assert_unavailable(response)
    assert response.cookies == {}


@pytest.mark.django_db
def test_login_whose_session_cannot_be_saved_does_not_log_in(
    client, django_user_model, model_backend, store_down
):
    user = django_user_model.objects.create_user(username="carol")
    response = client.post("/sign-in", {"user": user.pk})
    assert_unavailable(response)
    assert settings.SESSION_COOKIE_NAME not in client.cookies
    assert client.get("/whoami").json() == {"authenticated": False}


def test_view_that_swallows_the_failure_still_answers_503(session_client, store_down):
    assert_unavailable(session_client.get("/read-or-shrug"))


def test_failure_in_a_later_middleware_is_a_503_not_a_500(session_client, store_down, settings):
    position = settings.MIDDLEWARE.index("apps.sessions.middleware.SessionMiddleware") + 1
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE[:position],
        "apps.sessions.tests.views.TouchSessionMiddleware",
        *settings.MIDDLEWARE[position:],
    ]
    # That middleware's exception becomes Django's 500 (reported, as any uncaught one)
    # before SessionMiddleware sees the response; SessionMiddleware replaces it.
    client = Client(raise_request_exception=False, headers=JSON_HEADERS)
    client.cookies = session_client.cookies
    assert_unavailable(client.get("/read"))


def test_asgi_request_with_the_store_down_is_a_503(session_client, store_down):
    client = AsyncClient()
    client.cookies = session_client.cookies

    async def get(path):
        return await client.get(path, headers=JSON_HEADERS)

    assert_unavailable(async_to_sync(get)("/write"))

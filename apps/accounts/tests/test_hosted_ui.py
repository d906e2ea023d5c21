"""The hosted-UI flow (authorization code + PKCE) against a fake token endpoint on loopback."""

import urllib.parse

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages

from apps.accounts.services import SESSION_TOKENS_KEY
from deploy.tools.harness import fake_cognito

pytestmark = pytest.mark.django_db


@pytest.fixture
def hosted_ui(token_settings, test_key):
    with fake_cognito.FakeHostedUI(test_key, client_secret="s3cret-client") as fake:
        token_settings.COGNITO_DOMAIN = fake.url
        token_settings.COGNITO_CLIENT_SECRET = "s3cret-client"
        yield fake


def start_login(client, next_url="/"):
    response = client.get("/accounts/login/", {"next": next_url})
    assert response.status_code == 302
    return response["Location"]


def test_login_redirects_to_authorize_with_pkce_state_and_nonce(client, hosted_ui):
    location = start_login(client)
    parts = urllib.parse.urlsplit(location)
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{hosted_ui.url}/oauth2/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == fake_cognito.CLIENT_ID
    assert query["redirect_uri"] == "http://testserver/accounts/callback/"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    assert "openid" in query["scope"].split()


def test_happy_path_logs_in_with_a_new_session_key(client, hosted_ui):
    location = start_login(client, next_url="/admin/")
    before = client.session.session_key
    code, query = hosted_ui.authorize(location, **{"cognito:groups": ["admins"]})
    response = client.get("/accounts/callback/", {"code": code, "state": query["state"]})
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.session.session_key != before
    assert client.session[SESSION_TOKENS_KEY]["refresh_token"].startswith("refresh-")
    user = get_user_model().objects.get(sub=fake_cognito.claims()["sub"])
    assert user.email == "ada@example.com" and user.is_staff
    [message] = get_messages(response.wsgi_request)
    assert str(message) == "Signed in as ada@example.com. Your files are under “My files”."
    # PKCE verifier and client secret (HTTP Basic) reached the token endpoint.
    assert hosted_ui.token_requests[-1]["code_verifier"]
    assert "client_secret" not in hosted_ui.token_requests[-1]


def test_refresh_token_never_reaches_the_browser(client, hosted_ui):
    location = start_login(client)
    code, query = hosted_ui.authorize(location)
    response = client.get("/accounts/callback/", {"code": code, "state": query["state"]})
    refresh = client.session[SESSION_TOKENS_KEY]["refresh_token"]
    assert refresh not in str(response.cookies)
    assert refresh not in response.content.decode()


def test_state_mismatch_is_refused(client, hosted_ui):
    location = start_login(client)
    code, _ = hosted_ui.authorize(location)
    response = client.get("/accounts/callback/", {"code": code, "state": "forged-state"})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_callback_without_a_login_started_here_is_refused(client, hosted_ui):
    response = client.get("/accounts/callback/", {"code": "abc", "state": "abc"})
    assert response.status_code == 400


def test_a_login_state_left_from_a_hosted_ui_since_removed_is_refused(
    client, hosted_ui, token_settings
):
    location = start_login(client)
    code, query = hosted_ui.authorize(location)
    token_settings.COGNITO_DOMAIN = None  # the form is the sign-in now; the cookie stays
    response = client.get("/accounts/callback/", {"code": code, "state": query["state"]})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_state_is_single_use(client, hosted_ui):
    location = start_login(client)
    code, query = hosted_ui.authorize(location)
    assert (
        client.get("/accounts/callback/", {"code": code, "state": query["state"]}).status_code
        == 302
    )
    client.post("/accounts/logout/")
    replay = client.get("/accounts/callback/", {"code": code, "state": query["state"]})
    assert replay.status_code == 400


def test_nonce_mismatch_is_refused(client, hosted_ui):
    location = start_login(client)
    code, query = hosted_ui.authorize(location, nonce="some-other-login")
    response = client.get("/accounts/callback/", {"code": code, "state": query["state"]})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example.com/",
        "//evil.example.com/",
        "http://testserver.evil.com/",
        "javascript:alert(1)",
    ],
)
def test_open_redirects_in_next_are_ignored(client, hosted_ui, next_url):
    location = start_login(client, next_url=next_url)
    code, query = hosted_ui.authorize(location)
    response = client.get("/accounts/callback/", {"code": code, "state": query["state"]})
    assert response.status_code == 302
    assert response["Location"] == "/en/"


def test_refused_code_is_400(client, hosted_ui):
    location = start_login(client)
    _, query = hosted_ui.authorize(location)
    response = client.get("/accounts/callback/", {"code": "not-issued", "state": query["state"]})
    assert response.status_code == 400


def test_cancelled_login_is_400(client, hosted_ui):
    start_login(client)
    response = client.get("/accounts/callback/", {"error": "access_denied"})
    assert response.status_code == 400


def test_token_endpoint_down_is_503(client, hosted_ui, token_settings):
    location = start_login(client)
    code, query = hosted_ui.authorize(location)
    token_settings.COGNITO_DOMAIN = "http://127.0.0.1:9"
    response = client.get("/accounts/callback/", {"code": code, "state": query["state"]})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_logout_revokes_and_leaves_through_the_hosted_ui(client, hosted_ui):
    location = start_login(client)
    code, query = hosted_ui.authorize(location)
    client.get("/accounts/callback/", {"code": code, "state": query["state"]})
    refresh = client.session[SESSION_TOKENS_KEY]["refresh_token"]
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    target = urllib.parse.urlsplit(response["Location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == f"{hosted_ui.url}/logout"
    assert dict(urllib.parse.parse_qsl(target.query)) == {
        "client_id": fake_cognito.CLIENT_ID,
        "logout_uri": "http://testserver/en/",
    }
    assert hosted_ui.revoked == [refresh]
    assert "_auth_user_id" not in client.session


def test_an_anonymous_login_page_writes_no_session(client, hosted_ui, settings):
    response = client.get("/accounts/login/")
    assert response.status_code == 302
    assert settings.SESSION_COOKIE_NAME not in response.cookies  # no DynamoDB item either
    state = response.cookies["cognito_login"]
    assert state["httponly"] and state["samesite"] == "Lax"
    assert state["path"] == "/accounts/callback/"
    assert int(state["max-age"]) == settings.LOGIN_STATE_MAX_AGE


def test_a_tampered_login_state_cookie_is_refused(client, hosted_ui):
    location = start_login(client)
    code, query = hosted_ui.authorize(location)
    value = client.cookies["cognito_login"].value
    client.cookies["cognito_login"] = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")
    refused = client.get("/accounts/callback/", {"code": code, "state": query["state"]})
    assert refused.status_code == 400

"""Against the local stack's real Cognito: tokens, users and groups, the login form, logout."""

import logging
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.core.cache import cache

from apps.accounts import ratelimit
from apps.accounts.cognito import ensure_user
from apps.accounts.services import SESSION_TOKENS_KEY
from apps.core import aws
from deploy.tools.harness.loopback import free_port

pytestmark = pytest.mark.django_db

PASSWORD = "Correct-Horse-42"


@pytest.fixture
def cognito_user(local_cognito):
    """A fresh user in the local pool (unique email per test)."""
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    ensure_user(aws.client("cognito-idp"), local_cognito.COGNITO_USER_POOL_ID, email, PASSWORD)
    return email


def sign_in(settings, email, password=PASSWORD):
    return aws.client("cognito-idp").initiate_auth(
        ClientId=settings.COGNITO_APP_CLIENT_ID[0],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )["AuthenticationResult"]


def add_to_group(settings, email, group):
    ensure_user(
        aws.client("cognito-idp"), settings.COGNITO_USER_POOL_ID, email, PASSWORD, groups=[group]
    )


def test_real_access_token_authenticates_api_calls(client, local_cognito, cognito_user):
    tokens = sign_in(local_cognito, cognito_user)
    response = client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['AccessToken']}")
    assert response.status_code == 200, response.content
    user = get_user_model().objects.get(sub=response.json()["sub"])
    assert response.json()["username"] == user.username


def test_real_id_token_is_refused_as_bearer_by_default(client, local_cognito, cognito_user):
    tokens = sign_in(local_cognito, cognito_user)
    response = client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['IdToken']}")
    assert response.status_code == 401
    assert 'error_description="wrong_token_use"' in response["WWW-Authenticate"]


def test_groups_sync_and_admin_group_opens_the_admin(client, local_cognito, cognito_user):
    add_to_group(local_cognito, cognito_user, "admins")
    add_to_group(local_cognito, cognito_user, "editors")
    response = client.post(
        "/accounts/login/", {"username": cognito_user, "password": PASSWORD, "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    user = get_user_model().objects.get(email=cognito_user)
    assert user.is_staff and not user.is_superuser
    assert sorted(user.groups.values_list("name", flat=True)) == ["admins", "editors"]
    assert client.get("/admin/").status_code == 200


def test_users_are_keyed_by_sub_not_email(client, local_cognito, cognito_user):
    tokens = sign_in(local_cognito, cognito_user)
    client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['AccessToken']}")
    client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {tokens['AccessToken']}")
    users = get_user_model().objects.exclude(sub=None)
    subs = list(users.values_list("sub", flat=True))
    assert len(subs) == len(set(subs))


def test_login_form_signs_in_and_home_shows_the_user(client, local_cognito, cognito_user):
    anonymous_key = client.get("/accounts/login/") and client.session.session_key
    response = client.post("/accounts/login/", {"username": cognito_user, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/en/"
    assert client.session.session_key != anonymous_key  # cycled at login
    stored = client.session[SESSION_TOKENS_KEY]
    assert stored["refresh_token"] and stored["origin_jti"]
    home = client.get("/en/").content.decode()
    assert cognito_user in home
    assert "Sign out" in home
    me = client.get("/accounts/me/").json()
    assert me["email"] == cognito_user


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Signed in as {}. Your files are under “My files”."),
        ("fr", "Connecté en tant que {}. Vos fichiers sont dans « Mes fichiers »."),
        ("de", "Angemeldet als {}. Ihre Dateien finden Sie unter „Meine Dateien“."),
    ],
)
def test_sign_in_says_who_and_where_the_files_are(
    client, local_cognito, cognito_user, language, text
):
    response = client.post(
        "/accounts/login/",
        {"username": cognito_user, "password": PASSWORD},
        HTTP_ACCEPT_LANGUAGE=language,
    )
    assert response.status_code == 302
    [message] = get_messages(response.wsgi_request)
    assert message.level_tag == "success"
    assert str(message) == text.format(cognito_user)


def test_the_sign_in_message_is_in_the_language_of_the_page_it_lands_on(
    client, local_cognito, cognito_user
):
    # Signed in from a German page by a browser asking for English: the message shows there.
    response = client.post(
        "/accounts/login/",
        {"username": cognito_user, "password": PASSWORD, "next": "/de/files/"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response["Location"] == "/de/files/"
    [message] = get_messages(response.wsgi_request)
    assert str(message).startswith(f"Angemeldet als {cognito_user}.")


# Issue 17: the key set could not be fetched at sign-in, and JWKSUnavailable was a 500.
def test_key_set_unreachable_at_sign_in_is_the_503_page_naming_its_host(
    client, local_cognito, cognito_user, caplog
):
    key_set = f"127.0.0.1:{free_port()}"  # nothing listens there
    local_cognito.COGNITO_JWKS_URL = f"http://{key_set}/{local_cognito.COGNITO_USER_POOL_ID}/jwks"
    with caplog.at_level(logging.WARNING, logger="apps.core.http"):
        response = client.post(
            "/accounts/login/", {"username": cognito_user, "password": PASSWORD}
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert 'class="site-header"' in page and "Temporarily unavailable" in page
    assert key_set not in page  # the page names nothing internal
    [record] = [r for r in caplog.records if r.name == "apps.core.http"]
    assert record.levelno == logging.WARNING
    assert record.dependency == "Cognito key set (JWKS)"
    assert f"no key set fetched from {key_set}: URLError" in record.getMessage()
    assert "_auth_user_id" not in client.session
    assert not list(get_messages(response.wsgi_request))  # no "signed in" either
    # Not a failed attempt: nothing stays counted against the user.
    attempt = ratelimit.Attempt(cognito_user, "127.0.0.1", known_device=False)
    assert not cache.get(attempt.pair) and not cache.get(attempt.per_user)


@pytest.mark.parametrize(
    ("username", "password"),
    [("nobody@example.com", PASSWORD), (None, "Wrong-password-1")],
    ids=["unknown user", "wrong password"],
)
def test_login_failures_share_one_generic_message(
    client, local_cognito, cognito_user, username, password
):
    response = client.post(
        "/accounts/login/", {"username": username or cognito_user, "password": password}
    )
    assert response.status_code == 400
    assert "Incorrect email or password." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_failed_logins_are_rate_limited(client, local_cognito, cognito_user, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post("/accounts/login/", {"username": cognito_user, "password": "Nope-nope-1"})
    response = client.post("/accounts/login/", {"username": cognito_user, "password": PASSWORD})
    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.LOGIN_FAILURE_WINDOW)
    assert "_auth_user_id" not in client.session


def test_invalid_form_is_400_not_500(client, local_cognito):
    response = client.post("/accounts/login/", {"username": "", "password": ""})
    assert response.status_code == 400


def test_logout_ends_session_and_revokes_the_tokens(client, local_cognito, cognito_user):
    client.post("/accounts/login/", {"username": cognito_user, "password": PASSWORD})
    origin = client.session[SESSION_TOKENS_KEY]["origin_jti"]
    # An API token from the same sign-in shares the origin_jti.
    api_tokens = sign_in(local_cognito, cognito_user)
    assert client.get("/accounts/me/").status_code == 200

    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/accounts/me/").status_code == 401
    assert "_auth_user_id" not in client.session
    item = aws.client("dynamodb").get_item(
        TableName=local_cognito.TOKEN_DENYLIST_TABLE, Key={"jti": {"S": origin}}
    )
    assert "Item" in item
    # A token of another sign-in is unaffected.
    other = client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {api_tokens['AccessToken']}")
    assert other.status_code == 200


def test_logout_is_post_only(client, local_cognito):
    assert client.get("/accounts/logout/").status_code == 405


def test_logout_with_denylist_down_keeps_the_session(client, local_cognito, cognito_user):
    client.post("/accounts/login/", {"username": cognito_user, "password": PASSWORD})
    local_cognito.TOKEN_DENYLIST_TABLE = "no-such-table"
    response = client.post("/accounts/logout/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert client.get("/accounts/me/").status_code == 200  # still signed in: nothing half-done


def test_admin_login_goes_to_cognito_login(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_me_without_credentials_is_401(client):
    response = client.get("/accounts/me/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_createuser_command_creates_a_user_who_can_sign_in(local_cognito):
    from django.core.management import call_command

    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    call_command("cognito_createuser", email, password=PASSWORD, groups=["admins"])
    tokens = sign_in(local_cognito, email)
    assert tokens["AccessToken"]

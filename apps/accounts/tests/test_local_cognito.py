"""Against the local stack's real Cognito: tokens, users and groups, the login form, logout."""

import uuid

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.cognito import ensure_user
from apps.accounts.services import SESSION_TOKENS_KEY
from apps.core import aws

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

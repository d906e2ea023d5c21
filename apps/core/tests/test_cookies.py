"""Every cookie the app sets, with the attributes a deployed target gives it.

The cookie settings are the ones base.py (what server and lambda run) says, whatever the
test settings relax; requests come over https, as deployed. A cookie this visit sets and
the table below does not know fails the test: a new cookie needs a row here.
"""

import uuid

import pytest
from django.test import override_settings

from apps.core import aws
from project.settings import base

pytestmark = pytest.mark.django_db

PASSWORD = "Cookie-Jar-42"
YEAR = 60 * 60 * 24 * 7 * 52

# name: (Secure, HttpOnly, SameSite, Max-Age or "" for a browser-session cookie)
EXPECTED = {
    "csrftoken": (True, False, "Lax", YEAR),  # static/js/uploader.js reads it
    "django_language": (True, True, "Lax", 365 * 86400),
    "sessionid": (True, True, "Lax", 60 * 60 * 24 * 7 * 2),
    "messages": (True, True, "Lax", ""),
    "known_device": (True, True, "Lax", 180 * 86400),
}

DEPLOYED_COOKIE_SETTINGS = {name: getattr(base, name) for name in dir(base) if "_COOKIE_" in name}


@pytest.fixture
def deployed_cookies():
    with override_settings(**DEPLOYED_COOKIE_SETTINGS):
        yield


@pytest.fixture
def cognito_user(settings, local_aws):
    """A user of the local stack's pool, signing in with its real tokens."""
    pool_id = local_aws.outputs["COGNITO_USER_POOL_ID"]
    settings.COGNITO_ISSUER = None
    settings.COGNITO_JWKS_URL = f"{local_aws.url}/{pool_id}/.well-known/jwks.json"
    settings.COGNITO_JWKS_FILE = None
    settings.COGNITO_DOMAIN = None
    email = f"cookie-{uuid.uuid4().hex[:8]}@example.com"
    cognito = aws.client("cognito-idp")
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=email,
        UserAttributes=[
            {"Name": "email", "Value": email},
            {"Name": "email_verified", "Value": "true"},
        ],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(
        UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True
    )
    return email


def attributes(morsel):
    return (
        bool(morsel["secure"]),
        bool(morsel["httponly"]),
        morsel["samesite"],
        morsel["max-age"],
    )


def test_every_cookie_the_app_sets_is_secure_and_samesite(client, cognito_user, deployed_cookies):
    https = {"secure": True}
    responses = {
        # Any page with a form.
        "contact page": client.get("/en/contact/", **https),
        # The language switcher.
        "set language": client.post(
            "/i18n/setlang/", {"language": "fr", "next": "/en/about/"}, **https
        ),
        # Signing in: the session, and the browser remembered for the login throttle.
        "sign in": client.post(
            "/accounts/login/", {"username": cognito_user, "password": PASSWORD}, **https
        ),
        # A message for the next page (the messages framework's cookie storage).
        "upload without a file": client.post("/fr/files/upload", {}, **https),
    }
    seen = {}
    for action, response in responses.items():
        assert response.status_code in (200, 302), (action, response.status_code)
        for name, morsel in response.cookies.items():
            if morsel["expires"] == "Thu, 01 Jan 1970 00:00:00 GMT":
                continue  # a deletion
            seen[name] = attributes(morsel)
    assert seen == EXPECTED

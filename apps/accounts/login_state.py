"""The hosted-UI login in flight (state, nonce, PKCE verifier, where to go next), kept in a
short-lived signed cookie rather than the session.

An anonymous visit to the login page then writes nothing to DynamoDB: bots and crawlers
hitting /accounts/login/ cost no session item each. The cookie is signed (not encrypted):
the verifier is only ever in the browser that started the login, HttpOnly, and good for
LOGIN_STATE_MAX_AGE seconds on the callback path only.
"""

from django.conf import settings
from django.core import signing
from django.urls import reverse

COOKIE_NAME = "cognito_login"
SALT = "apps.accounts.login_state"


def remember(response, pending):
    """Put ``pending`` (a dict of strings) on ``response`` for the callback to read."""
    response.set_cookie(
        COOKIE_NAME,
        signing.dumps(pending, salt=SALT, compress=True),
        max_age=settings.LOGIN_STATE_MAX_AGE,
        path=reverse("accounts:callback"),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        # The callback is a top-level GET from Cognito's domain: Lax cookies go with it.
        samesite="Lax",
    )
    return response


def recall(request):
    """The pending login this browser started, or None if absent, tampered with or stale."""
    value = request.COOKIES.get(COOKIE_NAME)
    if not value:
        return None
    try:
        pending = signing.loads(value, salt=SALT, max_age=settings.LOGIN_STATE_MAX_AGE)
    except signing.BadSignature:
        return None
    return pending if isinstance(pending, dict) else None


def forget(response):
    """Remove the cookie: a login state is used once."""
    response.delete_cookie(COOKIE_NAME, path=reverse("accounts:callback"), samesite="Lax")
    return response

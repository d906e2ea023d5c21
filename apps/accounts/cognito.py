"""Talking to Cognito: the hosted UI's OAuth endpoints and the InitiateAuth API.

Raises ``CognitoRejected`` when Cognito says no (bad code, bad password: the user's
problem) and ``CognitoUnavailable`` when it cannot be reached (ours: 503).
"""

import base64
import hashlib
import hmac
import json
import logging
import secrets
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

from apps.accounts import conf
from apps.core import aws
from apps.core.errors import DependencyUnavailable, describe

logger = logging.getLogger(__name__)

OAUTH_TIMEOUT = 5
OAUTH_SCOPES = "openid email profile"


class CognitoRejected(Exception):
    def __init__(self, code, message=""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


class CognitoUnavailable(DependencyUnavailable):
    """Cognito (its API, or the hosted UI's OAuth endpoints) could not be reached (503)."""

    dependency = "Cognito"


# --- hosted UI (authorization code + PKCE) ---------------------------------------------


def new_login_request(redirect_uri):
    """State, nonce and PKCE verifier for one login, plus the authorize URL to send the user to."""
    pending = {
        "state": secrets.token_urlsafe(32),
        "nonce": secrets.token_urlsafe(32),
        "verifier": secrets.token_urlsafe(64),
        "redirect_uri": redirect_uri,
    }
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(pending["verifier"].encode()).digest())
        .rstrip(b"=")
        .decode()
    )
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": _client_id(),
            "redirect_uri": redirect_uri,
            "scope": OAUTH_SCOPES,
            "state": pending["state"],
            "nonce": pending["nonce"],
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return pending, f"{conf.hosted_ui_url()}/oauth2/authorize?{query}"


def exchange_code(code, pending):
    """Trade the authorization code for tokens at ``/oauth2/token``."""
    payload = _post_form(
        "/oauth2/token",
        {
            "grant_type": "authorization_code",
            "client_id": _client_id(),
            "code": code,
            "redirect_uri": pending["redirect_uri"],
            "code_verifier": pending["verifier"],
        },
    )
    try:
        tokens = json.loads(payload)
    except ValueError:
        raise CognitoUnavailable("hosted UI /oauth2/token: the answer is not JSON") from None
    if not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
        raise CognitoRejected("invalid_response", "no id_token in the token response")
    return {
        "IdToken": tokens["id_token"],
        "AccessToken": tokens.get("access_token"),
        "RefreshToken": tokens.get("refresh_token"),
    }


def revoke_refresh_token(refresh_token):
    """Revoke at ``/oauth2/revoke`` (hosted UI) or the RevokeToken API (fallback mode)."""
    if conf.hosted_ui_url():
        _post_form("/oauth2/revoke", {"token": refresh_token, "client_id": _client_id()})
        return
    params = {"Token": refresh_token, "ClientId": _client_id()}
    if settings.COGNITO_CLIENT_SECRET:
        params["ClientSecret"] = settings.COGNITO_CLIENT_SECRET
    _call_api("revoke_token", **params)


def logout_url(logout_uri):
    query = urllib.parse.urlencode({"client_id": _client_id(), "logout_uri": logout_uri})
    return f"{conf.hosted_ui_url()}/logout?{query}"


def _post_form(path, fields):
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if settings.COGNITO_CLIENT_SECRET:
        basic = f"{_client_id()}:{settings.COGNITO_CLIENT_SECRET}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(basic).decode()
    url = conf.hosted_ui_url() + path
    request = urllib.request.Request(  # noqa: S310 - the hosted UI URL is a setting
        url,
        data=urllib.parse.urlencode(fields).encode(),
        headers=headers,
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=OAUTH_TIMEOUT) as response:  # noqa: S310
            return response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        if 400 <= exc.code < 500:
            raise CognitoRejected(_oauth_error(exc), f"HTTP {exc.code} from {path}") from None
        raise CognitoUnavailable(f"hosted UI {url}: HTTP {exc.code}") from None
    except OSError as exc:
        raise CognitoUnavailable(f"hosted UI {url}: {describe(exc)}") from None


def _oauth_error(exc):
    try:
        return str(json.loads(exc.read(4096)).get("error", "invalid_request"))
    except (ValueError, AttributeError, OSError):
        return "invalid_request"


# --- InitiateAuth (local stack, and pools without a hosted UI) ---------------------------


def password_login(username, password):
    """USER_PASSWORD_AUTH; returns the AuthenticationResult (IdToken, AccessToken, ...)."""
    parameters = {"USERNAME": username, "PASSWORD": password}
    if settings.COGNITO_CLIENT_SECRET:
        parameters["SECRET_HASH"] = secret_hash(username)
    response = _call_api(
        "initiate_auth",
        ClientId=_client_id(),
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters=parameters,
    )
    if "AuthenticationResult" not in response:
        # A challenge (new password, MFA) this form does not handle.
        raise CognitoRejected(response.get("ChallengeName", "challenge"))
    return response["AuthenticationResult"]


def secret_hash(username):
    digest = hmac.new(
        settings.COGNITO_CLIENT_SECRET.encode(),
        (username + _client_id()).encode(),
        hashlib.sha256,
    ).digest()
    return base64.b64encode(digest).decode()


def _call_api(operation, **params):
    client = aws.client("cognito-idp")
    try:
        with aws.unavailable_as(
            CognitoUnavailable, lambda exc: f"cognito-idp {operation}: {describe(exc)}"
        ):
            return getattr(client, operation)(**params)
    except CognitoUnavailable:
        raise
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code")
        if code:
            raise CognitoRejected(code, str(exc)) from exc
        raise


def _client_id():
    """The first accepted app client is the one this site signs users in with."""
    return settings.COGNITO_APP_CLIENT_ID[0]


# --- user pool administration (manage.py cognito_createuser, the local stack) -----------


def ensure_group(cognito, pool_id, group):
    try:
        cognito.get_group(GroupName=group, UserPoolId=pool_id)
    except cognito.exceptions.ResourceNotFoundException:
        cognito.create_group(GroupName=group, UserPoolId=pool_id)


def ensure_user(cognito, pool_id, email, password, groups=()):
    """A confirmed user with a permanent password, member of ``groups``."""
    try:
        cognito.admin_get_user(UserPoolId=pool_id, Username=email)
    except cognito.exceptions.UserNotFoundException:
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
            UserPoolId=pool_id, Username=email, Password=password, Permanent=True
        )
    for group in groups:
        ensure_group(cognito, pool_id, group)
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)

"""Signed claims of the wrong type or size: a 401 (TokenError), never an exception, and
never a value that overflows a User column.

A signature proves who wrote a token, not that its values are sane: the claims here are
signed with the pool's (test) key, so only the claim checks stand between them and the
code that uses them.
"""

import json
import math
import time
import uuid

import jwt
import pytest
from django.contrib.auth import authenticate, get_user_model
from django.db import models
from django.test import Client
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from apps.accounts import tokens
from apps.accounts.tokens import TokenError, verify_token
from deploy.tools.harness import fake_cognito

pytestmark = pytest.mark.django_db

NOW = int(time.time())


def _sign(key, claims):
    """Signed as written: PyJWT's encode() refuses some wrong types itself, and json.dumps
    writes NaN and Infinity as JavaScript does."""
    payload = json.dumps(claims).encode()
    return jwt.PyJWS().encode(payload, key.private, "RS256", headers={"kid": key.kid})


def _bearer(client, key, claims):
    return client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {_sign(key, claims)}")


# Issue 16: each of these was a 500 (an exception out of the middleware) or was accepted.
WRONG_TYPES: dict[str, dict[str, object]] = {
    "client_id as a list": {"client_id": [fake_cognito.CLIENT_ID]},
    "client_id as an object": {"client_id": {"id": fake_cognito.CLIENT_ID}},
    "exp Infinity": {"exp": math.inf},
    "exp NaN": {"exp": math.nan},
    "exp beyond year 9999": {"exp": 10**20},
    "iat NaN": {"iat": math.nan},
    "nbf NaN": {"nbf": math.nan},
    "iat negative infinity": {"iat": -math.inf},
    "auth_time NaN": {"auth_time": math.nan},
    "auth_time a string": {"auth_time": "yesterday"},
    "cognito:groups a number": {"cognito:groups": 7},
    "cognito:groups a string": {"cognito:groups": "admins"},
    "cognito:groups with a number": {"cognito:groups": ["editors", 3]},
    "cognito:groups with a long name": {"cognito:groups": ["g" * 200]},
    "token_use a list": {"token_use": ["access"]},
    "iss a list": {"iss": [fake_cognito.ISSUER]},
    "sub a number": {"sub": 12345},
    "sub longer than its column": {"sub": "s" * 129},
    "sub with a NUL": {"sub": "7d8ca528\x00"},
    "sub with a lone surrogate": {"sub": "7d8ca528\ud800"},
    "username a list": {"username": ["ada"]},
    "username null": {"username": None},
    "email a number": {"email": 42},
    "given_name null": {"given_name": None},
    "jti too long for the deny-list": {"jti": "j" * 3000},
}


@pytest.mark.parametrize("name", list(WRONG_TYPES))
def test_signed_claim_of_the_wrong_type_is_401(name, token_settings, bearer_client, test_key):
    claims = {**fake_cognito.claims(), **WRONG_TYPES[name]}
    response = _bearer(bearer_client, test_key, claims)
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "detail": "malformed"}
    assert not get_user_model().objects.exists()


def test_nan_auth_time_does_not_pass_the_age_limit(token_settings, test_key):
    token_settings.COGNITO_MAX_TOKEN_AGE = 3600
    with pytest.raises(TokenError, match="malformed"):
        verify_token(
            _sign(test_key, fake_cognito.claims(auth_time=math.nan)), token_uses=("access",)
        )


def test_sub_bound_is_the_user_column():
    assert tokens.STRING_CLAIMS["sub"] == get_user_model()._meta.get_field("sub").max_length


def _login_with_id_token(key, **claims):
    return authenticate(None, id_token=_sign(key, fake_cognito.claims("id", **claims)))


def test_over_long_username_falls_back_to_the_sub(token_settings, test_key):
    user = _login_with_id_token(test_key, **{"cognito:username": "u" * 151})
    assert user.username == user.sub


def test_username_that_nfkc_lengthens_past_the_column_falls_back_to_the_sub(
    token_settings, test_key
):
    # U+FDFA is one character and eighteen after NFKC, which create_user applies.
    user = _login_with_id_token(test_key, **{"cognito:username": "\ufdfa" * 10})
    assert user.username == user.sub


def test_someone_elses_sub_as_username_does_not_lock_them_out(token_settings, test_key):
    victim_sub = str(uuid.uuid4())
    squatter = _login_with_id_token(
        test_key, sub=str(uuid.uuid4()), **{"cognito:username": victim_sub}
    )
    assert squatter.username == victim_sub
    # The victim's username is taken, and so is their sub as a username: once a 500.
    victim = _login_with_id_token(test_key, sub=victim_sub, **{"cognito:username": victim_sub})
    assert victim.sub == victim_sub and victim.pk != squatter.pk
    assert victim.username.startswith("user-")


def test_over_long_email_is_left_out_and_names_are_shortened(token_settings, test_key):
    email = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"  # 309 characters
    user = _login_with_id_token(
        test_key, email=email, given_name="G" * 500, family_name="F" * 2048
    )
    assert user.email == ""
    assert user.first_name == "G" * 150 and user.last_name == "F" * 150


# --- property: any claims, signed -------------------------------------------------------

CLAIM_NAMES = [
    *tokens.REQUIRED_CLAIMS,
    *tokens.TIME_CLAIMS,
    *tokens.STRING_CLAIMS,
    "aud",
    "cognito:groups",
    "scope",
]
# Hypothesis leaves out lone surrogates unless asked; JSON escapes carry them.
any_text = st.text(st.characters(categories=["L", "N", "P", "S", "Z", "Cc", "Cs"]), max_size=20)
# Mostly the right type for some claim, so that examples get past the first check.
plausible = (
    st.integers(min_value=NOW - 10**6, max_value=NOW + 10**6)
    | st.floats(min_value=NOW - 10**6, max_value=NOW + 10**6)
    | st.text(min_size=1, max_size=40)
    | st.text(min_size=120, max_size=300)
    | st.lists(st.text(max_size=10) | st.text(min_size=100, max_size=200), max_size=3)
    | st.sampled_from([fake_cognito.CLIENT_ID, fake_cognito.ISSUER, "access", "id"])
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)
overrides = st.dictionaries(
    st.sampled_from(CLAIM_NAMES) | st.text(max_size=8),
    plausible | plausible | json_values,
    max_size=3,
)


@pytest.fixture
def claims_settings(token_settings):
    token_settings.COGNITO_BEARER_TOKEN_USES = ["access", "id"]
    # Each example would ask the local DynamoDB; the jti's type and size are checked before.
    token_settings.COGNITO_CHECK_REVOCATION = False
    return token_settings


@pytest.fixture
def bearer_client():
    """One client for all examples: each new one loads the middleware (whitenoise's scan)."""
    return Client(raise_request_exception=True)


def _fits_its_columns(user):
    for field in user._meta.concrete_fields:
        value = getattr(user, field.attname)
        if isinstance(field, models.CharField) and isinstance(value, str):
            assert field.max_length is None or len(value) <= field.max_length, field.name


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    token_use=st.sampled_from(["access", "id"]),
    changes=overrides,
    dropped=st.sets(st.sampled_from(CLAIM_NAMES), max_size=1),
)
def test_any_signed_claims_verify_or_are_refused(
    claims_settings, bearer_client, test_key, token_use, changes, dropped
):
    claims = {**fake_cognito.claims(token_use), **changes}
    for name in dropped:
        claims.pop(name, None)
    token = _sign(test_key, claims)
    try:
        verified = verify_token(token, token_uses=("access", "id"))
    except TokenError as exc:
        verified = None
        event(exc.reason)  # --hypothesis-show-statistics shows how far examples get
    else:
        assert isinstance(verified, dict)
        event("verified")
    # The rest of the way: the middleware, the user it creates and the groups it syncs.
    response = bearer_client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == (401 if verified is None else 200), response.content
    if verified is not None:
        _fits_its_columns(get_user_model().objects.get(sub=verified["sub"]))

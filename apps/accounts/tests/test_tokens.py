"""Token verification: the attack suite through the middleware, and the rules one by one."""

import hashlib
import hmac
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from apps.accounts import revocation
from apps.accounts.tokens import TokenError, verify_token
from deploy.tools.harness import fake_cognito

pytestmark = pytest.mark.django_db

NOW = int(time.time())


def _b64(data):
    return jwt.utils.base64url_encode(data).decode()


def _alg_none(key):
    header = _b64(b'{"alg":"none","kid":"test-key-1","typ":"JWT"}')
    payload = _b64(jwt.api_jws.json.dumps(fake_cognito.claims()).encode())
    return f"{header}.{payload}."


def _hs256_with_public_key(key):
    pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # PyJWT refuses PEM keys for HMAC, which is the point; forge the signature by hand.
    header = _b64(b'{"alg":"HS256","kid":"test-key-1","typ":"JWT"}')
    payload = _b64(jwt.api_jws.json.dumps(fake_cognito.claims()).encode())
    signature = hmac.new(pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def _tampered(key):
    token = key.sign(fake_cognito.claims())
    header, _, signature = token.split(".")
    forged = _b64(jwt.api_jws.json.dumps(fake_cognito.claims(sub="someone-else")).encode())
    return f"{header}.{forged}.{signature}"


def _altered_signature(key):
    header, payload, signature = key.sign(fake_cognito.claims()).split(".")
    middle = len(signature) // 2
    flipped = "B" if signature[middle] == "A" else "A"
    return f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"


def _other_key_same_kid(key):
    return fake_cognito.SigningKey(key.kid).sign(fake_cognito.claims())


def _revoked(claim):
    def build(key):
        value = str(uuid.uuid4())
        revocation.revoke(value, time.time() + 600)
        return key.sign(fake_cognito.claims(**{claim: value}))

    return build


ATTACKS = {
    "alg none": (_alg_none, "unsupported_algorithm"),
    "HS256 signed with the public key": (_hs256_with_public_key, "unsupported_algorithm"),
    "RS512": (lambda k: k.sign(fake_cognito.claims(), algorithm="RS512"), "unsupported_algorithm"),
    "unknown kid": (
        lambda k: k.sign(fake_cognito.claims(), headers={"kid": "nope"}),
        "unknown_key",
    ),
    "no kid": (
        lambda k: jwt.encode(fake_cognito.claims(), k.private, algorithm="RS256"),
        "unknown_key",
    ),
    "wrong issuer": (
        lambda k: k.sign(fake_cognito.claims(iss="https://evil.example.com/us-east-1_TestPool1")),
        "wrong_issuer",
    ),
    "issuer prefix": (
        lambda k: k.sign(fake_cognito.claims(iss=fake_cognito.ISSUER[:-1])),
        "wrong_issuer",
    ),
    "issuer suffix": (
        lambda k: k.sign(fake_cognito.claims(iss=fake_cognito.ISSUER + "2")),
        "wrong_issuer",
    ),
    "issuer trailing slash": (
        lambda k: k.sign(fake_cognito.claims(iss=fake_cognito.ISSUER + "/")),
        "wrong_issuer",
    ),
    "ID token used as access token": (
        lambda k: k.sign(fake_cognito.claims("id")),
        "wrong_token_use",
    ),
    "refresh token_use": (
        lambda k: k.sign(fake_cognito.claims(token_use="refresh")),
        "wrong_token_use",
    ),
    "access token of another app client": (
        lambda k: k.sign(fake_cognito.claims(client_id=fake_cognito.OTHER_CLIENT_ID)),
        "wrong_audience",
    ),
    "access token with an aud": (
        lambda k: k.sign(fake_cognito.claims(aud=fake_cognito.CLIENT_ID)),
        "wrong_audience",
    ),
    "expired": (lambda k: k.sign(fake_cognito.claims(exp=NOW - 120)), "expired"),
    "iat in the future beyond leeway": (
        lambda k: k.sign(fake_cognito.claims(iat=NOW + 600)),
        "not_yet_valid",
    ),
    "missing sub": (lambda k: k.sign(fake_cognito.claims(sub=None)), "missing_claim"),
    "empty sub": (lambda k: k.sign(fake_cognito.claims(sub="")), "missing_claim"),
    "missing exp": (lambda k: k.sign(fake_cognito.claims(exp=None)), "missing_claim"),
    "missing iat": (lambda k: k.sign(fake_cognito.claims(iat=None)), "missing_claim"),
    "missing token_use": (lambda k: k.sign(fake_cognito.claims(token_use=None)), "missing_claim"),
    "missing iss": (lambda k: k.sign(fake_cognito.claims(iss=None)), "missing_claim"),
    "exp not a number": (lambda k: k.sign(fake_cognito.claims(exp="tomorrow")), "malformed"),
    "iat a boolean": (lambda k: k.sign(fake_cognito.claims(iat=True)), "malformed"),
    "nbf in the future": (lambda k: k.sign(fake_cognito.claims(nbf=NOW + 600)), "not_yet_valid"),
    "jti not a string": (lambda k: k.sign(fake_cognito.claims(jti=["a", "b"])), "malformed"),
    "payload not an object": (
        lambda k: jwt.PyJWS().encode(b"[1, 2]", k.private, "RS256", headers={"kid": k.kid}),
        "malformed",
    ),
    "tampered payload": (_tampered, "bad_signature"),
    "signed by another key with the same kid": (_other_key_same_kid, "bad_signature"),
    "truncated": (lambda k: k.sign(fake_cognito.claims())[:400], "malformed"),
    "signature altered": (_altered_signature, "bad_signature"),
    "two segments": (
        lambda k: ".".join(k.sign(fake_cognito.claims()).split(".")[:2]),
        "malformed",
    ),
    "5 KB garbage": (lambda k: "x" * 5120, "malformed"),
    "garbage with dots": (lambda k: "a.b.c", "malformed"),
    "too long": (lambda k: "a." + "b" * 9000 + ".c", "malformed"),
    "non-ASCII": (lambda k: k.sign(fake_cognito.claims()) + "é", "malformed"),
    "empty bearer": (lambda k: "", "malformed"),
    "revoked origin_jti": (_revoked("origin_jti"), "revoked"),
    "revoked jti": (_revoked("jti"), "revoked"),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_gets_401_with_reason(name, client, token_settings, test_key):
    build, reason = ATTACKS[name]
    token = build(test_key)
    response = client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        f'Bearer realm="api", error="invalid_token", error_description="{reason}"'
    )
    assert response.json() == {"error": "invalid_token", "detail": reason}


def test_at_least_25_attacks():
    assert len(ATTACKS) >= 25


def test_valid_access_token_authenticates_without_a_session(client, token_settings, test_key):
    token = test_key.sign(fake_cognito.claims(**{"cognito:groups": ["editors"]}))
    response = client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sub"] == fake_cognito.claims()["sub"]
    assert body["groups"] == ["editors"]
    assert "sessionid" not in response.cookies


def test_bearer_requests_skip_csrf(client, token_settings, test_key):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    token = test_key.sign(fake_cognito.claims())
    response = csrf_client.post("/accounts/logout/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 302  # not 403: no cookie, nothing to forge
    assert csrf_client.post("/accounts/logout/").status_code == 403


def test_other_authorization_schemes_are_left_alone(client, token_settings):
    response = client.get("/accounts/me/", HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_id_token_rules(token_settings, test_key):
    good = test_key.sign(fake_cognito.claims("id"))
    assert verify_token(good, token_uses=("id",))["aud"] == fake_cognito.CLIENT_ID
    for bad, reason in [
        (fake_cognito.claims("id", aud=fake_cognito.OTHER_CLIENT_ID), "wrong_audience"),
        (fake_cognito.claims("id", aud=[fake_cognito.CLIENT_ID]), "wrong_audience"),
        (fake_cognito.claims("id", aud=None), "wrong_audience"),
        (fake_cognito.claims("access"), "wrong_token_use"),
    ]:
        with pytest.raises(TokenError) as caught:
            verify_token(test_key.sign(bad), token_uses=("id",))
        assert caught.value.reason == reason


def test_nonce_must_match(token_settings, test_key):
    token = test_key.sign(fake_cognito.claims("id", nonce="n-1"))
    assert verify_token(token, token_uses=("id",), nonce="n-1")
    with pytest.raises(TokenError, match="bad_nonce"):
        verify_token(token, token_uses=("id",), nonce="n-2")


def test_leeway_accepts_small_clock_skew(token_settings, test_key):
    expired_just_now = test_key.sign(fake_cognito.claims(exp=int(time.time()) - 10))
    issued_just_ahead = test_key.sign(fake_cognito.claims(iat=int(time.time()) + 10))
    assert verify_token(expired_just_now, token_uses=("access",))
    assert verify_token(issued_just_ahead, token_uses=("access",))
    token_settings.COGNITO_LEEWAY = 0
    with pytest.raises(TokenError, match="expired"):
        verify_token(expired_just_now, token_uses=("access",))
    with pytest.raises(TokenError, match="not_yet_valid"):
        verify_token(issued_just_ahead, token_uses=("access",))


def test_max_token_age_uses_auth_time(token_settings, test_key):
    token_settings.COGNITO_MAX_TOKEN_AGE = 3600
    fresh = test_key.sign(fake_cognito.claims(auth_time=NOW - 60))
    stale = test_key.sign(fake_cognito.claims(auth_time=NOW - 7200))
    assert verify_token(fresh, token_uses=("access",))
    with pytest.raises(TokenError, match="too_old"):
        verify_token(stale, token_uses=("access",))


def test_several_accepted_clients(token_settings, test_key):
    token_settings.COGNITO_APP_CLIENT_ID = [fake_cognito.OTHER_CLIENT_ID, fake_cognito.CLIENT_ID]
    assert verify_token(test_key.sign(fake_cognito.claims()), token_uses=("access",))


def test_configurable_token_uses_for_bearer(client, token_settings, test_key):
    token_settings.COGNITO_BEARER_TOKEN_USES = ["access", "id"]
    token = test_key.sign(fake_cognito.claims("id"))
    assert client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200

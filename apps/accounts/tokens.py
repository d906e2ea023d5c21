"""Verify Cognito JSON Web Tokens: signature, issuer, audience/client, use, time, revocation.

No request objects here: the middleware, the login flow and the authentication backend
all call ``verify_token``. Every rejection raises ``TokenError`` with a short machine
reason that goes into the 401 (RFC 6750 ``error_description``) and the logs.
"""

import hmac
import json
import time

import jwt
from django.conf import settings

from apps.accounts import conf, revocation
from apps.accounts.jwks import jwks_cache
from apps.accounts.rsa import RS256

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "token_use", "sub")
MAX_TOKEN_LENGTH = 8192  # Cognito tokens are 1-2 KB even with many groups


class TokenError(Exception):
    """The token is not acceptable; ``reason`` says why in a word or two."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


# PyJWS parses the compact form and calls our RS256 (the only algorithm it knows);
# the claims are checked below, where every rule of a Cognito token is in one place.
_JWS = jwt.PyJWS(algorithms=[])
_JWS.register_algorithm(ALGORITHM, RS256())


def verify_token(token, *, token_uses, nonce=None):
    """Return the claims of ``token`` if it is a valid Cognito token of one of ``token_uses``.

    ``token_uses`` is a collection of ``"access"`` and/or ``"id"``. ``nonce``, when given,
    must match the ID token's ``nonce`` (the login flow's replay protection).
    """
    header = _header(token)
    key = jwks_cache().get_key(header["kid"])
    if key is None:
        raise TokenError("unknown_key", "no key with this kid in the pool's key set")
    try:
        payload = _JWS.decode(token, key, algorithms=[ALGORITHM])
    except jwt.InvalidSignatureError:
        raise TokenError("bad_signature", "the signature does not match the key") from None
    except jwt.InvalidTokenError as exc:
        raise TokenError("malformed", str(exc)) from None
    claims = _claims(payload)
    leeway = settings.COGNITO_LEEWAY
    _check_time_and_issuer(claims, leeway)
    _check_use_and_audience(claims, token_uses)
    _check_age(claims, leeway)
    if nonce is not None and not hmac.compare_digest(
        str(claims.get("nonce", "")).encode(), nonce.encode()
    ):
        raise TokenError("bad_nonce", "the ID token's nonce is not this login's")
    if settings.COGNITO_CHECK_REVOCATION and revocation.is_revoked(
        claims.get("jti"), claims.get("origin_jti")
    ):
        raise TokenError("revoked", "the token was revoked (signed out)")
    return claims


def _header(token):
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("malformed", "not a token of a plausible size")
    if not token.isascii() or token.count(".") != 2:
        raise TokenError("malformed", "not a compact JWS")
    try:
        header = _JWS.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise TokenError("malformed", str(exc)) from None
    if header.get("alg") != ALGORITHM:
        raise TokenError("unsupported_algorithm", f"alg {header.get('alg')!r}, not RS256")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise TokenError("unknown_key", "no kid in the header")
    return header


def _claims(payload):
    try:
        claims = json.loads(payload)
    except ValueError:
        raise TokenError("malformed", "the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise TokenError("malformed", "the payload is not a JSON object")
    for name in REQUIRED_CLAIMS:
        if claims.get(name) is None:
            raise TokenError("missing_claim", f"no {name} claim")
    # The deny-list looks these up as strings; another type must not skip the lookup.
    for name in ("jti", "origin_jti"):
        if not isinstance(claims.get(name, ""), str):
            raise TokenError("malformed", f"{name} is not a string")
    return claims


def _check_time_and_issuer(claims, leeway):
    now = time.time()
    exp, iat, nbf = (_number(claims, name) for name in ("exp", "iat", "nbf"))
    if exp <= now - leeway:
        raise TokenError("expired", "the token has expired")
    if iat > now + leeway or (nbf is not None and nbf > now + leeway):
        raise TokenError("not_yet_valid", "issued in the future")
    # Exact match: a prefix, suffix or trailing slash names some other issuer.
    if claims["iss"] != conf.issuer():
        raise TokenError("wrong_issuer", "not this user pool's issuer")


def _number(claims, name):
    value = claims.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise TokenError("malformed", f"{name} is not a number")
    return value


def _check_use_and_audience(claims, token_uses):
    use = claims["token_use"]
    if use not in token_uses:
        raise TokenError("wrong_token_use", f"{use!r} token where {'/'.join(token_uses)} expected")
    allowed = conf.client_ids()
    if use == "id":
        audience = claims.get("aud")
        if not isinstance(audience, str) or audience not in allowed:
            raise TokenError("wrong_audience", "ID token for another app client")
    elif use == "access":
        # Cognito access tokens carry client_id and no aud; an aud means some other token.
        if "aud" in claims:
            raise TokenError("wrong_audience", "access token with an aud claim")
        if claims.get("client_id") not in allowed:
            raise TokenError("wrong_audience", "access token of another app client")
    else:
        raise TokenError("wrong_token_use", f"unknown token_use {use!r}")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise TokenError("missing_claim", "empty sub")


def _check_age(claims, leeway):
    max_age = settings.COGNITO_MAX_TOKEN_AGE
    if not max_age:
        return
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float):
        raise TokenError("missing_claim", "auth_time is required when a maximum age is set")
    if time.time() - auth_time > max_age + leeway:
        raise TokenError("too_old", "signed in too long ago; sign in again")

"""Verify Cognito JSON Web Tokens: signature, issuer, audience/client, use, time, revocation.

No request objects here: the middleware, the login flow and the authentication backend
all call ``verify_token``. Every rejection raises ``TokenError`` with a short machine
reason that goes into the 401 (RFC 6750 ``error_description``) and the logs. The claims
the code reads are type-checked first, so a signed but odd value (NaN, a list where a
string belongs) is a rejection too, never an exception further on.
"""

import hmac
import time

import jwt
from django.conf import settings

from apps.accounts import conf, revocation
from apps.accounts.jwks import jwks_cache
from apps.accounts.rsa import RS256
from apps.core.http import InvalidInput, parse_json

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "token_use", "sub")
MAX_TOKEN_LENGTH = 8192  # Cognito tokens are 1-2 KB even with many groups
# Seconds since the epoch, up to the end of year 9999 (what datetime can hold).
TIME_CLAIMS = ("exp", "iat", "nbf", "auth_time")
MAX_TIMESTAMP = 253402300799
# The string claims read here or by services, and their longest acceptable length:
# Cognito's own limits (attribute values 2048, group names 128; Group.name holds 150),
# 256 for the jti (a deny-list key: DynamoDB keys stop at 2048 bytes, UTF-8 takes up to
# four a character), and User.sub's column for the sub, the one value that cannot be
# shortened. services.py fits the profile claims into their columns.
MAX_CLAIM_LENGTH = 2048
STRING_CLAIMS = {
    "iss": MAX_CLAIM_LENGTH,
    "sub": 128,  # User.sub's max_length (test_claims_types checks they agree)
    "token_use": MAX_CLAIM_LENGTH,
    "client_id": MAX_CLAIM_LENGTH,
    "username": MAX_CLAIM_LENGTH,
    "cognito:username": MAX_CLAIM_LENGTH,
    "email": MAX_CLAIM_LENGTH,
    "given_name": MAX_CLAIM_LENGTH,
    "family_name": MAX_CLAIM_LENGTH,
    "nonce": MAX_CLAIM_LENGTH,
    "jti": 256,
    "origin_jti": 256,
}
MAX_GROUP_LENGTH = 128


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
        claims.get("nonce", "").encode(), nonce.encode()
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
        claims = parse_json(payload)
    except InvalidInput as exc:
        raise TokenError("malformed", f"the payload: {exc}") from None
    if not isinstance(claims, dict):
        raise TokenError("malformed", "the payload is not a JSON object")
    for name in REQUIRED_CLAIMS:
        if claims.get(name) is None:
            raise TokenError("missing_claim", f"no {name} claim")
    # A claim that is present has its type, whether or not this token needs it: the
    # deny-list must not skip a jti that is a list, nor a comparison pass a NaN.
    for name in TIME_CLAIMS:
        if name in claims and not _is_time(claims[name]):
            raise TokenError("malformed", f"{name} is not a time in seconds")
    for name, limit in STRING_CLAIMS.items():
        if name in claims and not _is_string(claims[name], limit):
            raise TokenError("malformed", f"{name} is not a string of at most {limit} characters")
    groups = claims.get("cognito:groups", [])
    if not isinstance(groups, list) or not all(_is_string(g, MAX_GROUP_LENGTH) for g in groups):
        raise TokenError("malformed", "cognito:groups is not a list of group names")
    return claims


def _is_time(value):
    # bool is an int; parse_json has refused NaN and the infinities, which fail here too.
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and 0 <= value <= MAX_TIMESTAMP
    )


def _is_string(value, limit):
    return isinstance(value, str) and len(value) <= limit


def _check_time_and_issuer(claims, leeway):
    now = time.time()
    exp, iat, nbf = (claims.get(name) for name in ("exp", "iat", "nbf"))
    if exp <= now - leeway:
        raise TokenError("expired", "the token has expired")
    if iat > now + leeway or (nbf is not None and nbf > now + leeway):
        raise TokenError("not_yet_valid", "issued in the future")
    # Exact match: a prefix, suffix or trailing slash names some other issuer.
    if claims["iss"] != conf.issuer():
        raise TokenError("wrong_issuer", "not this user pool's issuer")


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
    if not claims["sub"]:
        raise TokenError("missing_claim", "empty sub")


def _check_age(claims, leeway):
    max_age = settings.COGNITO_MAX_TOKEN_AGE
    if not max_age:
        return
    auth_time = claims.get("auth_time")
    if auth_time is None:
        raise TokenError("missing_claim", "auth_time is required when a maximum age is set")
    if time.time() - auth_time > max_age + leeway:
        raise TokenError("too_old", "signed in too long ago; sign in again")

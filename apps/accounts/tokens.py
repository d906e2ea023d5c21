"""Verify Cognito JSON Web Tokens: signature, issuer, audience/client, use, time, revocation.

No request objects here: the middleware, the login flow and the authentication backend
all call ``verify_token``. Every rejection raises ``TokenError`` with a short machine
reason that goes into the 401 (RFC 6750 ``error_description``) and the logs.
"""

import hmac
import time

import jwt
from django.conf import settings

from apps.accounts import conf, revocation
from apps.accounts.jwks import jwks_cache

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ("exp", "iat", "iss", "token_use", "sub")
MAX_TOKEN_LENGTH = 8192  # Cognito tokens are 1-2 KB even with many groups


class TokenError(Exception):
    """The token is not acceptable; ``reason`` says why in a word or two."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


_PYJWT_REASONS = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidAlgorithmError, "unsupported_algorithm"),
    (jwt.InvalidIssuedAtError, "bad_issued_at"),
)


def verify_token(token, *, token_uses, nonce=None):
    """Return the claims of ``token`` if it is a valid Cognito token of one of ``token_uses``.

    ``token_uses`` is a collection of ``"access"`` and/or ``"id"``. ``nonce``, when given,
    must match the ID token's ``nonce`` (the login flow's replay protection).
    """
    header = _header(token)
    key = jwks_cache().get_key(header["kid"])
    if key is None:
        raise TokenError("unknown_key", "no key with this kid in the pool's key set")
    leeway = settings.COGNITO_LEEWAY
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=conf.issuer(),
            leeway=leeway,
            options={"require": list(REQUIRED_CLAIMS), "verify_aud": False},
        )
    except jwt.InvalidTokenError as exc:
        for error_type, reason in _PYJWT_REASONS:
            if isinstance(exc, error_type):
                raise TokenError(reason, str(exc)) from None
        raise TokenError("malformed", str(exc)) from None

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
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        raise TokenError("malformed", str(exc)) from None
    if header.get("alg") != ALGORITHM:
        raise TokenError("unsupported_algorithm", f"alg {header.get('alg')!r}, not RS256")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise TokenError("unknown_key", "no kid in the header")
    return header


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

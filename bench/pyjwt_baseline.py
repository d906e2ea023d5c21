"""The usual alternative to ``apps.accounts.tokens.verify_token``, as a benchmark baseline.

PyJWT's ``jwt.decode`` with cryptography-backed RSA keys and the same claim checks for an
access token. Nothing of ours is imported here, so a cold import of this module costs
exactly what the alternative would cost a Lambda cold start (bench/jwt_bench.py times it).
"""

import json

import jwt
from jwt.algorithms import RSAAlgorithm

# The same as apps.accounts.tokens.REQUIRED_CLAIMS (bench/jwt_bench.py checks it).
REQUIRED_CLAIMS = ("exp", "iat", "iss", "token_use", "sub")


def keys_from_jwks(document):
    """``{kid: RSAPublicKey}`` for the keys of a JWKS document (str or bytes)."""
    return {jwk["kid"]: RSAAlgorithm.from_jwk(jwk) for jwk in json.loads(document)["keys"]}


def verify(token, keys, *, issuer, client_ids, leeway=30):
    """The claims of an access token for ``client_ids``; raises jwt.InvalidTokenError."""
    header = jwt.get_unverified_header(token)
    if header.get("alg") != "RS256" or header.get("kid") not in keys:
        raise jwt.InvalidTokenError("not RS256, or an unknown kid")
    claims = jwt.decode(
        token,
        keys[header["kid"]],
        algorithms=["RS256"],
        issuer=issuer,
        leeway=leeway,
        options={"require": list(REQUIRED_CLAIMS), "verify_aud": False},
    )
    use = claims["token_use"]
    if use != "access" or "aud" in claims:
        raise jwt.InvalidTokenError("not an access token")
    if claims.get("client_id") not in client_ids or not claims["sub"]:
        raise jwt.InvalidTokenError("another app client's token, or no subject")
    return claims

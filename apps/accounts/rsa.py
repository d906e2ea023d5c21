"""RS256 verification (RSASSA-PKCS1-v1_5 with SHA-256) for public keys, in plain Python.

Cognito signs and we only ever verify: a public-key operation on public data, a few lines
of integer arithmetic. Doing it here keeps the cryptography wheel (4.7 MiB of a 21 MiB
Lambda package, and its import on the first authenticated request) out of the function.
The check is RFC 8017 section 8.2.2's: rebuild the one valid encoding of the message's
hash and compare whole blocks. Nothing in the decrypted block is parsed, which is where
PKCS#1 v1.5 signature forgeries come from.
"""

import base64
import functools
import hashlib
import hmac
import json
from dataclasses import dataclass

from jwt.algorithms import Algorithm
from jwt.exceptions import InvalidKeyError

MIN_KEY_BITS = 2048  # Cognito's keys are 2048-bit; anything smaller is refused
# DER of DigestInfo{sha256, NULL} before the 32-byte hash (RFC 8017 section 9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class RSAPublicKey:
    n: int
    e: int

    @property
    def size(self):
        """The modulus length in bytes: every signature is exactly this long."""
        return (self.n.bit_length() + 7) // 8

    @classmethod
    def from_jwk(cls, jwk):
        """The key of an RSA JWK (RFC 7518 section 6.3); ValueError if unusable."""
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            raise ValueError("not an RSA JWK")
        if not is_verification_key(jwk):
            raise ValueError("not a signature verification key (use, key_ops)")
        if any(name in jwk for name in ("d", "p", "q", "dp", "dq", "qi")):
            raise ValueError("private key parameters in a published key set")
        n, e = _uint(jwk.get("n"), "n"), _uint(jwk.get("e"), "e")
        if n.bit_length() < MIN_KEY_BITS:
            raise ValueError(f"{n.bit_length()}-bit modulus, at least {MIN_KEY_BITS} needed")
        if e < 3 or e % 2 == 0 or e >= n:
            raise ValueError("invalid public exponent")
        return cls(n, e)


def is_verification_key(jwk):
    """Whether a JWK may verify signatures: ``use`` (RFC 7517 section 4.2), when present,
    is ``"sig"``, and ``key_ops`` (section 4.3), when present, lists ``"verify"``."""
    key_ops = jwk.get("key_ops", ["verify"])
    return jwk.get("use", "sig") == "sig" and isinstance(key_ops, list) and "verify" in key_ops


# Cached: an API client sends the same access token with every request for its hour, and
# the arithmetic (~0.15 ms) is the whole cost; the inputs are the key, so a hit is exact.
@functools.lru_cache(maxsize=256)
def verify(key, message, signature):
    """Whether ``signature`` is ``key``'s RS256 signature of ``message`` (bytes)."""
    size = key.size
    if len(signature) != size:
        return False
    value = int.from_bytes(signature, "big")
    if value >= key.n:
        return False
    block = pow(value, key.e, key.n).to_bytes(size, "big")
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(block, expected)


def _uint(value, name):
    # Base64url without padding, as JWKs write integers (RFC 7518 section 2).
    if not isinstance(value, str) or not value or not _BASE64URL.issuperset(value):
        raise ValueError(f"{name} is not a base64url integer")
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    return int.from_bytes(raw, "big")


class RS256(Algorithm):
    """``verify`` behind PyJWT's algorithm interface, so PyJWS parses the token around it."""

    def prepare_key(self, key):
        if not isinstance(key, RSAPublicKey):
            raise InvalidKeyError("RS256 verification needs an RSAPublicKey")
        return key

    def sign(self, msg, key):
        raise NotImplementedError("verification only: Cognito signs the tokens")

    def verify(self, msg, key, sig):
        return verify(key, msg, sig)

    @staticmethod
    def to_jwk(key_obj, as_dict=False):
        raise NotImplementedError("keys come from Cognito's JWKS, never the other way")

    @staticmethod
    def from_jwk(jwk):
        return RSAPublicKey.from_jwk(json.loads(jwk) if isinstance(jwk, str) else jwk)

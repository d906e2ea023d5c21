"""Our RS256 check against cryptography's, and against the known ways to forge PKCS#1 v1.5."""

import base64
import hashlib
import json
import random

import jwt
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from apps.accounts.rsa import SHA256_DIGEST_INFO, RSAPublicKey, verify

SHA1_DIGEST_INFO = bytes.fromhex("3021300906052b0e03021a05000414")


def _public(private_key):
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return RSAPublicKey.from_jwk(jwk)


def _raw_sign(private_key, block):
    """The RSA private operation on an encoded block of our choosing (a forger's tool)."""
    numbers = private_key.private_numbers()
    n = numbers.public_numbers.n
    value = pow(int.from_bytes(block, "big"), numbers.d, n)
    return value.to_bytes((n.bit_length() + 7) // 8, "big")


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize("bits", [2048, 3072, 4096])
def test_agrees_with_cryptography_on_genuine_and_damaged_signatures(bits):
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    public = _public(private_key)
    chance = random.Random(bits)  # noqa: S311 - reproducible inputs, not secrets
    for _ in range(40):
        message = chance.randbytes(chance.randrange(0, 2000))
        signature = private_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        assert verify(public, message, signature)
        damaged = bytearray(signature)
        damaged[chance.randrange(len(damaged))] ^= 1 << chance.randrange(8)
        for candidate_message, candidate in [
            (message + b"x", signature),
            (message, bytes(damaged)),
            (message, chance.randbytes(len(signature))),
        ]:
            try:
                private_key.public_key().verify(
                    candidate, candidate_message, padding.PKCS1v15(), hashes.SHA256()
                )
                theirs = True
            except InvalidSignature:
                theirs = False
            assert verify(public, candidate_message, candidate) is theirs is False


def _block(size, digest_info, *, marker=b"\x00\x01", filler=b"\xff", tail=b""):
    body = marker + filler * (size - len(digest_info) - len(tail) - 3) + b"\x00"
    return body + digest_info + tail


def test_only_the_one_valid_encoding_is_accepted(key):
    public = _public(key)
    size = public.size
    message = b"header.payload"
    sha256 = SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    assert verify(public, message, _raw_sign(key, _block(size, sha256)))
    forgeries = {
        "SHA-1 DigestInfo with a correct SHA-1 hash": _block(
            size,
            SHA1_DIGEST_INFO + hashlib.sha1(message).digest(),  # noqa: S324 - forging
        ),
        "bare hash without DigestInfo": _block(size, hashlib.sha256(message).digest()),
        "block type 2 (encryption padding)": _block(size, sha256, marker=b"\x00\x02"),
        "zero padding instead of 0xff": _block(size, sha256, filler=b"\x00"),
        "garbage after the hash": _block(size, sha256, tail=b"\x13\x37"),
        "short padding, garbage at the end": (
            b"\x00\x01" + b"\xff" * 8 + b"\x00" + sha256 + b"\x42" * (size - len(sha256) - 11)
        ),
    }
    for name, block in forgeries.items():
        assert len(block) == size, name
        assert not verify(public, message, _raw_sign(key, block)), name


def test_signature_length_and_range_are_strict(key):
    public = _public(key)
    message = b"m"
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    value = int.from_bytes(signature, "big")
    assert verify(public, message, signature)
    assert not verify(public, message, signature[1:])
    assert not verify(public, message, b"\x00" + signature)
    # s + n is congruent to s: a lenient check that reduces first would accept it.
    too_big = (value + public.n).to_bytes(public.size + 1, "big")
    assert not verify(public, message, too_big)
    assert not verify(public, message, public.n.to_bytes(public.size, "big"))
    assert not verify(public, message, b"")


def _icbrt(value):
    low, high = 0, 1 << (value.bit_length() // 3 + 2)
    while low < high:
        middle = (low + high + 1) // 2
        if middle**3 <= value:
            low = middle
        else:
            high = middle - 1
    return low


def test_bleichenbacher_e3_forgery_is_refused():
    # With e=3, a parser that stops after the hash accepts a cube root of a block that has
    # the right prefix and garbage after it: a signature made without the private key.
    private_key = rsa.generate_private_key(public_exponent=3, key_size=2048)
    public = _public(private_key)
    message = b"forged.token"
    prefix = b"\x00\x01\xff\x00" + SHA256_DIGEST_INFO + hashlib.sha256(message).digest()
    garbage_bits = (public.size - len(prefix)) * 8
    target = int.from_bytes(prefix, "big") << garbage_bits
    root = _icbrt(target + (1 << garbage_bits) - 1)
    forged = root.to_bytes(public.size, "big")
    block = pow(root, 3, public.n).to_bytes(public.size, "big")
    assert block.startswith(prefix)  # the forgery is real for a lenient verifier
    assert not verify(public, message, forged)


def _jwk(**fields):
    return {"kty": "RSA", "n": _b64int(1 << 2047 | 1), "e": "AQAB", **fields}


def _b64int(value):
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "jwk",
    [
        _jwk(kty="EC"),
        _jwk(n=_b64int(1 << 1023 | 1)),  # 1024-bit
        _jwk(e=_b64int(65536)),
        _jwk(e=_b64int(1)),
        _jwk(n=None),
        _jwk(n=""),
        _jwk(n="not/base64+"),
        _jwk(e="AQAB=="),
        _jwk(d="AQAB"),
        _jwk(use="enc"),
        _jwk(use=["sig"]),
        _jwk(key_ops=["encrypt", "wrapKey"]),
        _jwk(key_ops=["sign"]),
        _jwk(key_ops="verify"),
        _jwk(key_ops=[]),
        "not a dict",
    ],
)
def test_unusable_jwks_are_refused(jwk):
    with pytest.raises(ValueError):
        RSAPublicKey.from_jwk(jwk)


@pytest.mark.parametrize("fields", [{}, {"use": "sig"}, {"key_ops": ["verify"]}])
def test_verification_keys_may_say_so(fields):
    assert RSAPublicKey.from_jwk(_jwk(**fields)).e == 65537


def test_jwk_integers_round_trip(key):
    public = _public(key)
    numbers = key.public_key().public_numbers()
    assert (public.n, public.e) == (numbers.n, numbers.e)
    assert public.size == 256


def test_a_repeated_signature_is_checked_once(key):
    public = _public(key)
    message = b"the same token, request after request"
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    verify.cache_clear()
    assert all(verify(public, message, signature) for _ in range(5))
    assert verify.cache_info().misses == 1
    # The cache keys on every input: a different message is checked, and fails.
    assert not verify(public, message + b"!", signature)
    assert verify.cache_info().misses == 2

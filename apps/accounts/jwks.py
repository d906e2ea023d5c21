"""The Cognito key set, fetched rarely and shared by every request of the process.

Keys are kept until a token names a ``kid`` the cache does not know (Cognito rotated its
keys, or someone is probing). Then the cache refetches, at most once per cooldown however
many requests ask, and only one of them does the fetch while the others wait for it. A
failed fetch keeps the old keys. A JWKS file can pre-seed the cache so that a Lambda cold
start verifies its first token without any network call.
"""

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

from apps.accounts.conf import jwks_url
from apps.accounts.rsa import RSAPublicKey, is_verification_key
from apps.core.errors import DependencyUnavailable, describe
from apps.core.http import parse_json

logger = logging.getLogger(__name__)

MAX_JWKS_BYTES = 64 * 1024


class JWKSUnavailable(DependencyUnavailable):
    """No key set could be fetched and none was cached: a dependency is down, not the token."""

    dependency = "Cognito key set (JWKS)"


class JWKSCache:
    def __init__(self, url, *, cooldown=30.0, timeout=3.0, seed_file=None):
        self.url = url
        self.cooldown = cooldown
        self.timeout = timeout
        self.seed_file = seed_file
        self.fetches = 0
        self._keys = None  # kid -> RSAPublicKey; None until seeded or fetched
        self._seeded = False
        self._last_fetch = None
        self._last_error = None  # why the last fetch failed, for JWKSUnavailable
        self._lock = threading.Lock()

    def get_key(self, kid):
        """The RS256 key for ``kid``, or None if the pool has no such key.

        Raises JWKSUnavailable when there are no keys at all and the fetch failed.
        """
        if not self._seeded:
            self._seed()
        keys = self._keys
        if keys is not None and kid in keys:
            return keys[kid]
        self._refresh()
        if self._keys is None:
            # Where (host and port: what an outage is about, without any userinfo) and why.
            host = urllib.parse.urlsplit(self.url).netloc.rpartition("@")[2]
            raise JWKSUnavailable(f"no key set fetched from {host}: {self._last_error}")
        return self._keys.get(kid)

    def forget_timers(self):
        """Keep the keys, forget when they were last fetched and how often: after a SnapStart
        restore the monotonic clock of the snapshot means nothing, and each restored copy is
        a new instance with its own cooldown and count."""
        with self._lock:
            self._last_fetch = None
            self._last_error = None
            self.fetches = 0

    def _seed(self):
        with self._lock:
            if self._seeded:
                return
            if self.seed_file:
                try:
                    with open(self.seed_file, "rb") as file:
                        self._keys = _parse(file.read(MAX_JWKS_BYTES + 1))
                except (OSError, ValueError) as exc:
                    logger.error(
                        "JWKS file %s unusable, fetching instead: %r", self.seed_file, exc
                    )
            # Only now: a thread that saw it set earlier would find no keys and fetch them.
            self._seeded = True

    def _refresh(self):
        with self._lock:
            now = time.monotonic()
            if self._last_fetch is not None and now - self._last_fetch < self.cooldown:
                return
            self._last_fetch = now
            self.fetches += 1
            try:
                self._keys = _parse(self._fetch())
            except (OSError, ValueError) as exc:
                self._last_error = describe(exc)
                if self._keys is not None:
                    # Without keys the request fails with JWKSUnavailable, which says this.
                    logger.warning(
                        "JWKS fetch from %s failed, keeping cached keys: %r", self.url, exc
                    )

    def _fetch(self):
        request = urllib.request.Request(  # noqa: S310 - the URL is a setting, never from a token
            self.url, headers={"Accept": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
            return response.read(MAX_JWKS_BYTES + 1)


def _parse(raw):
    """``{kid: RSAPublicKey}`` for the RS256 signing keys of a JWKS document.

    ValueError (InvalidInput is one) if it is not a JWKS document.
    """
    if len(raw) > MAX_JWKS_BYTES:
        raise ValueError("JWKS document too large")
    document = parse_json(raw)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document")
    keys = {}
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("kty") != "RSA":
            continue
        if not isinstance(jwk.get("kid"), str) or not jwk["kid"]:
            continue
        if not is_verification_key(jwk) or jwk.get("alg", "RS256") != "RS256":
            continue
        try:
            keys[jwk["kid"]] = RSAPublicKey.from_jwk(jwk)
        except ValueError as exc:
            logger.warning("skipping unusable JWK %r: %s", jwk.get("kid"), exc)
    return keys


_caches: dict[tuple, JWKSCache] = {}
_caches_lock = threading.Lock()


def warm():
    """Seed the configured cache from COGNITO_JWKS_FILE now (init), not on the first token;
    never fetches. Returns the number of keys it holds (0 without a file)."""
    if not settings.COGNITO_JWKS_FILE:
        return 0
    cache = jwks_cache()
    cache._seed()
    return len(cache._keys or ())


def forget_timers():
    """``JWKSCache.forget_timers`` on every cache of this process."""
    with _caches_lock:
        caches = list(_caches.values())
    for cache in caches:
        cache.forget_timers()


def jwks_cache():
    """The process-wide cache for the configured key set (one per configuration)."""
    url = jwks_url()
    key = (
        url,
        settings.COGNITO_JWKS_FILE,
        settings.COGNITO_JWKS_COOLDOWN,
        settings.COGNITO_JWKS_TIMEOUT,
    )
    cache = _caches.get(key)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(
                key,
                JWKSCache(
                    url,
                    seed_file=settings.COGNITO_JWKS_FILE,
                    cooldown=settings.COGNITO_JWKS_COOLDOWN,
                    timeout=settings.COGNITO_JWKS_TIMEOUT,
                ),
            )
    return cache

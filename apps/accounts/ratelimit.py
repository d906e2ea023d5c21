"""Password-login throttling that a stranger cannot turn into a lock-out.

Every attempt is counted before Cognito sees it (``apps.core.limits``: atomic, so parallel
guesses cannot all slip under a limit), on three counters of one window:

- per (username, client address): LOGIN_FAILURE_LIMIT, then 429: guessing one account
  from one place;
- per client address: LOGIN_CLIENT_FAILURE_LIMIT, then 429: one place trying many accounts;
- per username: LOGIN_USERNAME_FAILURE_LIMIT across all places (a botnet on one account).
  Past it the account is slowed, never locked: one attempt per LOGIN_USERNAME_SLOWDOWN
  seconds, and a browser that signed in as that user before (the signed ``known device``
  cookie, OWASP's device-cookie pattern) is not counted or slowed at all.

A success takes the attempt back from the client and username counts and clears the pair;
an attempt Cognito could not answer is taken back everywhere.
"""

import hashlib
import logging

from django.conf import settings
from django.core import signing

from apps.core import limits

logger = logging.getLogger(__name__)

DEVICE_COOKIE_SALT = "apps.accounts.ratelimit.known-device"


class Throttled(Exception):
    """Too many attempts; ``retry_after`` is how many seconds to wait."""

    def __init__(self, retry_after):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class Attempt:
    """One counted attempt; settle it with ``succeeded`` or ``abandoned`` (a failure stays)."""

    def __init__(self, username, address, known_device):
        self.window = settings.LOGIN_FAILURE_WINDOW
        self.user = _normalise(username)
        self.pair = limits.key("login-pair", self.user, address) if address else None
        self.client = limits.key("login-client", address) if address else None
        self.per_user = None if known_device else limits.key("login-user", self.user)
        self.counted = []

    def start(self):
        # With no client address (a misconfigured proxy chain) only the per-username
        # slowdown applies: a per-username lock would be the lock-out this module prevents.
        if self.pair and self._count(self.pair) > settings.LOGIN_FAILURE_LIMIT:
            raise Throttled(self.window)
        if self.client and self._count(self.client) > settings.LOGIN_CLIENT_FAILURE_LIMIT:
            raise Throttled(self.window)
        if self.per_user and self._count(self.per_user) > settings.LOGIN_USERNAME_FAILURE_LIMIT:
            slowdown = settings.LOGIN_USERNAME_SLOWDOWN
            if limits.hit(limits.key("login-user-slot", self.user), slowdown) > 1:
                raise Throttled(slowdown)
        return self

    def _count(self, counter):
        count = limits.hit(counter, self.window)
        self.counted.append(counter)
        return count

    def succeeded(self):
        """The password was right: it was no failure."""
        self._settle(undo=[c for c in self.counted if c != self.pair], reset=[self.pair])

    def abandoned(self):
        """Nobody checked the password (Cognito was down): it was no attempt."""
        self._settle(undo=self.counted, reset=[])

    def _settle(self, undo, reset):
        try:
            for counter in undo:
                limits.undo(counter, self.window)
            for counter in reset:
                if counter:
                    limits.reset(counter, self.window)
        except limits.LimitsUnavailable as exc:
            # The attempt itself is over; a count left high only makes its limit stricter.
            logger.warning("login counters not settled: %s", exc)


def attempt(username, address, *, known_device=False):
    """Count a password attempt for ``username`` from ``address`` (None if unknown).

    Raises Throttled, or limits.LimitsUnavailable if the counters cannot be reached.
    """
    return Attempt(username, address, known_device).start()


def _normalise(username):
    return username.strip().lower()


def _device_digest(username):
    return hashlib.sha256(_normalise(username).encode()).hexdigest()[:32]


def device_cookie(username):
    """The signed value that marks this browser as one ``username`` signed in from."""
    return signing.dumps(_device_digest(username), salt=DEVICE_COOKIE_SALT, compress=False)


def is_known_device(request, username):
    """True if the request carries a valid known-device cookie for ``username``."""
    value = request.COOKIES.get(settings.LOGIN_DEVICE_COOKIE_NAME)
    if not value:
        return False
    try:
        digest = signing.loads(
            value, salt=DEVICE_COOKIE_SALT, max_age=settings.LOGIN_DEVICE_COOKIE_AGE
        )
    except signing.BadSignature:
        return False
    return digest == _device_digest(username)


def remember_device(response, username):
    """Set the known-device cookie on ``response`` (after a successful sign-in)."""
    response.set_cookie(
        settings.LOGIN_DEVICE_COOKIE_NAME,
        device_cookie(username),
        max_age=settings.LOGIN_DEVICE_COOKIE_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response

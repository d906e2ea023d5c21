"""Password-login throttling: a stranger cannot lock a user out, parallel guesses cannot pass
the limit, an account under a distributed attack is slowed, not locked (issue 16, 2 and 3)."""

import concurrent.futures
import uuid

import pytest
from django.core.cache import cache
from django.test import Client

from apps.accounts import ratelimit
from apps.accounts.cognito import ensure_user
from apps.core import aws

PASSWORD = "Correct-Horse-42"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.RATE_LIMIT_BACKEND = "cache"
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_CLIENT_FAILURE_LIMIT = 6
    settings.LOGIN_USERNAME_FAILURE_LIMIT = 8
    settings.LOGIN_USERNAME_SLOWDOWN = 30
    cache.clear()
    return settings


def user():
    return f"user-{uuid.uuid4().hex[:8]}@example.com"


def fail(username, address, **kwargs):
    ratelimit.attempt(username, address, **kwargs)  # a failure: nothing to settle


def test_the_pair_limit_locks_only_that_pair(limits):
    victim = user()
    for _ in range(3):
        fail(victim, "203.0.113.1")
    with pytest.raises(ratelimit.Throttled) as raised:
        ratelimit.attempt(victim, "203.0.113.1")
    assert raised.value.retry_after == limits.LOGIN_FAILURE_WINDOW
    ratelimit.attempt(victim, "198.51.100.7").succeeded()  # the user, elsewhere


def test_one_client_trying_many_accounts_is_stopped(limits):
    for _ in range(6):
        fail(user(), "203.0.113.2")
    with pytest.raises(ratelimit.Throttled):
        ratelimit.attempt(user(), "203.0.113.2")


def test_a_distributed_attack_slows_the_account_but_never_locks_it(limits):
    victim = user()
    for n in range(8):
        fail(victim, f"203.0.113.{10 + n}")
    # Past the ceiling: one attempt per slowdown interval, from anywhere.
    ratelimit.attempt(victim, "203.0.113.50")
    with pytest.raises(ratelimit.Throttled) as raised:
        ratelimit.attempt(victim, "203.0.113.51")
    assert raised.value.retry_after == limits.LOGIN_USERNAME_SLOWDOWN
    # A browser that signed in as the victim before is neither counted nor slowed.
    for _ in range(3):
        ratelimit.attempt(victim, "198.51.100.7", known_device=True).succeeded()


def test_no_client_address_slows_rather_than_locks(limits):
    victim = user()
    for _ in range(8):
        fail(victim, None)  # no pair or client counter: those would lock the account
    ratelimit.attempt(victim, None)
    with pytest.raises(ratelimit.Throttled):
        ratelimit.attempt(victim, None)


def test_success_and_abandoned_attempts_are_taken_back(limits):
    victim = user()
    for _ in range(2):
        fail(victim, "203.0.113.3")
    ratelimit.attempt(victim, "203.0.113.3").succeeded()  # clears the pair
    for _ in range(3):
        ratelimit.attempt(victim, "203.0.113.3").abandoned()  # Cognito was down
    for _ in range(3):
        fail(victim, "203.0.113.3")
    with pytest.raises(ratelimit.Throttled):
        ratelimit.attempt(victim, "203.0.113.3")


def test_parallel_attempts_never_pass_the_limit(limits):
    victim = user()

    def one(_):
        try:
            ratelimit.attempt(victim, "203.0.113.4")
        except ratelimit.Throttled:
            return "throttled"
        return "passed"

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(one, range(40)))
    assert outcomes.count("passed") == limits.LOGIN_FAILURE_LIMIT


def test_the_known_device_cookie_is_signed_and_bound_to_the_user(rf, limits):
    victim = user()
    request = rf.get("/", HTTP_COOKIE=f"known_device={ratelimit.device_cookie(victim)}")
    assert ratelimit.is_known_device(request, victim)
    assert ratelimit.is_known_device(request, victim.upper())
    assert not ratelimit.is_known_device(request, user())
    forged = rf.get("/", HTTP_COOKIE="known_device=abc:def")
    assert not ratelimit.is_known_device(forged, victim)


@pytest.mark.django_db
def test_the_right_password_from_elsewhere_works_during_a_lock_out_attempt(local_cognito, limits):
    victim = user()
    ensure_user(aws.client("cognito-idp"), local_cognito.COGNITO_USER_POOL_ID, victim, PASSWORD)
    stranger = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(5):
        stranger.post("/accounts/login/", {"username": victim, "password": "Nope-nope-1"})
    refused = stranger.post("/accounts/login/", {"username": victim, "password": PASSWORD})
    assert refused.status_code == 429
    owner = Client(REMOTE_ADDR="198.51.100.7")
    signed_in = owner.post("/accounts/login/", {"username": victim, "password": PASSWORD})
    assert signed_in.status_code == 302
    device = signed_in.cookies["known_device"]
    assert device["httponly"] and device["samesite"] == "Lax"

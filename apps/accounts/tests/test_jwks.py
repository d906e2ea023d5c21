"""The JWKS cache against a real HTTP endpoint on loopback."""

import json
import random
import string
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from apps.accounts import jwks
from apps.accounts.jwks import JWKSCache, jwks_cache
from apps.accounts.tokens import TokenError, verify_token
from deploy.tools.harness import fake_cognito

pytestmark = pytest.mark.django_db


@pytest.fixture
def jwks_server(test_key):
    with fake_cognito.JWKSServer(test_key) as server:
        yield server


@pytest.fixture
def fetching_settings(token_settings, jwks_server):
    token_settings.COGNITO_JWKS_FILE = None
    token_settings.COGNITO_JWKS_URL = f"{jwks_server.url}/jwks.json"
    token_settings.COGNITO_JWKS_COOLDOWN = 300  # one fetch per test at most
    return token_settings


def _random_kid():
    return "".join(random.choices(string.ascii_letters, k=12))  # noqa: S311 - test data


def test_keys_are_fetched_once_and_kept(fetching_settings, jwks_server, test_key):
    token = test_key.sign(fake_cognito.claims())
    for _ in range(20):
        verify_token(token, token_uses=("access",))
    assert jwks_server.fetches == 1


def test_a_thousand_unknown_kids_cause_at_most_one_fetch(fetching_settings, jwks_server, test_key):
    tokens = [
        test_key.sign(fake_cognito.claims(), headers={"kid": _random_kid()}) for _ in range(1000)
    ]

    def attempt(token):
        try:
            verify_token(token, token_uses=("access",))
        except TokenError as exc:
            return exc.reason
        return "ok"

    with ThreadPoolExecutor(max_workers=16) as pool:
        reasons = set(pool.map(attempt, tokens))
    assert reasons == {"unknown_key"}
    # One fetch (the first unknown kid); the other 999 fell inside its cooldown.
    assert jwks_server.fetches == 1


def test_concurrent_first_requests_share_one_fetch(fetching_settings, jwks_server, test_key):
    token = test_key.sign(fake_cognito.claims())
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: verify_token(token, token_uses=("access",)), range(64)))
    assert len(results) == 64
    assert jwks_server.fetches == 1


def test_rotation_is_picked_up_after_the_cooldown(fetching_settings, jwks_server, test_key):
    fetching_settings.COGNITO_JWKS_COOLDOWN = 0
    verify_token(test_key.sign(fake_cognito.claims()), token_uses=("access",))
    new_key = fake_cognito.SigningKey("rotated-key")
    jwks_server.document = fake_cognito.jwks_document(test_key, new_key)
    assert verify_token(new_key.sign(fake_cognito.claims()), token_uses=("access",))
    assert jwks_server.fetches == 2


def test_endpoint_down_keeps_verifying_with_cached_keys(fetching_settings, jwks_server, test_key):
    fetching_settings.COGNITO_JWKS_COOLDOWN = 0
    token = test_key.sign(fake_cognito.claims())
    verify_token(token, token_uses=("access",))
    jwks_server.up = False
    with pytest.raises(TokenError, match="unknown_key"):  # refetch fails, old keys kept
        verify_token(
            test_key.sign(fake_cognito.claims(), headers={"kid": "x"}), token_uses=("access",)
        )
    assert verify_token(token, token_uses=("access",))
    assert jwks_server.fetches == 2


def test_no_keys_and_endpoint_down_is_503_not_401(
    client, fetching_settings, jwks_server, test_key
):
    jwks_server.up = False
    token = test_key.sign(fake_cognito.claims())
    response = client.get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["error"] == "temporarily_unavailable"


def test_preseeded_file_needs_no_fetch(token_settings, test_key):
    token = test_key.sign(fake_cognito.claims())
    for _ in range(10):
        verify_token(token, token_uses=("access",))
    assert jwks_cache().fetches == 0  # the URL is a closed port: any fetch would show here


def test_concurrent_first_requests_wait_for_the_seed_file(
    token_settings, test_key, monkeypatch, tmp_path
):
    seed = tmp_path / "jwks.json"
    seed.write_text(json.dumps(fake_cognito.jwks_document(test_key)))
    slow_parse = jwks._parse

    def parse(raw):
        time.sleep(0.2)  # a slow read: the other threads arrive while the seed loads
        return slow_parse(raw)

    monkeypatch.setattr(jwks, "_parse", parse)
    cache = JWKSCache("http://127.0.0.1:9/jwks.json", seed_file=str(seed), timeout=0.2)
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = list(pool.map(lambda _: cache.get_key(test_key.kid), range(8)))
    assert all(key is not None for key in keys)
    assert cache.fetches == 0


def test_one_cache_per_process_and_configuration(token_settings):
    assert jwks_cache() is jwks_cache()
    token_settings.COGNITO_JWKS_COOLDOWN = 1
    assert jwks_cache().cooldown == 1


def test_unusable_documents_are_rejected_and_old_keys_kept(tmp_path, test_key):
    seed = tmp_path / "jwks.json"
    seed.write_text('{"keys": [{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"}]}')
    cache = JWKSCache("http://127.0.0.1:9/jwks.json", seed_file=str(seed), cooldown=0, timeout=0.2)
    assert cache.get_key("sym") is None  # symmetric keys are never used for RS256


@pytest.mark.parametrize(
    ("document", "usable"),
    [
        ({"key_ops": ["encrypt"]}, False),
        ({"key_ops": ["sign", "verify"]}, True),
        ({"key_ops": "verify"}, False),
        ({"use": "enc"}, False),
        ({"kid": ["test-key-1"]}, False),  # once a TypeError from every lookup: a 500
        ({"kid": ""}, False),
    ],
    ids=[
        "encrypt only",
        "sign and verify",
        "key_ops a string",
        "use enc",
        "kid a list",
        "empty kid",
    ],
)
def test_only_signature_verification_keys_are_kept(tmp_path, test_key, document, usable):
    seed = tmp_path / "jwks.json"
    seed.write_text(json.dumps({"keys": [{**test_key.jwk, **document}]}))
    cache = JWKSCache("http://127.0.0.1:9/jwks.json", seed_file=str(seed), cooldown=300)
    kid = document.get("kid", test_key.kid)
    assert (cache.get_key(kid if isinstance(kid, str) else test_key.kid) is not None) is usable


def test_a_key_set_nested_5000_deep_is_unusable_not_a_crash(tmp_path):
    seed = tmp_path / "jwks.json"
    seed.write_text('{"keys": ' + "[" * 5000 + "]" * 5000 + "}")
    cache = JWKSCache("http://127.0.0.1:9/jwks.json", seed_file=str(seed), cooldown=300)
    with pytest.raises(jwks.JWKSUnavailable):
        cache.get_key("any")

"""The deploy checks: a deployed target never trusts the local stack's (moto's) token keys."""

import json
import urllib.request

import pytest
from django.core.checks import run_checks
from moto.utilities.utils import load_resource

from apps.accounts import checks
from apps.core.loopback import is_loopback_host
from deploy.tools.harness import fake_cognito

COGNITO_JWKS_URL = f"{fake_cognito.ISSUER}/.well-known/jwks.json"


@pytest.fixture
def cognito_settings(settings):
    """What a deployed target has: keys from the pool's issuer, nothing overridden."""
    settings.COGNITO_ISSUER = None
    settings.COGNITO_JWKS_URL = None
    settings.COGNITO_JWKS_FILE = None
    return settings


def deploy_errors():
    return {
        message.id: message
        for message in run_checks(include_deployment_checks=True)
        if message.id and message.id.startswith("accounts.")
    }


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LocalHost.", "api.localhost"],
)
def test_loopback_hosts(host):
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "0.0.0.0",  # noqa: S104 - a host that is refused, never bound
        "::",
        "10.0.0.5",
        "192.168.1.2",
        "cognito-idp.us-east-1.amazonaws.com",
        "",
        None,
    ],
)
def test_other_hosts_are_not_loopback(host):
    assert not is_loopback_host(host)


def test_the_check_runs_with_deploy_only(cognito_settings):
    cognito_settings.COGNITO_JWKS_URL = "http://127.0.0.1:4566/pool/.well-known/jwks.json"
    assert not {message.id for message in run_checks()} & {"accounts.E001"}
    assert "accounts.E001" in deploy_errors()


def test_cognito_settings_pass(cognito_settings):
    assert deploy_errors() == {}
    cognito_settings.COGNITO_ISSUER = fake_cognito.ISSUER
    cognito_settings.COGNITO_JWKS_URL = COGNITO_JWKS_URL
    assert deploy_errors() == {}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:4566/us-east-1_abc/.well-known/jwks.json",
        "http://localhost:4566/us-east-1_abc/.well-known/jwks.json",
        "http://[::1]:4566/jwks.json",
    ],
)
def test_a_loopback_jwks_url_is_an_error(cognito_settings, url):
    cognito_settings.COGNITO_JWKS_URL = url
    error = deploy_errors()["accounts.E001"]
    assert error.msg.startswith(f"COGNITO_JWKS_URL {url!r} is on loopback")
    assert "Unset COGNITO_JWKS_URL" in error.hint


def test_a_loopback_issuer_is_an_error(cognito_settings):
    cognito_settings.COGNITO_ISSUER = "http://127.0.0.1:4566/us-east-1_abc"
    error = deploy_errors()["accounts.E002"]
    assert "COGNITO_ISSUER 'http://127.0.0.1:4566/us-east-1_abc' is on loopback" in error.msg


def test_the_fingerprint_is_the_key_moto_and_the_local_stack_sign_with(local_aws, tmp_path):
    served = f"{local_aws.url}/{local_aws.outputs['COGNITO_USER_POOL_ID']}/.well-known/jwks.json"
    # The local stack routes plain GETs of its well-known paths (deploy/tools/localaws/server.py).
    with urllib.request.urlopen(served, timeout=5) as response:
        local_stack_keys = json.load(response)
    assert local_stack_keys == load_resource("cognitoidp/resources/jwks-public.json")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(local_stack_keys))
    assert checks.holds_moto_key(path)


def test_a_jwks_file_with_motos_key_is_an_error(cognito_settings, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(load_resource("cognitoidp/resources/jwks-public.json")))
    cognito_settings.COGNITO_JWKS_FILE = str(path)
    assert "moto's built-in signing key" in deploy_errors()["accounts.E003"].msg


def test_a_jwks_file_with_the_pools_keys_passes(cognito_settings, tmp_path):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(fake_cognito.jwks_document(fake_cognito.SigningKey("k1"))))
    cognito_settings.COGNITO_JWKS_FILE = str(path)
    assert deploy_errors() == {}


@pytest.mark.parametrize("content", [None, "not json", '{"keys": "none"}', "[1]"])
def test_an_unusable_jwks_file_is_left_to_the_key_cache(cognito_settings, tmp_path, content):
    path = tmp_path / "jwks.json"
    if content is not None:
        path.write_text(content)
    cognito_settings.COGNITO_JWKS_FILE = str(path)
    assert deploy_errors() == {}

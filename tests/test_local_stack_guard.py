"""The local stack's tokens can be forged (moto signs them with a public key), so it stays on
loopback: it says so at start, binds nowhere else, the local settings reach nothing else, and a
deployed target's check --deploy refuses its keys."""

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from deploy.tools.harness.loopback import free_port
from deploy.tools.harness.processes import DEPLOYED_ENV, ROOT, run_python, subprocess_env
from deploy.tools.localaws.server import FORGEABLE_TOKENS_WARNING, LocalAWS
from deploy.tools.management.commands.localaws import banner

OUTPUTS = {"COGNITO_USER_POOL_ID": "us-east-1_local", "COGNITO_APP_CLIENT_ID": ["client"]}


def test_the_banner_warns_that_tokens_can_be_forged(tmp_path):
    text = banner("http://127.0.0.1:4566", tmp_path, False, OUTPUTS)
    assert FORGEABLE_TOKENS_WARNING in text.splitlines()
    assert FORGEABLE_TOKENS_WARNING.startswith("WARNING: ")
    assert "moto's public built-in key" in FORGEABLE_TOKENS_WARNING
    assert "Never point a deployed app at this stack." in FORGEABLE_TOKENS_WARNING


def test_the_running_stack_prints_the_warning(localaws_process):
    stack = localaws_process()
    stack.stop()
    assert FORGEABLE_TOKENS_WARNING in stack.output


# Hosts that are refused, never bound.
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "example.com"])  # noqa: S104
def test_localaws_refuses_to_bind_beyond_loopback(settings, tmp_path, host):
    settings.LOCALAWS_HOST = host
    for extra in ((), ("--wait",)):
        with pytest.raises(CommandError, match="binds loopback only"):
            call_command(
                "localaws", "--port", str(free_port()), "--state-dir", str(tmp_path), *extra
            )
    with pytest.raises(ValueError, match=f"not {host!r}"):
        LocalAWS(host=host)


def import_local_settings(**env):
    return run_python("import project.settings.local", subprocess_env(**env))


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("AWS_ENDPOINT_URL", "http://10.0.0.5:4566"),
        ("AWS_ENDPOINT_URL", "http://0.0.0.0:4566"),
        ("AWS_ENDPOINT_URL_S3", "https://s3.eu-west-1.amazonaws.com"),
        ("COGNITO_JWKS_URL", "https://moto.example.com/us-east-1_x/.well-known/jwks.json"),
    ],
)
def test_local_settings_refuse_endpoints_beyond_loopback(name, url):
    result = import_local_settings(**{name: url})
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"django.core.exceptions.ImproperlyConfigured: {name}={url} is not on loopback "
        "(127.0.0.0/8, ::1, localhost); the local settings trust the local AWS stack, whose "
        f"Cognito signs tokens with moto's public key. Unset {name} to use the local stack on "
        "127.0.0.1, or run a deployed target (DJANGO_DEPLOY_TARGET=server) against real AWS."
    )


def test_local_settings_accept_every_loopback_spelling():
    result = import_local_settings(
        AWS_ENDPOINT_URL="http://localhost:4566",
        AWS_ENDPOINT_URL_S3="http://[::1]:4566",
        COGNITO_JWKS_URL="http://127.0.0.2:4566/us-east-1_x/.well-known/jwks.json",
    )
    assert result.returncode == 0, result.stderr


def check_deploy(**env):
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=subprocess_env(DJANGO_DEPLOY_TARGET="server", **{**DEPLOYED_ENV, **env}),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "url", "error"),
    [
        ("COGNITO_JWKS_URL", "http://127.0.0.1:4566/eu-west-1_x/.well-known/jwks.json", "E001"),
        ("COGNITO_ISSUER", "http://localhost:4566/eu-west-1_x", "E002"),
    ],
)
def test_a_deployed_target_refuses_the_local_stacks_keys(name, url, error):
    result = check_deploy(**{name: url})
    assert result.returncode != 0
    assert f"(accounts.{error}) {name} {url!r} is on loopback" in result.stderr

"""The AWS client factory: timeouts, retries, endpoints, reuse, and laziness."""

import pytest

from apps.core import aws
from deploy.tools.harness.processes import DEPLOYED_ENV, run_python, subprocess_env


def test_clients_have_explicit_timeouts_and_standard_retries(settings):
    settings.AWS_CONNECT_TIMEOUT = 1.5
    settings.AWS_READ_TIMEOUT = 4.0
    settings.AWS_MAX_ATTEMPTS = 4
    config = aws.client("dynamodb").meta.config
    assert config.connect_timeout == 1.5
    assert config.read_timeout == 4.0
    assert config.retries == {"mode": "standard", "total_max_attempts": 4}


def test_per_call_overrides_give_their_own_client(settings):
    default = aws.client("s3")
    fast = aws.client("s3", connect_timeout=0.5, read_timeout=0.5, max_attempts=1)
    assert fast is not default
    assert fast.meta.config.read_timeout == 0.5
    assert fast.meta.config.retries["total_max_attempts"] == 1


def test_clients_are_created_once_and_reused():
    assert aws.client("dynamodb") is aws.client("dynamodb")


def test_endpoint_override_global_and_per_service(settings):
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:4566"
    settings.AWS_ENDPOINT_URLS = {"S3": "http://127.0.0.1:9000"}
    assert aws.client("dynamodb").meta.endpoint_url == "http://127.0.0.1:4566"
    assert aws.client("s3").meta.endpoint_url == "http://127.0.0.1:9000"
    settings.AWS_ENDPOINT_URLS = {"COGNITO_IDENTITY_PROVIDER": "http://127.0.0.1:9229"}
    assert aws.client("cognito-idp").meta.endpoint_url == "http://127.0.0.1:9229"


def test_no_override_means_the_real_regional_endpoint(settings):
    settings.AWS_ENDPOINT_URL = None
    settings.AWS_ENDPOINT_URLS = {}
    settings.AWS_REGION = "eu-central-1"
    assert (
        aws.client("dynamodb").meta.endpoint_url == "https://dynamodb.eu-central-1.amazonaws.com"
    )


def test_settings_are_read_at_call_time(settings):
    settings.AWS_REGION = "eu-west-3"
    assert aws.client("sts").meta.region_name == "eu-west-3"
    settings.AWS_REGION = "ap-south-1"
    assert aws.client("sts").meta.region_name == "ap-south-1"


def test_explicit_keys_only_when_settings_have_them(settings):
    settings.AWS_ACCESS_KEY_ID = None
    assert aws.credentials() == {}
    settings.AWS_ACCESS_KEY_ID = "local"
    settings.AWS_SECRET_ACCESS_KEY = "secret"
    assert aws.credentials() == {
        "aws_access_key_id": "local",
        "aws_secret_access_key": "secret",
    }


def test_client_talks_to_the_local_stack(local_aws, settings):
    tables = aws.client("dynamodb").list_tables()["TableNames"]
    assert settings.SESSIONS_TABLE in tables


REQUEST_PATH_PROBE = """
import sys
import project.wsgi
from django.core.management import call_command
from django.test import Client
call_command("collectstatic", interactive=False, verbosity=0)
client = Client()
for path in ("/healthz", "/en/"):
    response = client.get(path, secure=True, HTTP_HOST="app.example.com")
    assert response.status_code == 200, (path, response.status_code)
heavy = sorted(m for m in ("boto3", "botocore", "s3transfer") if m in sys.modules)
print(",".join(heavy) or "none")
"""


@pytest.mark.parametrize("target", ["lambda", "server"])
def test_request_path_does_not_import_boto3(target, tmp_path):
    """Cold start: import project.wsgi and serve pages, and boto3 is still not loaded."""
    result = run_python(
        REQUEST_PATH_PROBE,
        subprocess_env(
            DJANGO_DEPLOY_TARGET=target,
            DJANGO_STATIC_ROOT=str(tmp_path / "static"),
            **{**DEPLOYED_ENV, "DATABASE_URL": "sqlite://:memory:"},
        ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "none"

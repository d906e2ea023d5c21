"""project.settings.secrets against the local stack's SSM: one batched call, values in settings,
and start-up that fails naming the parameter path."""

import json
import subprocess
import sys
import uuid

import boto3.session
import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.core import aws
from deploy.tools.harness.loopback import free_port
from deploy.tools.harness.processes import ROOT, run_python, subprocess_env
from project.settings import secrets

SECRET_KEY = "ssm-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFG"
DATABASE_URL = "postgres://amphibian:s3cr%40t@db.example.internal:5432/amphibian"
CLIENT_SECRET = "cognito-client-secret-from-ssm"

# The server target's variables that are not secrets.
SERVER_ENV = {
    "DJANGO_DEPLOY_TARGET": "server",
    "DJANGO_ALLOWED_HOSTS": "app.example.com",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_MAX_ATTEMPTS": "1",
    "SESSIONS_TABLE": "amphibian-test-sessions",
    "TOKEN_DENYLIST_TABLE": "amphibian-test-denylist",
    "MEDIA_BUCKET": "amphibian-test-media",
    "COGNITO_USER_POOL_ID": "us-east-1_test",
    "COGNITO_APP_CLIENT_ID": "testclient",
}

SHOW_SETTINGS = (
    "import json; from django.conf import settings; "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({'SECRET_KEY': settings.SECRET_KEY, 'PASSWORD': db['PASSWORD'], "
    "'HOST': db['HOST'], 'COGNITO_CLIENT_SECRET': settings.COGNITO_CLIENT_SECRET}))"
)


@pytest.fixture
def secrets_path(local_aws):
    """A fresh parameter path with the three secrets as SecureStrings."""
    path = f"/amphibian/test-{uuid.uuid4().hex[:8]}/secrets"
    ssm = aws.client("ssm")
    for name, value in {
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": DATABASE_URL,
        "COGNITO_CLIENT_SECRET": CLIENT_SECRET,
    }.items():
        ssm.put_parameter(Name=f"{path}/{name}", Value=value, Type="SecureString")
    return path


def server_process(code, **env):
    return subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=subprocess_env(**SERVER_ENV, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_secrets_from_ssm_land_in_the_server_settings(local_aws, secrets_path):
    result = server_process(
        SHOW_SETTINGS,
        AWS_ENDPOINT_URL=local_aws.url,
        SECRETS_SSM_PATH=secrets_path,
        SECRETS_SSM_NAMES="DJANGO_SECRET_KEY,DATABASE_URL,COGNITO_CLIENT_SECRET",
        # Overridden by the parameter store: a listed name comes from there.
        DJANGO_SECRET_KEY="placeholder-from-the-environment",
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == {
        "SECRET_KEY": SECRET_KEY,
        "PASSWORD": "s3cr@t",
        "HOST": "db.example.internal",
        "COGNITO_CLIENT_SECRET": CLIENT_SECRET,
    }


def test_unreachable_parameter_store_fails_start_up_naming_the_path(secrets_path):
    result = server_process(
        SHOW_SETTINGS,
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
        SECRETS_SSM_PATH=secrets_path,
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured: Could not read")
    assert f"SSM parameter path {secrets_path}" in last_line
    assert "EndpointConnectionError" in last_line


def test_missing_parameter_fails_start_up_naming_it(local_aws, secrets_path):
    result = server_process(
        SHOW_SETTINGS,
        AWS_ENDPOINT_URL=local_aws.url,
        SECRETS_SSM_PATH=secrets_path,
        SECRETS_SSM_NAMES="DJANGO_SECRET_KEY,EMAIL_HOST_PASSWORD",
        DATABASE_URL=DATABASE_URL,
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"SSM parameter path {secrets_path} is missing {secrets_path}/EMAIL_HOST_PASSWORD" in (
        last_line
    )


def test_secrets_count_as_set_for_the_required_variables(local_aws, secrets_path):
    """DJANGO_SECRET_KEY and DATABASE_URL only in SSM: env.require() is satisfied."""
    result = server_process(
        "print('started')", AWS_ENDPOINT_URL=local_aws.url, SECRETS_SSM_PATH=secrets_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "started"


def test_one_get_parameters_call_for_every_secret_then_cached(local_aws, secrets_path):
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test")
    calls = []
    session.events.register("before-call.ssm", lambda model, **_: calls.append(model.name))
    environ = {"AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": local_aws.url}
    names = ["DJANGO_SECRET_KEY", "DATABASE_URL", "COGNITO_CLIENT_SECRET"]

    values = secrets.load(secrets_path, names, environ=environ, session=session)
    assert values == {
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": DATABASE_URL,
        "COGNITO_CLIENT_SECRET": CLIENT_SECRET,
    }
    assert calls == ["GetParameters"]
    # Cached for the life of the process.
    assert secrets.load(secrets_path, names, environ=environ, session=session) == values
    assert calls == ["GetParameters"]


def test_without_a_path_nothing_is_loaded_and_the_environment_stands():
    environ = {
        "DJANGO_SECRET_KEY": "from-the-environment",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    assert secrets.load_into_environ(environ) == []
    assert environ == {
        "DJANGO_SECRET_KEY": "from-the-environment",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }


def test_more_names_than_one_call_takes_are_refused():
    names = [f"SECRET_{index}" for index in range(secrets.MAX_NAMES + 1)]
    with pytest.raises(ImproperlyConfigured, match="at most 10 load in one call"):
        secrets.load("/amphibian/test/secrets", names)


def test_settings_import_loads_no_boto3_without_a_path():
    code = (
        "import sys, django; django.setup(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))"
    )
    result = run_python(
        code,
        subprocess_env(
            **SERVER_ENV,
            DJANGO_SECRET_KEY=SECRET_KEY,
            DATABASE_URL=DATABASE_URL,
            DJANGO_SETTINGS_MODULE="project.settings.server",
        ),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


SHOW_DATABASE = (
    "import json; from django.conf import settings; "
    "db = settings.DATABASES['default']; "
    "print(json.dumps({key: db[key] for key in ('USER', 'PASSWORD', 'HOST', 'PORT', 'NAME')} "
    "| {'sslmode': db['OPTIONS'].get('sslmode'), 'SECRET_KEY': settings.SECRET_KEY}))"
)
# RDS's managed master secret holds the username and password only (ManageMasterUserPassword).
MASTER_SECRET = {"username": "amphibian_admin", "password": "p@ss/w:rd#1"}


@pytest.fixture
def database_secret(local_aws):
    return aws.client("secretsmanager").create_secret(
        Name=f"rds!db-{uuid.uuid4()}", SecretString=json.dumps(MASTER_SECRET)
    )["ARN"]


def database_env(secret_arn, **extra):
    return {
        "DATABASE_SECRET_ARN": secret_arn,
        "DATABASE_HOST": "amphibian-prod.proxy-abc.us-east-1.rds.amazonaws.com",
        "DATABASE_PORT": "5432",
        "DATABASE_NAME": "amphibian",
        **extra,
    }


def test_database_url_is_built_from_the_rds_master_secret(local_aws, database_secret):
    # Only the secret key in SSM: DATABASE_URL is not asked of the parameter store.
    path = f"/amphibian/test-{uuid.uuid4().hex[:8]}/secrets"
    aws.client("ssm").put_parameter(
        Name=f"{path}/DJANGO_SECRET_KEY", Value=SECRET_KEY, Type="SecureString"
    )
    result = server_process(
        SHOW_DATABASE,
        AWS_ENDPOINT_URL=local_aws.url,
        SECRETS_SSM_PATH=path,
        **database_env(database_secret),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "USER": "amphibian_admin",
        "PASSWORD": "p@ss/w:rd#1",
        "HOST": "amphibian-prod.proxy-abc.us-east-1.rds.amazonaws.com",
        "PORT": 5432,
        "NAME": "amphibian",
        # RDS Proxy requires TLS; DATABASE_SSLMODE overrides it.
        "sslmode": "require",
        "SECRET_KEY": SECRET_KEY,
    }


def test_database_secret_needs_the_host_and_name(local_aws, database_secret):
    result = server_process(
        SHOW_DATABASE,
        AWS_ENDPOINT_URL=local_aws.url,
        DJANGO_SECRET_KEY=SECRET_KEY,
        **database_env(database_secret, DATABASE_HOST="", DATABASE_NAME=""),
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "DATABASE_SECRET_ARN is set but DATABASE_HOST, DATABASE_NAME is not" in last_line


@pytest.mark.parametrize(
    "secret_string", [None, "not json", json.dumps({"username": "only-a-name"})]
)
def test_unreadable_database_secret_fails_start_up_naming_it(local_aws, secret_string):
    secretsmanager = aws.client("secretsmanager")
    name = f"rds!db-{uuid.uuid4()}"
    arn = (
        secretsmanager.create_secret(Name=name, SecretString=secret_string)["ARN"]
        if secret_string
        else f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}"
    )
    result = server_process(
        SHOW_DATABASE,
        AWS_ENDPOINT_URL=local_aws.url,
        DJANGO_SECRET_KEY=SECRET_KEY,
        **database_env(arn),
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert f"Could not read the database credentials from secret {arn}" in last_line


def test_an_explicit_database_url_wins_over_the_secret(local_aws):
    environ = {
        "DATABASE_URL": DATABASE_URL,
        # Never read: the URL is given.
        "DATABASE_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
    assert secrets.load_into_environ(environ) == []
    assert environ["DATABASE_URL"] == DATABASE_URL

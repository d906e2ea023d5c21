"""The template's table and bucket parts deployed into moto's CloudFormation: the resources
it creates, ``manage.py stackenv`` reading its outputs, and /readyz passing against them.

moto has no Cognito, CloudFront or managed-login resources, so the /readyz test takes the user
pool from the provisioning code (as the local stack does).
"""

import io
import json
import shutil

from django.conf import settings
from django.core.management import call_command

from apps.core import aws
from deploy.tools.harness.browser import Browser
from deploy.tools.harness.postgres import PostgresDatabase
from deploy.tools.harness.processes import ROOT
from deploy.tools.harness.server import Gunicorn
from deploy.tools.management.commands.stackenv import LAMBDA_RESERVED


def test_data_part_creates_every_table_and_bucket(deployed_stack):
    assert set(deployed_stack["resources"]) == {
        "SessionsTable",
        "DenylistTable",
        "RateLimitsTable",
        "MediaBucket",
        "StaticBucket",
    }
    assert deployed_stack["resources"]["SessionsTable"] == f"{deployed_stack['name']}-sessions"


def stackenv(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("stackenv", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_stackenv_env_file_from_the_stack(deployed_stack):
    out, err = stackenv("--stack", deployed_stack["name"])
    variables = dict(line.split("=", 1) for line in out.splitlines())
    resources = deployed_stack["resources"]
    assert variables["DJANGO_DEPLOY_TARGET"] == "server"
    assert variables["SESSIONS_TABLE"] == resources["SessionsTable"]
    assert variables["TOKEN_DENYLIST_TABLE"] == resources["DenylistTable"]
    assert variables["RATE_LIMITS_TABLE"] == resources["RateLimitsTable"]
    assert variables["MEDIA_BUCKET"] == resources["MediaBucket"]
    assert variables["STATIC_BUCKET"] == resources["StaticBucket"]
    assert variables["AWS_REGION"] == settings.AWS_REGION
    # The outputs of the parts moto cannot create are reported, not invented.
    assert "UserPoolId" in err and "COGNITO_USER_POOL_ID" not in variables


def test_stackenv_writes_only_the_stages_environment(deployed_stack, tmp_path):
    path = tmp_path / "zappa_settings.json"
    shutil.copy(ROOT / "zappa_settings.json", path)
    before = json.loads(path.read_text())

    printed, _ = stackenv("--stack", deployed_stack["name"], "--format", "zappa", "--stage", "dev")
    # As make deploy-infra runs it: the JSON of `aws cloudformation describe-stacks`.
    described = aws.client("cloudformation").describe_stacks(StackName=deployed_stack["name"])
    outputs = tmp_path / "stack.json"
    outputs.write_text(json.dumps(described, default=str))
    stackenv(
        *("--outputs", str(outputs), "--format", "zappa", "--stage", "dev"),
        *("--write", "--zappa-settings", str(path)),
    )
    after = json.loads(path.read_text())
    variables = json.loads(printed)
    assert variables["DJANGO_DEPLOY_TARGET"] == "lambda"
    assert not LAMBDA_RESERVED & set(variables)
    expected = {**before["dev"]["aws_environment_variables"], **variables}
    assert after["dev"]["aws_environment_variables"] == expected
    # Everything else (other stages, events, key order) is as it was.
    after["dev"]["aws_environment_variables"] = before["dev"]["aws_environment_variables"]
    assert after == before
    assert list(json.loads(path.read_text())) == list(before)


def test_readyz_passes_against_the_stacks_outputs(
    local_aws, deployed_stack, postgres_url, tmp_path
):
    out, _ = stackenv("--stack", deployed_stack["name"])
    env = dict(line.split("=", 1) for line in out.splitlines())
    pool_id = local_aws.outputs["COGNITO_USER_POOL_ID"]
    database = PostgresDatabase(postgres_url)
    try:
        env.update(
            DJANGO_SECRET_KEY="stack-readyz-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            DATABASE_URL=database.url,
            AWS_ENDPOINT_URL=local_aws.url,
            AWS_ACCESS_KEY_ID="test",
            AWS_SECRET_ACCESS_KEY="test",
            # Cognito through the provisioning code: moto's CloudFormation has no Cognito.
            COGNITO_USER_POOL_ID=pool_id,
            COGNITO_APP_CLIENT_ID=",".join(local_aws.outputs["COGNITO_APP_CLIENT_ID"]),
            COGNITO_JWKS_URL=f"{local_aws.url}/{pool_id}/.well-known/jwks.json",
            DJANGO_STATIC_ROOT=str(tmp_path),
        )
        server = Gunicorn(env, tmp_path / "gunicorn.log", workers=1).start()
        try:
            response = Browser(server.url).get("/readyz")
            assert response.status == 200, response.text
            assert response.json()["checks"] == {
                "database": "ok",
                "sessions_table": "ok",
                "media_bucket": "ok",
            }
        finally:
            server.stop()
    finally:
        database.drop()

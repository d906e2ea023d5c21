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
from deploy.tools.deploy.outputs import (
    LAMBDA_RESERVED,
    environment_from_outputs,
    write_zappa_stage,
    zappa_stage_settings,
)
from deploy.tools.harness.browser import Browser
from deploy.tools.harness.postgres import PostgresDatabase
from deploy.tools.harness.processes import ROOT
from deploy.tools.harness.server import Gunicorn


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


# What a full stack's outputs add for the function (deploy/aws/amphibian.yaml).
FUNCTION_OUTPUTS = {
    "FunctionRoleArn": "arn:aws:iam::123456789012:role/amphibian-prod-FunctionRole-X",
    "PrivateSubnetIds": "subnet-a,subnet-b",
    "FunctionSecurityGroupId": "sg-function",
    "ReservedConcurrency": "50",
    "DatabaseEndpoint": "db.abc.us-east-1.rds.amazonaws.com",
    "DatabaseProxyEndpoint": "amphibian-prod.proxy-abc.us-east-1.rds.amazonaws.com",
}


def test_the_function_reaches_the_database_through_the_proxy_and_servers_directly():
    lambda_env, _ = environment_from_outputs(FUNCTION_OUTPUTS, "zappa")
    server_env, _ = environment_from_outputs(FUNCTION_OUTPUTS, "env")
    assert lambda_env["DATABASE_HOST"] == FUNCTION_OUTPUTS["DatabaseProxyEndpoint"]
    assert server_env["DATABASE_HOST"] == FUNCTION_OUTPUTS["DatabaseEndpoint"]


def test_stack_outputs_set_the_stages_role_network_and_concurrency(tmp_path):
    path = tmp_path / "zappa_settings.json"
    shutil.copy(ROOT / "zappa_settings.json", path)
    stage_settings, missing = zappa_stage_settings(FUNCTION_OUTPUTS)
    assert missing == []
    variables = {"SESSIONS_TABLE": "t", "MEDIA_BUCKET": "amphibian-prod-infra-media-1234"}
    assert write_zappa_stage(path, "prod", variables, stage_settings, dry_run=True)
    assert json.loads(path.read_text())["prod"].get("manage_roles") is None
    assert write_zappa_stage(path, "prod", variables, stage_settings)
    prod = json.loads(path.read_text())["prod"]
    # The media bucket's ObjectCreated trigger follows the stack's bucket.
    [s3_event] = [event for event in prod["events"] if "event_source" in event]
    assert s3_event["event_source"]["arn"] == "arn:aws:s3:::amphibian-prod-infra-media-1234"
    assert prod["manage_roles"] is False
    assert prod["role_arn"] == FUNCTION_OUTPUTS["FunctionRoleArn"]
    assert prod["vpc_config"] == {
        "SubnetIds": ["subnet-a", "subnet-b"],
        "SecurityGroupIds": ["sg-function"],
    }
    assert prod["lambda_concurrency"] == 50
    # The same outputs again change nothing (a second deploy reports no change).
    before = path.read_bytes()
    assert not write_zappa_stage(path, "prod", variables, stage_settings)
    assert path.read_bytes() == before
    # Without the network and role outputs (the data part alone), Zappa's defaults stand.
    assert zappa_stage_settings({"PrivateSubnetIds": "subnet-a"})[0] == {}


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
    variables = json.loads(printed)["aws_environment_variables"]
    assert variables["DJANGO_DEPLOY_TARGET"] == "lambda"
    assert not LAMBDA_RESERVED & set(variables)
    expected = {**before["dev"]["aws_environment_variables"], **variables}
    assert after["dev"]["aws_environment_variables"] == expected
    # The media bucket's trigger names the stack's bucket; everything else (other stages,
    # the other events, key order) is as it was.
    media_arn = f"arn:aws:s3:::{variables['MEDIA_BUCKET']}"
    assert [e["event_source"]["arn"] for e in after["dev"]["events"] if "event_source" in e] == [
        media_arn
    ]
    after["dev"]["aws_environment_variables"] = before["dev"]["aws_environment_variables"]
    after["dev"]["events"] = before["dev"]["events"]
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

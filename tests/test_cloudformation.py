"""deploy/aws/amphibian.yaml: cfn-lint, structure, drift against deploy/aws/resources.py, and
its table and bucket parts deployed into the local stack's CloudFormation with /readyz passing.

moto's CloudFormation creates DynamoDB tables and S3 buckets, but ignores TTL, point-in-time
recovery, CORS, Block Public Access, ownership controls and lifecycle rules on them, and has no
Cognito, CloudFront or managed-login resources. So the drift tests compare those properties as
template data against what the provisioning code created, and the /readyz test takes the user
pool from the provisioning code (as the local stack does).
"""

import io
import json
import shutil
import uuid

import pytest
from cfnlint.api import lint_file
from cfnlint.decode import decode_str
from django.conf import settings
from django.core.management import call_command

from apps.core import aws
from deploy.aws import resources
from deploy.tools.management.commands.stackenv import LAMBDA_RESERVED, STACK_OUTPUTS
from tests.fixtures import ROOT
from tests.server_target import Browser, Database, Gunicorn

TEMPLATE = ROOT / "deploy" / "aws" / "amphibian.yaml"
PARAMETERS = {
    "Stage": "dev",
    "AppDomain": "app.example.com",
    "AppOriginDomain": "origin.example.com",
    "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
    "CallbackUrls": "https://app.example.com/accounts/callback/",
    "LogoutUrls": "https://app.example.com/",
    "CognitoDomainPrefix": "amphibian-dev-test",
}
# Secrets come from SSM (SECRETS_SSM_PATH), not from the stack.
SECRET_VARIABLES = {"DJANGO_SECRET_KEY", "DATABASE_URL"}
POLICY_TYPES = {
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::S3::BucketPolicy",
}
DATA_PLANE_SERVICES = {"dynamodb", "s3", "ssm", "lambda", "kms", "secretsmanager", "sqs"}


def load_template():
    template, errors = decode_str(TEMPLATE.read_text())
    assert not errors, errors
    return template


def resources_of_type(template, resource_type):
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def test_template_is_cfn_lint_clean(tmp_path):
    # cfn-lint's defaults (errors and warnings), as the `cfn-lint` command runs it.
    assert [str(match) for match in lint_file(TEMPLATE)] == []
    # The same call does catch a mistake.
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        TEMPLATE.read_text().replace("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE")
    )
    assert any("FREE" in str(match) for match in lint_file(broken))


def test_every_variable_the_deployed_settings_need_is_a_stack_output():
    outputs = load_template()["Outputs"]
    # Unconditional outputs only: a variable that exists on some stacks would not do.
    unconditional = {name for name, output in outputs.items() if "Condition" not in output}
    assert set(STACK_OUTPUTS) <= unconditional
    provided = {name for targets in STACK_OUTPUTS.values() for name, _ in targets}
    needed = set(settings.DEPLOYED_REQUIRED_ENV) - SECRET_VARIABLES
    # The lambda target with static files on S3 needs these too.
    needed |= {"STATIC_BUCKET", "STATIC_CDN_DOMAIN", "SECRETS_SSM_PATH"}
    assert needed <= provided, needed - provided
    assert not SECRET_VARIABLES & provided


def policy_statements(template):
    """Every statement of every IAM policy document in the template, with where it is."""
    for name, resource in template["Resources"].items():
        if resource["Type"] not in POLICY_TYPES:
            continue
        properties = resource.get("Properties", {})
        documents = [properties.get("PolicyDocument")]
        documents += [policy.get("PolicyDocument") for policy in properties.get("Policies", [])]
        for document in filter(None, documents):
            for statement in document["Statement"]:
                yield name, statement


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_iam_data_plane_actions_are_never_on_every_resource():
    statements = list(policy_statements(load_template()))
    assert {name for name, _ in statements} >= {"AppPolicy", "StaticBucketPolicy"}
    checked = 0
    for name, statement in statements:
        actions = as_list(statement["Action"])
        if statement["Effect"] != "Allow":
            continue
        services = {action.split(":")[0] for action in actions}
        assert not any(action.endswith("*") for action in actions), (name, actions)
        if services & DATA_PLANE_SERVICES:
            checked += 1
            resources = as_list(statement["Resource"])
            assert "*" not in resources, (name, statement)
            for resource in resources:
                # Plain strings must name something; intrinsic functions point at resources.
                assert not isinstance(resource, str) or resource.startswith("arn:"), resource
    assert checked >= 6


def test_app_policy_scopes_media_to_the_apps_prefixes_and_ssm_to_the_stage():
    statements = {
        statement["Sid"]: statement
        for name, statement in policy_statements(load_template())
        if name == "AppPolicy"
    }
    media = [resource["Fn::Sub"] for resource in statements["MediaObjects"]["Resource"]]
    assert media == [
        f"${{MediaBucket.Arn}}/{prefix}/*" for prefix in ("uploads", "thumbnails", "contact")
    ]
    ssm = [resource["Fn::Sub"] for resource in statements["Parameters"]["Resource"]]
    assert all("parameter/amphibian/${Stage}" in resource for resource in ssm)


def test_prod_only_protections_are_conditions():
    template = load_template()
    assert template["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    for table in resources_of_type(template, "AWS::DynamoDB::Table").values():
        properties = table["Properties"]
        assert properties["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
    pool = template["Resources"]["UserPool"]["Properties"]
    assert pool["DeletionProtection"] == {"Fn::If": ["IsProd", "ACTIVE", "INACTIVE"]}
    optional = {
        name: resource.get("Condition")
        for name, resource in template["Resources"].items()
        if resource["Type"].startswith(
            ("AWS::ECS::", "AWS::ElasticLoadBalancingV2::", "AWS::EC2::")
        )
    }
    assert set(optional.values()) == {"CreateEcs", "CreateEc2"}, optional


def test_ec2_user_data_parameter_fits_deploy_ec2_cloud_init():
    import base64

    # CloudFormation parameter values stop at 4096 bytes; make deploy-infra passes base64.
    encoded = base64.b64encode((ROOT / "deploy" / "ec2" / "cloud-init.yaml").read_bytes())
    assert len(encoded) < 4096
    assert "ec2/cloud-init.yaml" in (ROOT / "Makefile").read_text()


# --- Drift: the template against what deploy/aws/resources.py creates -----------------------


def test_table_drift_key_schema_billing_and_ttl(local_aws, deployed_stack):
    dynamodb = aws.client("dynamodb")
    template = load_template()
    pairs = {
        "SessionsTable": settings.SESSIONS_TABLE,
        "DenylistTable": settings.TOKEN_DENYLIST_TABLE,
    }
    for logical_id, provisioned_name in pairs.items():
        provisioned = dynamodb.describe_table(TableName=provisioned_name)["Table"]
        deployed = dynamodb.describe_table(TableName=deployed_stack["resources"][logical_id])[
            "Table"
        ]
        for field in ("KeySchema", "AttributeDefinitions", "BillingModeSummary"):
            assert deployed[field] == provisioned[field] or (
                field == "BillingModeSummary"
                and deployed[field]["BillingMode"] == provisioned[field]["BillingMode"]
            ), (logical_id, field)
        # moto's CloudFormation ignores TimeToLiveSpecification: compare the template's.
        ttl = dynamodb.describe_time_to_live(TableName=provisioned_name)["TimeToLiveDescription"]
        declared = template["Resources"][logical_id]["Properties"]["TimeToLiveSpecification"]
        assert declared == {"AttributeName": ttl["AttributeName"], "Enabled": True}
        assert ttl["TimeToLiveStatus"] == "ENABLED"


def cors_rule_from_template(rule):
    """A CloudFormation CorsRule in the S3 API's shape (origins left out: they differ)."""
    return {
        "AllowedMethods": rule["AllowedMethods"],
        "AllowedHeaders": rule["AllowedHeaders"],
        "ExposeHeaders": rule["ExposedHeaders"],
        "MaxAgeSeconds": rule["MaxAge"],
    }


@pytest.mark.parametrize(
    ("logical_id", "setting"), [("MediaBucket", "MEDIA_BUCKET"), ("StaticBucket", "STATIC_BUCKET")]
)
def test_bucket_drift_privacy_encryption_and_cors(local_aws, deployed_stack, logical_id, setting):
    s3 = aws.client("s3")
    bucket = getattr(settings, setting)
    declared = load_template()["Resources"][logical_id]["Properties"]

    public_access = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    if logical_id == "StaticBucket":
        # The local stack opens static/ to browsers there (it stands in for the CDN); every
        # deployed bucket gets the private definition.
        assert not public_access["BlockPublicPolicy"]
        public_access = resources.PRIVATE_BUCKET_ACCESS_BLOCK
    assert declared["PublicAccessBlockConfiguration"] == public_access
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert declared["OwnershipControls"] == ownership
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert [
        {"SSEAlgorithm": rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]}
        for rule in declared["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    ] == [
        {"SSEAlgorithm": rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]}
        for rule in encryption["Rules"]
    ]
    # The deployed bucket got the template's encryption (moto applies that property).
    deployed = s3.get_bucket_encryption(Bucket=deployed_stack["resources"][logical_id])
    assert deployed["ServerSideEncryptionConfiguration"]["Rules"] == encryption["Rules"]

    if logical_id == "MediaBucket":
        provisioned_rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        declared_rules = declared["CorsConfiguration"]["CorsRules"]
        assert [cors_rule_from_template(rule) for rule in declared_rules] == [
            {key: value for key, value in rule.items() if key not in ("AllowedOrigins", "ID")}
            for rule in provisioned_rules
        ]
    else:
        assert "CorsConfiguration" not in declared


def test_media_bucket_lifecycle_aborts_incomplete_uploads():
    rules = load_template()["Resources"]["MediaBucket"]["Properties"]["LifecycleConfiguration"]
    assert {
        "Id": "abort-incomplete-multipart-uploads",
        "Status": "Enabled",
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
    } in rules["Rules"]


# --- The table and bucket parts deployed into moto's CloudFormation -----------------------


def data_part(template):
    """The template cut down to its tables and buckets (what moto can create) and the outputs
    that name them or the part's parameters."""
    parameters = ("Stage", "AppDomain", "MediaOrigins")
    kept = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::S3::Bucket")
    }
    outputs = {
        name: output
        for name, output in template["Outputs"].items()
        if isinstance(output["Value"], dict)
        and output["Value"].get("Ref") in {*kept, *parameters, "AWS::Region"}
    }
    return {
        "AWSTemplateFormatVersion": template["AWSTemplateFormatVersion"],
        "Parameters": {name: template["Parameters"][name] for name in parameters},
        "Conditions": {
            name: template["Conditions"][name] for name in ("IsProd", "HasMediaOrigins")
        },
        "Resources": kept,
        "Outputs": outputs,
    }


@pytest.fixture(scope="module")
def deployed_stack(local_aws):
    cloudformation = aws.client("cloudformation")
    name = f"amphibian-cfn-{uuid.uuid4().hex[:6]}"
    part = data_part(load_template())
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(part),
        Parameters=[
            {"ParameterKey": key, "ParameterValue": PARAMETERS[key]}
            for key in ("Stage", "AppDomain")
        ],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    resources = {
        item["LogicalResourceId"]: item["PhysicalResourceId"]
        for item in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    }
    yield {"name": name, "resources": resources, "part": part}
    cloudformation.delete_stack(StackName=name)


def test_data_part_creates_every_table_and_bucket(deployed_stack):
    assert set(deployed_stack["resources"]) == {
        "SessionsTable",
        "DenylistTable",
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
    database = Database(postgres_url)
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

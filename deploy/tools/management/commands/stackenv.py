"""Turn the CloudFormation stack's outputs (deploy/aws) into a deploy target's environment.

    manage.py stackenv --stack amphibian-prod                      # env file (EC2, containers)
    manage.py stackenv --stack amphibian-dev --format zappa --stage dev          # print JSON
    manage.py stackenv --stack amphibian-dev --format zappa --stage dev --write  # update file
    aws cloudformation describe-stacks --stack-name amphibian-dev | manage.py stackenv --outputs -

``--stack`` reads the outputs through ``apps.core.aws`` with the current settings' endpoint and
credentials (the local target's point at the local stack); ``--outputs`` takes the JSON of
``aws cloudformation describe-stacks`` instead, which is what ``make deploy-infra`` uses.
Only names and ids come from the stack; secrets stay in SSM (SECRETS_SSM_PATH points there) and
the database's password in RDS's own secret (DATABASE_SECRET_ARN). For Zappa the stack also decides
the stage's role, VPC and reserved concurrency (``ZAPPA_OUTPUTS``).
"""

import json
import os
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core import aws

# Stack output -> (variable, format of its value). Every variable the deployed settings
# need from the stack is here; tests/cloudformation/test_template.py checks the template has them.
STACK_OUTPUTS = {
    "Region": [("AWS_REGION", "{}")],
    "AppDomain": [
        ("DJANGO_ALLOWED_HOSTS", "{}"),
        ("DJANGO_CSRF_TRUSTED_ORIGINS", "https://{}"),
        ("CANONICAL_HOST", "{}"),
    ],
    "CanonicalHostHeader": [("CANONICAL_HOST_HEADER", "{}")],
    "SessionsTableName": [("SESSIONS_TABLE", "{}")],
    "DenylistTableName": [("TOKEN_DENYLIST_TABLE", "{}")],
    "RateLimitsTableName": [("RATE_LIMITS_TABLE", "{}")],
    "MediaBucketName": [("MEDIA_BUCKET", "{}")],
    "StaticBucketName": [("STATIC_BUCKET", "{}")],
    "CdnDomainName": [("STATIC_CDN_DOMAIN", "{}")],
    "UserPoolId": [("COGNITO_USER_POOL_ID", "{}")],
    "AppClientId": [("COGNITO_APP_CLIENT_ID", "{}")],
    "CognitoDomain": [("COGNITO_DOMAIN", "{}")],
    "SecretsParameterPath": [("SECRETS_SSM_PATH", "{}")],
    # The password stays in RDS's own secret; the settings build DATABASE_URL from it.
    "DatabaseSecretArn": [("DATABASE_SECRET_ARN", "{}")],
    "DatabasePort": [("DATABASE_PORT", "{}")],
    "DatabaseName": [("DATABASE_NAME", "{}")],
    "FailedInvocationsQueueUrl": [("TASKS_FAILED_QUEUE_URL", "{}")],
}
# Where each target reaches the database: servers keep pooled connections to the instance,
# the function goes through RDS Proxy (one connection per instance would exhaust it).
TARGET_OUTPUTS = {
    "env": {"DatabaseEndpoint": [("DATABASE_HOST", "{}")]},
    "zappa": {"DatabaseProxyEndpoint": [("DATABASE_HOST", "{}")]},
}
# Stack outputs that become a Zappa stage's own settings rather than variables: the role the
# stack made (Zappa then creates none), the VPC the function runs in, its reserved concurrency.
ZAPPA_OUTPUTS = (
    "FunctionRoleArn",
    "PrivateSubnetIds",
    "FunctionSecurityGroupId",
    "ReservedConcurrency",
)

# What each format adds besides the outputs.
TARGET_ENV = {
    "env": {"DJANGO_DEPLOY_TARGET": "server", "DJANGO_TRUST_X_FORWARDED_PROTO": "true"},
    "zappa": {"DJANGO_DEPLOY_TARGET": "lambda"},
}
# Lambda sets these itself and refuses them in a function's configuration.
LAMBDA_RESERVED = {"AWS_REGION", "AWS_DEFAULT_REGION"}


def stack_outputs(stack_name):
    """``{OutputKey: OutputValue}`` of ``stack_name``."""
    cloudformation = aws.client("cloudformation")
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:
        raise CommandError(f"Could not describe stack {stack_name}: {exc}") from exc
    return {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}


def outputs_from_describe_stacks(text):
    """``{OutputKey: OutputValue}`` from the JSON ``describe-stacks`` prints (one stack)."""
    try:
        stacks = json.loads(text)["Stacks"]
    except (ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"Not the JSON of describe-stacks: {exc}") from exc
    if len(stacks) != 1:
        raise CommandError(f"Expected the outputs of one stack, got {len(stacks)}.")
    return {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}


def environment_from_outputs(outputs, target_format):
    """The variables for ``target_format`` (``env`` or ``zappa``) and the outputs not found."""
    variables = dict(TARGET_ENV[target_format])
    missing = []
    for output, targets in {**STACK_OUTPUTS, **TARGET_OUTPUTS[target_format]}.items():
        if output not in outputs:
            missing.append(output)
            continue
        for name, template in targets:
            variables[name] = template.format(outputs[output])
    if target_format == "zappa":
        variables = {k: v for k, v in variables.items() if k not in LAMBDA_RESERVED}
    return variables, missing


def zappa_stage_settings(outputs):
    """The Zappa stage settings the stack decides, and the outputs they need that are missing.

    Nothing is returned unless every one of ``ZAPPA_OUTPUTS`` is there: a stack without its
    network or role (the data part alone) leaves Zappa's own defaults in place.
    """
    missing = [name for name in ZAPPA_OUTPUTS if name not in outputs]
    if missing:
        return {}, missing
    return {
        "manage_roles": False,
        "role_arn": outputs["FunctionRoleArn"],
        "vpc_config": {
            "SubnetIds": outputs["PrivateSubnetIds"].split(","),
            "SecurityGroupIds": [outputs["FunctionSecurityGroupId"]],
        },
        "lambda_concurrency": int(outputs["ReservedConcurrency"]),
    }, []


def write_zappa_stage(path, stage, variables, stage_settings=None):
    """Merge ``variables`` into the stage's ``aws_environment_variables`` and set
    ``stage_settings`` (``zappa_stage_settings``); nothing else changes. Returns whether the
    file changed.

    Read-modify-write of the whole file, replaced atomically, so other stages, events and
    keys written by other tools (``manage.py schedules --write``) are kept as they are.
    """
    path = Path(path)
    text = path.read_text()
    document = json.loads(text)
    if stage not in document:
        raise CommandError(f"{path} has no stage {stage!r}; stages: {', '.join(document)}.")
    document[stage].setdefault("aws_environment_variables", {}).update(variables)
    document[stage].update(stage_settings or {})
    new_text = json.dumps(document, indent=4) + "\n"
    if new_text == text:
        return False
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(new_text)
    os.replace(handle.name, path)
    return True


class Command(BaseCommand):
    help = (
        "Print (or, for Zappa, write) a deploy target's environment from the outputs of the "
        "deploy/aws CloudFormation stack."
    )

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--stack", help="CloudFormation stack name (read through boto3).")
        source.add_argument(
            "--outputs",
            help="File with `aws cloudformation describe-stacks` JSON, or - for stdin.",
        )
        parser.add_argument(
            "--format",
            dest="target_format",
            choices=sorted(TARGET_ENV),
            default="env",
            help="env: an env file (EC2, containers); zappa: a stage's aws_environment_variables.",
        )
        parser.add_argument("--stage", help="Zappa stage (with --format zappa).")
        parser.add_argument(
            "--write",
            action="store_true",
            help="Update the stage's aws_environment_variables in --zappa-settings in place.",
        )
        parser.add_argument(
            "--zappa-settings",
            default=str(Path(settings.BASE_DIR) / "zappa_settings.json"),
            help="Path of zappa_settings.json (default: the project's).",
        )

    def handle(
        self, *args, stack, outputs, target_format, stage, write, zappa_settings, **options
    ):
        if target_format == "zappa" and not stage:
            raise CommandError("--format zappa needs --stage.")
        if write and target_format != "zappa":
            raise CommandError("--write only updates zappa_settings.json; use --format zappa.")
        if stack:
            found = stack_outputs(stack)
        else:
            text = sys.stdin.read() if outputs == "-" else Path(outputs).read_text()
            found = outputs_from_describe_stacks(text)
            stack = outputs
        variables, missing = environment_from_outputs(found, target_format)
        stage_settings = {}
        if target_format == "zappa":
            stage_settings, missing_settings = zappa_stage_settings(found)
            missing += missing_settings
        if missing:
            self.stderr.write(f"Not in the outputs of {stack}: {', '.join(missing)}")
        if any("\n" in value for value in variables.values()):
            raise CommandError(f"An output of {stack} spans lines; it cannot be an env value.")
        if target_format == "env":
            self.stdout.write("".join(f"{name}={value}\n" for name, value in variables.items()))
        elif write:
            changed = write_zappa_stage(zappa_settings, stage, variables, stage_settings)
            state = "Updated" if changed else "No change to"
            self.stderr.write(f"{state} stage {stage} in {zappa_settings}")
        else:
            document = {"aws_environment_variables": variables, **stage_settings}
            self.stdout.write(json.dumps(document, indent=4))

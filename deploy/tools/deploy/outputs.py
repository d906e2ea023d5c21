"""The CloudFormation stack's outputs (deploy/aws) as a deploy target's environment and,
for Zappa, the stage's settings: what ``manage.py stackenv`` prints or writes and what the
deploy's environment step writes.

Only names and ids come from the stack; secrets stay in SSM (SECRETS_SSM_PATH points there) and
the database's password in RDS's own secret (DATABASE_SECRET_ARN). For Zappa the stack also decides
the stage's role, VPC and reserved concurrency (``ZAPPA_OUTPUTS``).
"""

import json
import os
import tempfile
from pathlib import Path

from django.core.management.base import CommandError

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


def write_zappa_stage(path, stage, variables, stage_settings=None, *, dry_run=False):
    """Merge ``variables`` into the stage's ``aws_environment_variables`` and set
    ``stage_settings`` (``zappa_stage_settings``); nothing else changes. Returns whether the
    file changed (with ``dry_run``, would change; nothing is written).

    The media bucket's ObjectCreated trigger follows ``MEDIA_BUCKET``: its event source is
    the stack's bucket, not the placeholder the file started with.

    Read-modify-write of the whole file, replaced atomically, so other stages, events and
    keys written by other tools (``manage.py schedules --write``) are kept as they are.
    """
    path = Path(path)
    text = path.read_text()
    document = json.loads(text)
    if stage not in document:
        raise CommandError(f"{path} has no stage {stage!r}; stages: {', '.join(document)}.")
    environment = document[stage].setdefault("aws_environment_variables", {})
    old_bucket, new_bucket = environment.get("MEDIA_BUCKET"), variables.get("MEDIA_BUCKET")
    environment.update(variables)
    document[stage].update(stage_settings or {})
    if old_bucket and new_bucket:
        for event in document[stage].get("events", []):
            source = event.get("event_source", {})
            if source.get("arn") == f"arn:aws:s3:::{old_bucket}":
                source["arn"] = f"arn:aws:s3:::{new_bucket}"
    new_text = json.dumps(document, indent=4) + "\n"
    if new_text == text or dry_run:
        return new_text != text
    with tempfile.NamedTemporaryFile(
        "w", dir=path.parent, prefix=f".{path.name}.", delete=False
    ) as handle:
        handle.write(new_text)
    os.replace(handle.name, path)
    return True

"""The Lambda world's steps: static files, package, Zappa, the live alias and what invokes
it, migrate, smoke check."""

import hashlib
import os
import sys

from deploy.tools import staticfiles

from . import versions
from .infrastructure import ENVIRONMENT, SECRETS, STACK, ensure_deployment_bucket, require_outputs
from .steps import DeployError, Outcome, Step, code_sha256, http_status, until_ok

# Lambda's asynchronous invocations (tasks, S3 notifications): two retries, then the
# on-failure destination (it keeps the request and the response, a dead-letter queue only
# the request). Six hours of age: a task still queued after that is stale.
EVENT_INVOKE = {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 6 * 3600}
# `zappa ...` with our alias (zappa_cli), without the PyPI version check (--json) and
# progress bars.
ZAPPA = [sys.executable, "-m", "deploy.tools.deploy.zappa_cli"]
ZAPPA_FLAGS = ["--json", "--disable_progress"]
SMOKE_TIMEOUT = 120
# The rehearsal's endpoint variable for API Gateway's execute-api host (make test-deploy).
EXECUTE_API_ENDPOINT = "AMPHIBIAN_EXECUTE_API_ENDPOINT"


def function_variables(context):
    """The function's environment as the stage gives it (the collectstatic process uses it)."""
    inherited = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    return {
        **inherited,
        **context.stage_settings.get("aws_environment_variables", {}),
        "AWS_REGION": context.region,
        "DJANGO_DEPLOY_TARGET": "lambda",
    }


def static(context):
    variables = function_variables(context)
    if variables.get("DJANGO_STATIC_STORAGE") != "s3":
        return Outcome(False, "the stage serves static files from the package (whitenoise)")
    if not require_outputs(context):
        return Outcome(True, "would upload the static files to the new stack's bucket")
    manifest_dir = context.root / "var" / "deploy" / context.stage / "static-manifest"
    try:
        uploaded = staticfiles.publish(
            context.client("s3"), variables, manifest_dir, dry_run=context.plan
        )
    except RuntimeError as exc:
        raise DeployError(str(exc), "fix what collectstatic says above") from exc
    bucket = variables["STATIC_BUCKET"]
    if not uploaded:
        return Outcome(False, f"bucket {bucket} holds these static files")
    return Outcome(True, f"{'would upload' if context.plan else 'uploaded'} to bucket {bucket}")


def package(context):
    before = code_sha256(context.package_path) if context.package_path.exists() else None
    if context.plan:
        return Outcome(False, f"would build {context.package_path.name} (nothing deployed)")
    context.run_command(
        "the package build",
        [sys.executable, "deploy/lambda/package.py", "--stage", context.stage],
        timeout=1200,
    )
    size = context.package_path.stat().st_size / 1e6
    same = before == code_sha256(context.package_path)
    return Outcome(False, f"{context.package_path.name}, {size:.1f} MB" + (" (same)" * same))


def upload_package(context):
    """The zip into the deployment bucket, named by its digest (once): Lambda takes it from
    there, and the bucket keeps every release's code (what ran, and what to roll back to)."""
    bucket, _ = ensure_deployment_bucket(context)
    body = context.package_path.read_bytes()
    key = f"packages/amphibian-{context.stage}-{hashlib.sha256(body).hexdigest()[:16]}.zip"
    s3 = context.client("s3")
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except s3.exceptions.ClientError:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    return f"s3://{bucket}/{key}"


def deployed_function(context):
    lambda_ = context.client("lambda")
    try:
        return lambda_.get_function(FunctionName=context.function_name)
    except lambda_.exceptions.ResourceNotFoundException:
        return None


def configuration_drift(context, function):
    """What differs between the deployed function and the stage (empty: nothing)."""
    stage = context.stage_settings
    configuration = function["Configuration"]
    drift = []
    if configuration.get("CodeSha256") != code_sha256(context.package_path):
        drift.append("code")
    deployed_env = configuration.get("Environment", {}).get("Variables", {})
    for name, value in stage.get("aws_environment_variables", {}).items():
        if deployed_env.get(name) != str(value):
            drift.append(f"variable {name}")
    checks = {
        "runtime": (configuration.get("Runtime"), stage["runtime"]),
        "memory": (configuration.get("MemorySize"), stage.get("memory_size", 512)),
        "timeout": (configuration.get("Timeout"), stage.get("timeout_seconds", 30)),
        "handler": (configuration.get("Handler"), stage["lambda_handler"]),
    }
    if "role_arn" in stage:
        checks["role"] = (configuration.get("Role"), stage["role_arn"])
    if "vpc_config" in stage:
        vpc = configuration.get("VpcConfig", {})
        wanted = stage["vpc_config"]
        checks["subnets"] = (sorted(vpc.get("SubnetIds", [])), sorted(wanted["SubnetIds"]))
        checks["security groups"] = (
            sorted(vpc.get("SecurityGroupIds", [])),
            sorted(wanted["SecurityGroupIds"]),
        )
    if "lambda_concurrency" in stage:
        reserved = function.get("Concurrency", {}).get("ReservedConcurrentExecutions")
        checks["reserved concurrency"] = (reserved, stage["lambda_concurrency"])
    drift += [name for name, (deployed, wanted) in checks.items() if deployed != wanted]
    return drift


def function(context):
    """``zappa deploy`` the first time, ``zappa update`` when code or configuration differ."""
    deployed = deployed_function(context) if require_outputs(context) else None
    if deployed is None:
        command, what = "deploy", "zappa deploy"
    elif not context.package_path.exists():
        if context.plan:
            return Outcome(True, "would compare after the package is built (make package)")
        raise DeployError("no package to deploy", "run the package step (make package)")
    else:
        drift = configuration_drift(context, deployed)
        if not drift:
            return Outcome(False, f"function {context.function_name} runs this package")
        command, what = "update", ", ".join(drift)
    done = {"deploy": "created", "update": "updated"}[command]
    if context.plan:
        return Outcome(True, f"would {done[:-1]} function {context.function_name} ({what})")
    zip_url = upload_package(context)
    settings_file = str(versions.zappa_settings_file(context))
    context.run_command(
        f"zappa {command}",
        [*ZAPPA, command, context.stage, "--zip", zip_url, "-s", settings_file, *ZAPPA_FLAGS],
    )
    return Outcome(True, f"{done} function {context.function_name} ({what})")


def event_invoke(context):
    """Retries, event age and the on-failure destination of asynchronous invocations of the
    alias (tasks and S3 notifications invoke it; a configuration without the qualifier
    would govern $LATEST only)."""
    outputs = require_outputs(context)
    if not outputs or (context.plan and versions.get_alias(context) is None):
        return Outcome(True, "would set retries and the on-failure destination")
    wanted = {
        **EVENT_INVOKE,
        "DestinationConfig": {
            "OnFailure": {"Destination": outputs["FailedInvocationsQueueArn"]},
            "OnSuccess": {},
        },
    }
    lambda_ = context.client("lambda")
    try:
        current = lambda_.get_function_event_invoke_config(
            FunctionName=context.function_name, Qualifier=versions.LIVE
        )
    except lambda_.exceptions.ResourceNotFoundException:
        current = {}
    found = {key: current.get(key) for key in EVENT_INVOKE}
    found["DestinationConfig"] = {
        "OnFailure": current.get("DestinationConfig", {}).get("OnFailure", {}),
        "OnSuccess": current.get("DestinationConfig", {}).get("OnSuccess", {}),
    }
    if found == wanted:
        return Outcome(False, "retries and on-failure destination as configured")
    if context.plan:
        return Outcome(True, "would set retries and the on-failure destination")
    lambda_.put_function_event_invoke_config(
        FunctionName=context.function_name, Qualifier=versions.LIVE, **wanted
    )
    queue = outputs["FailedInvocationsQueueArn"].rsplit(":", 1)[-1]
    return Outcome(True, f"{EVENT_INVOKE['MaximumRetryAttempts']} retries, then queue {queue}")


def api(context):
    """Zappa's API (its own stack, named after the function): (kind, id)."""
    try:
        resources = context.client("cloudformation").describe_stack_resources(
            StackName=context.function_name
        )["StackResources"]
    except context.client("cloudformation").exceptions.ClientError:
        return None, None
    kinds = {"AWS::ApiGateway::RestApi": "rest", "AWS::ApiGatewayV2::Api": "http"}
    for resource in resources:
        if resource["ResourceType"] in kinds:
            return kinds[resource["ResourceType"]], resource["PhysicalResourceId"]
    return None, None


def firewall(context):
    """The stack's web ACL on the REST API's stage (Zappa creates the API after the stack)."""
    outputs = require_outputs(context)
    if context.plan and not outputs:
        return Outcome(True, "would attach the new stack's web ACL (prod) to the API's stage")
    acl = outputs.get("WebAclArn")
    if not acl:
        return Outcome(False, "no web ACL on this stage")
    kind, api_id = api(context)
    if kind != "rest":
        if context.plan and api_id is None:
            return Outcome(True, "would attach the web ACL to the new REST API's stage")
        raise DeployError(
            f"the stage has a web ACL but its API is {kind or 'missing'}",
            'WAF attaches to REST APIs: set "apigateway_version": "v1" for the stage',
        )
    resource = f"arn:aws:apigateway:{context.region}::/restapis/{api_id}/stages/{context.stage}"
    wafv2 = context.client("wafv2")
    current = wafv2.get_web_acl_for_resource(ResourceArn=resource).get("WebACL") or {}
    if current.get("ARN") == acl:
        return Outcome(False, "the web ACL guards the API's stage")
    if context.plan:
        return Outcome(True, "would attach the web ACL to the API's stage")
    wafv2.associate_web_acl(WebACLArn=acl, ResourceArn=resource)
    return Outcome(True, f"attached the web ACL to {resource}")


def migrate(context):
    if context.plan:
        return Outcome(False, "would run manage.py migrate in the function")
    settings_file = str(versions.zappa_settings_file(context))
    output = context.run_command(
        "zappa manage migrate",
        [
            *ZAPPA,
            "manage",
            context.stage,
            "migrate --noinput",
            "--qualifier",
            versions.LIVE,
            "-s",
            settings_file,
        ],
    )
    applied = "No migrations to apply" not in output
    return Outcome(applied, "applied migrations" if applied else "no migrations to apply")


def stage_url(context):
    _, api_id = api(context)
    if api_id is None:
        raise DeployError(
            f"Zappa's stack {context.function_name} has no API", "run the function step again"
        )
    endpoint = os.environ.get(EXECUTE_API_ENDPOINT)
    if endpoint:
        return f"{endpoint.rstrip('/')}/{api_id}/{context.stage}"
    return f"https://{api_id}.execute-api.{context.region}.amazonaws.com/{context.stage}"


def smoke(context):
    """/readyz through the stage's URL answers 200 (the database, tables, buckets, keys)."""
    if context.plan:
        return Outcome(False, "would check /readyz through the stage's URL")
    url = f"{stage_url(context)}/readyz"
    answer = until_ok(lambda: http_status(url), SMOKE_TIMEOUT)
    if answer is None:
        return Outcome(False, f"{url}: 200")
    raise DeployError(
        f"{url} did not answer 200 in {SMOKE_TIMEOUT} s (last: {answer})",
        f"read the function's logs (zappa tail {context.stage}); /readyz names the failing "
        "dependency",
    )


STEPS = [
    STACK,
    ENVIRONMENT,
    SECRETS,
    Step("static", static, "check that the credentials may write to the static bucket"),
    Step("package", package, "run make package and read its output"),
    Step("function", function, "check the credentials may manage Lambda, API Gateway, S3"),
    Step(
        "release",
        versions.release,
        "check the credentials may call lambda:GetAlias, ListVersionsByFunction, UpdateAlias",
    ),
    Step(
        "event-invoke",
        event_invoke,
        "check the credentials may call lambda:PutFunctionEventInvokeConfig",
    ),
    Step(
        "schedules",
        versions.schedules,
        "check the credentials may manage EventBridge rules and lambda:AddPermission",
    ),
    Step(
        "notifications",
        versions.notifications,
        "check the credentials may call s3:PutBucketNotification and lambda:AddPermission",
    ),
    Step("firewall", firewall, "check the credentials may call wafv2:AssociateWebACL"),
    Step("migrate", migrate, "read the function's logs: zappa tail <stage>"),
    Step("smoke", smoke, "read the function's logs: zappa tail <stage>"),
    Step("prune", versions.prune, "check the credentials may call lambda:DeleteFunction"),
]

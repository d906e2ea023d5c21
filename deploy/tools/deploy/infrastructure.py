"""The steps both worlds share: the stack, its outputs as the stage's settings, the secrets."""

import base64
import hashlib
import json

from deploy.aws import resources

from .outputs import (
    environment_from_outputs,
    write_zappa_stage,
    zappa_stage_settings,
)
from .steps import PARAMETERS, TEMPLATE, TEMPLATE_BODY_LIMIT, DeployError, Outcome, Step

# RDS and the CDN take minutes; CloudFormation's own limit is far longer.
STACK_WAIT = {"Delay": 10, "MaxAttempts": 360}
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
# Parameters the deploy itself sets (the server world's release): unless a step sets them,
# they keep what the stack runs with, so `make deploy` never rolls the service back.
DEPLOY_OWNED = ("ContainerImage",)
FAILED_EVENT = ("CREATE_FAILED", "UPDATE_FAILED", "DELETE_FAILED")


def decode_template(body):
    """The template as data, decoded the way cfn-lint reads it (its tags become intrinsics)."""
    from cfnlint.decode import decode_str

    template, errors = decode_str(body)
    if errors:
        raise DeployError(
            f"{TEMPLATE} does not parse: {errors[0]}", "run make test (cfn-lint) and fix it"
        )
    return template


def stack_parameters(context):
    """The stage's template parameters: deploy/aws/parameters/<stage>.json, and Stage."""
    path = context.root / PARAMETERS / f"{context.stage}.json"
    if not path.exists():
        raise DeployError(
            f"{path.relative_to(context.root)} is missing",
            f"copy deploy/aws/parameters/prod.json to {path.name} and set the stage's values",
        )
    values = {name: str(value) for name, value in json.loads(path.read_text()).items()}
    if values.get("EnableEc2") == "true" and "Ec2UserData" not in values:
        # The instances' user data: deploy/ec2/cloud-init.yaml, placeholders filled first.
        user_data = (context.root / "deploy" / "ec2" / "cloud-init.yaml").read_bytes()
        values["Ec2UserData"] = base64.b64encode(user_data).decode()
    return {**values, "Stage": context.stage}


def deployed_parameters(template, stack):
    """What the stack runs with: every template parameter, defaults included."""
    given = {item["ParameterKey"]: item["ParameterValue"] for item in stack.get("Parameters", [])}
    return {
        name: given.get(name, str(spec.get("Default", "")))
        for name, spec in template["Parameters"].items()
    }


def expected_parameters(template, parameters):
    return {
        name: parameters.get(name, str(spec.get("Default", "")))
        for name, spec in template["Parameters"].items()
    }


def describe_stack(cloudformation, name):
    try:
        return cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    except cloudformation.exceptions.ClientError as exc:
        if "does not exist" in str(exc):
            return None
        raise


def outputs_of(stack):
    return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}


def ensure_deployment_bucket(context):
    """Zappa's deployment bucket (the stage's ``s3_bucket``): private, encrypted. The stack's
    template goes through it when it is too large to pass inline, and Zappa uploads the zips."""
    bucket = context.stage_settings["s3_bucket"]
    s3 = context.client("s3")
    created = resources.ensure_private_bucket(s3, bucket, context.region)
    return bucket, created


def stack(context):
    body = (context.root / TEMPLATE).read_text()
    template = decode_template(body)
    parameters = stack_parameters(context)
    unknown = sorted(set(parameters) - set(template["Parameters"]))
    if unknown:
        raise DeployError(
            f"the parameter file names {', '.join(unknown)}, which the template does not have",
            f"remove them from deploy/aws/parameters/{context.stage}.json",
        )
    cloudformation = context.client("cloudformation")
    current = describe_stack(cloudformation, context.stack_name)
    for name in DEPLOY_OWNED:
        if name in context.parameter_overrides:
            parameters[name] = context.parameter_overrides[name]
        elif current and name in template["Parameters"]:
            parameters[name] = deployed_parameters(template, current)[name]
    if current and current["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED"):
        raise DeployError(
            f"stack {context.stack_name} is {current['StackStatus']} (its creation failed)",
            f"read its events (aws cloudformation describe-stack-events --stack-name "
            f"{context.stack_name}), delete it (aws cloudformation delete-stack), deploy again",
        )
    if current and current["StackStatus"].endswith("_IN_PROGRESS"):
        raise DeployError(
            f"stack {context.stack_name} is {current['StackStatus']}",
            "wait for the operation in progress to finish, then deploy again",
        )
    expected = expected_parameters(template, parameters)
    if current:
        deployed_body = cloudformation.get_template(
            StackName=context.stack_name, TemplateStage="Original"
        )["TemplateBody"]
        changes = [
            name
            for name in expected
            if deployed_parameters(template, current).get(name) != expected[name]
        ]
        if deployed_body == body and not changes:
            context.outputs = outputs_of(current)
            return Outcome(False, f"stack {context.stack_name} is up to date")
        what = ", ".join(
            (["template"] if deployed_body != body else []) + [f"parameter {n}" for n in changes]
        )
    else:
        what = "new stack"
    action = "update" if current else "create"
    if context.plan:
        return Outcome(True, f"would {action} stack {context.stack_name} ({what})")
    arguments = {
        "StackName": context.stack_name,
        "Parameters": [
            {"ParameterKey": name, "ParameterValue": value} for name, value in parameters.items()
        ],
        "Capabilities": CAPABILITIES,
        "Tags": [{"Key": "amphibian:stage", "Value": context.stage}],
    }
    arguments.update(template_argument(context, body))
    if current:
        cloudformation.update_stack(**arguments)
    else:
        cloudformation.create_stack(
            **arguments, EnableTerminationProtection=context.stage == "prod"
        )
    waiter = cloudformation.get_waiter(f"stack_{action}_complete")
    from botocore.exceptions import WaiterError

    try:
        waiter.wait(StackName=context.stack_name, WaiterConfig=STACK_WAIT)
    except WaiterError as exc:
        raise DeployError(
            f"stack {context.stack_name} did not {action}: {failure_reasons(context)}",
            "fix the cause above and deploy again (a stack whose creation failed must be "
            "deleted first)",
        ) from exc
    context.outputs = outputs_of(describe_stack(cloudformation, context.stack_name))
    return Outcome(True, f"{action}d stack {context.stack_name} ({what})")


def template_argument(context, body):
    """``TemplateBody``, or ``TemplateURL`` through the deployment bucket when it is large."""
    if len(body.encode()) <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body}
    bucket, _ = ensure_deployment_bucket(context)
    key = f"cloudformation/amphibian-{hashlib.sha256(body.encode()).hexdigest()[:16]}.yaml"
    context.client("s3").put_object(Bucket=bucket, Key=key, Body=body.encode())
    region = context.region
    host = "s3.amazonaws.com" if region == "us-east-1" else f"s3.{region}.amazonaws.com"
    return {"TemplateURL": f"https://{bucket}.{host}/{key}"}


def failure_reasons(context):
    events = context.client("cloudformation").describe_stack_events(StackName=context.stack_name)[
        "StackEvents"
    ]
    reasons = [
        f"{event['LogicalResourceId']}: {event.get('ResourceStatusReason', '')}"
        for event in events
        if event["ResourceStatus"] in FAILED_EVENT
    ]
    return "; ".join(reasons[:5]) or "no failed resource reported"


def require_outputs(context):
    """The stack's outputs; planning a stage whose stack does not exist yet has none."""
    if not context.outputs:
        stack = describe_stack(context.client("cloudformation"), context.stack_name)
        if stack:
            context.outputs = outputs_of(stack)
    return context.outputs


def environment(context):
    """The stack's outputs into the stage's settings in zappa_settings.json (stackenv)."""
    outputs = require_outputs(context)
    if not outputs:
        return Outcome(True, "would write the new stack's outputs into zappa_settings.json")
    variables, missing = environment_from_outputs(outputs, "zappa")
    stage_settings, missing_settings = zappa_stage_settings(outputs)
    missing += missing_settings
    if missing:
        raise DeployError(
            f"stack {context.stack_name} lacks the outputs {', '.join(missing)}",
            "deploy the stack from this tree's deploy/aws/amphibian.yaml",
        )
    changed = write_zappa_stage(
        context.settings_path, context.stage, variables, stage_settings, dry_run=context.plan
    )
    verb = ("would update" if context.plan else "updated") if changed else "up to date:"
    return Outcome(changed, f"{verb} stage {context.stage} in zappa_settings.json")


def secret_names(variables):
    """The SSM secrets the function loads (project/settings/secrets.py's rule)."""
    from project.settings import secrets

    defaults = [
        name
        for name in secrets.DEFAULT_NAMES
        if not (variables.get("DATABASE_SECRET_ARN") and name == "DATABASE_URL")
    ]
    listed = variables.get("SECRETS_SSM_NAMES")
    return [name.strip() for name in listed.split(",")] if listed else defaults


def secrets(context):
    """Every secret the function will load at cold start exists (never its value)."""
    outputs = require_outputs(context)
    if context.plan and not outputs:
        return Outcome(False, "would check the secrets under the new stack's path")
    # The server world's variables come from the stack, the function's from its stage.
    variables = {
        **environment_from_outputs(outputs, "env")[0],
        **context.stage_settings.get("aws_environment_variables", {}),
    }
    path = variables.get("SECRETS_SSM_PATH")
    if not path:
        return Outcome(False, "the stage loads no secrets (no SECRETS_SSM_PATH)")
    names = [f"{path.rstrip('/')}/{name}" for name in secret_names(variables)]
    found = context.client("ssm").get_parameters(Names=names, WithDecryption=False)
    missing = sorted(found.get("InvalidParameters", []))
    if missing:
        raise DeployError(
            f"SSM parameter {', '.join(missing)} is missing",
            "create it once per stage, e.g. aws ssm put-parameter --type SecureString "
            f"--name {missing[0]} --value \"$(python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(50))')\"",
        )
    secret_arn = variables.get("DATABASE_SECRET_ARN")
    if secret_arn:
        context.client("secretsmanager").describe_secret(SecretId=secret_arn)
    return Outcome(
        False, f"present: {', '.join(names)}" + (", the database's" if secret_arn else "")
    )


STACK = Step(
    "stack",
    stack,
    "check the credentials (aws sts get-caller-identity) and that they may manage "
    "CloudFormation stacks and the resources in deploy/aws/amphibian.yaml",
)
ENVIRONMENT = Step("environment", environment, "check the stack's outputs")
SECRETS = Step(
    "secrets",
    secrets,
    "check that the credentials may call ssm:GetParameters on the stage's secrets path",
)

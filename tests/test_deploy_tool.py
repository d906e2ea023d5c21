"""The deploy's steps in this process, against a fresh emulated account (manage.py
emulatedaws): plan changes nothing, a failed step stops the run naming what to do, and a step
that finds what it wants changes nothing. The whole deploy, as a user runs it, is rehearsed by
make test-deploy (tests/deploy/)."""

import io
import json
import shutil

import boto3.session
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from deploy.tools.deploy import function
from deploy.tools.deploy.infrastructure import ENVIRONMENT, SECRETS, STACK
from deploy.tools.deploy.steps import Context, DeployError, StepFailed, run
from deploy.tools.harness.processes import ROOT
from deploy.tools.rehearsal.emulator import EmulatedAccountProcess
from tests.support.rehearsal import imported_certificate

FILES = ("zappa_settings.json", "deploy/aws/amphibian.yaml", "deploy/aws/parameters/prod.json")


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    process = EmulatedAccountProcess(state_dir=tmp_path_factory.mktemp("account")).start()
    yield process
    process.stop()


@pytest.fixture
def tree(tmp_path, account, monkeypatch):
    """What the steps read of a tree, copied, and this process's AWS calls to the account."""
    for name in FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.setenv("AWS_ENDPOINT_URL", account.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIADEPLOYTOOLTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "deploy-tool-test")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    # The certificates a user issues first (the load balancer's listener needs its own).
    parameters = tmp_path / "deploy/aws/parameters/prod.json"
    values = json.loads(parameters.read_text())
    acm = client(account, "acm")
    for name, domain in (
        ("CertificateArn", "AppDomain"),
        ("AlbCertificateArn", "AppOriginDomain"),
    ):
        values[name] = imported_certificate(acm, values[domain])
    parameters.write_text(json.dumps(values))
    return tmp_path


def context(tree, stage="prod", plan=False):
    lines = []
    return Context(stage=stage, root=tree, plan=plan, out=lines.append), lines


def client(account, service):
    session = boto3.session.Session(
        aws_access_key_id="AKIADEPLOYTOOLTEST",
        aws_secret_access_key="deploy-tool-test",
        region_name="us-east-1",
    )
    return session.client(service, endpoint_url=account.url)


def test_a_plan_of_an_empty_account_changes_nothing(tree, account):
    planning, lines = context(tree, plan=True)
    before = (tree / "zappa_settings.json").read_bytes()
    changed = run(function.STEPS, planning)
    assert changed >= 5
    assert lines[1] == "[1/10] ~ stack: would create stack amphibian-prod-infra (new stack)"
    assert lines[-1].endswith("nothing was changed.")
    assert client(account, "cloudformation").list_stacks()["StackSummaries"] == []
    assert (tree / "zappa_settings.json").read_bytes() == before


def test_the_stack_then_its_outputs_then_the_missing_secret_stops_the_run(tree, account):
    deploying, lines = context(tree)
    with pytest.raises(StepFailed) as stopped:
        run([STACK, ENVIRONMENT, SECRETS], deploying)
    assert stopped.value.step == "secrets"
    message = str(stopped.value)
    assert "SSM parameter /amphibian/prod/secrets/DJANGO_SECRET_KEY is missing" in message
    assert "Next: create it once per stage, e.g. aws ssm put-parameter" in message
    prod = json.loads((tree / "zappa_settings.json").read_text())["prod"]
    outputs = deploying.outputs
    assert prod["role_arn"] == outputs["FunctionRoleArn"]
    assert prod["vpc_config"]["SecurityGroupIds"] == [outputs["FunctionSecurityGroupId"]]
    assert prod["aws_environment_variables"]["DATABASE_HOST"] == outputs["DatabaseProxyEndpoint"]

    client(account, "ssm").put_parameter(
        Name="/amphibian/prod/secrets/DJANGO_SECRET_KEY", Value="x" * 50, Type="SecureString"
    )
    again, lines = context(tree)
    assert run([STACK, ENVIRONMENT, SECRETS], again) == 0
    assert lines[1] == "[1/3] = stack: stack amphibian-prod-infra is up to date"
    assert lines[-1] == "No change: what is deployed is what this tree describes."


def test_a_changed_parameter_updates_the_stack(tree, account):
    run([STACK], context(tree)[0])  # created, or already there
    parameters = tree / "deploy/aws/parameters/prod.json"
    values = json.loads(parameters.read_text())
    parameters.write_text(json.dumps({**values, "RateLimitPer5Min": "1500"}))
    planning, lines = context(tree, plan=True)
    run([STACK], planning)
    assert lines[1] == (
        "[1/1] ~ stack: would update stack amphibian-prod-infra (parameter RateLimitPer5Min)"
    )
    deploying, lines = context(tree)
    run([STACK], deploying)
    assert lines[1].startswith("[1/1] ~ stack: updated stack amphibian-prod-infra")
    [stack] = client(account, "cloudformation").describe_stacks(StackName="amphibian-prod-infra")[
        "Stacks"
    ]
    given = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert given["RateLimitPer5Min"] == "1500"


def test_a_parameter_the_template_lacks_is_refused_before_any_call(tree):
    parameters = tree / "deploy/aws/parameters/prod.json"
    parameters.write_text(json.dumps({**json.loads(parameters.read_text()), "Colour": "blue"}))
    deploying, _ = context(tree)
    with pytest.raises(StepFailed, match="the parameter file names Colour"):
        run([STACK], deploying)


def test_an_unknown_stage_or_step_is_a_clear_error():
    with pytest.raises(CommandError, match="no stage 'qa'"):
        call_command("deploy", "qa", stdout=io.StringIO())
    with pytest.raises(CommandError, match="No step bake in the lambda world"):
        call_command("deploy", "prod", "--step", "bake", stdout=io.StringIO())


def test_drift_names_what_differs_from_the_stage(tree):
    deploying, _ = context(tree)
    package = tree / "var/package/amphibian-prod.zip"
    package.parent.mkdir(parents=True)
    package.write_bytes(b"PK not really a zip")
    stage = deploying.stage_settings
    deployed = {
        "Configuration": {
            "CodeSha256": function.code_sha256(package),
            "Environment": {"Variables": dict(stage["aws_environment_variables"])},
            "Runtime": stage["runtime"],
            "MemorySize": stage["memory_size"],
            "Timeout": stage["timeout_seconds"],
            "Handler": stage["lambda_handler"],
        }
    }
    assert function.configuration_drift(deploying, deployed) == []
    deployed["Configuration"]["MemorySize"] = 128
    deployed["Configuration"]["Environment"]["Variables"]["SESSIONS_TABLE"] = "other"
    assert function.configuration_drift(deploying, deployed) == [
        "variable SESSIONS_TABLE",
        "memory",
    ]
    with pytest.raises(DeployError, match="no stage 'qa'"):
        Context(stage="qa", root=tree).stage_settings  # noqa: B018

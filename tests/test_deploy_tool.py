"""The deploy's steps in this process, against a fresh emulated account (manage.py
emulatedaws): plan changes nothing, a failed step stops the run naming what to do, and a step
that finds what it wants changes nothing. The whole deploy, as a user runs it, is rehearsed by
make test-deploy (tests/deploy/)."""

import io
import json
import shutil
import uuid
import zipfile

import boto3.session
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from deploy.tools.deploy import function, versions
from deploy.tools.deploy.infrastructure import ENVIRONMENT, SECRETS, STACK
from deploy.tools.deploy.steps import Context, DeployError, StepFailed, code_sha256, run
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
    steps = len(function.STEPS)
    assert lines[1] == f"[1/{steps}] ~ stack: would create stack amphibian-prod-infra (new stack)"
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
            "CodeSha256": code_sha256(package),
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


# --- The live alias and its invokers (deploy/tools/deploy/versions.py) -----------------------


def function_zip(text):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", f"def handler(event, context):\n    return {text!r}\n")
    return buffer.getvalue()


@pytest.fixture
def live(tree, account):
    """amphibian-prod as Zappa leaves it after a first deploy: version 1, live on it."""
    iam, lambda_ = client(account, "iam"), client(account, "lambda")
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ]
    }
    role = iam.create_role(
        RoleName=f"function-{uuid.uuid4().hex[:8]}", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    for found in lambda_.list_functions()["Functions"]:
        lambda_.delete_function(FunctionName=found["FunctionName"])
    lambda_.create_function(
        FunctionName="amphibian-prod",
        Runtime="python3.13",
        Role=role,
        Handler="handler.handler",
        Code={"ZipFile": function_zip("v1")},
        Publish=True,
    )
    lambda_.create_alias(FunctionName="amphibian-prod", Name="live", FunctionVersion="1")
    deploying, _lines = context(tree)
    deploying.outputs = {"FunctionName": "amphibian-prod"}  # the stack's, as the steps read them
    return deploying, lambda_


def publish(lambda_, text, move=True):
    """A deploy's new code, published, and live moved to it (what Zappa's update does)."""
    lambda_.update_function_code(FunctionName="amphibian-prod", ZipFile=function_zip(text))
    version = lambda_.publish_version(FunctionName="amphibian-prod")["Version"]
    if move:
        lambda_.update_alias(FunctionName="amphibian-prod", Name="live", FunctionVersion=version)
    return version


def test_release_records_each_move_and_rollback_walks_back(live):
    deploying, lambda_ = live
    assert versions.release(deploying).summary == "live is version 1 (previous release: none)"
    second = publish(lambda_, "v2")
    assert versions.release(deploying).summary == f"live is version {second} (previous release: 1)"
    assert versions.release(deploying).changed is False  # a second run changes nothing
    assert versions.rollback(deploying).summary == f"moved live from version {second} to 1"
    with pytest.raises(DeployError, match="no earlier release recorded"):
        versions.rollback(deploying)
    with pytest.raises(DeployError, match="has no version 99"):
        versions.rollback(deploying, "99")
    assert versions.rollback(deploying, second).summary == f"moved live from version 1 to {second}"
    alias = lambda_.get_alias(FunctionName="amphibian-prod", Name="live")
    assert alias["FunctionVersion"] == second
    assert versions.history(alias) == [second]


def test_release_moves_live_to_the_code_of_this_tree(live):
    deploying, lambda_ = live
    versions.release(deploying)
    second = publish(lambda_, "v2")
    versions.release(deploying)
    versions.rollback(deploying)
    # The tree's package is version 2's code: the next deploy moves live forward again.
    deploying.package_path.parent.mkdir(parents=True, exist_ok=True)
    deploying.package_path.write_bytes(function_zip("v2"))
    outcome = versions.release(deploying)
    assert outcome.summary == f"moved live to version {second}, which runs this code"
    deploying.package_path.write_bytes(function_zip("never deployed"))
    with pytest.raises(DeployError, match="no published version of amphibian-prod runs this"):
        versions.release(deploying)


def test_prune_keeps_the_newest_and_every_recorded_release(live):
    deploying, lambda_ = live
    versions.release(deploying)  # 1 recorded
    for text in range(2, 9):
        publish(lambda_, f"v{text}", move=False)
    outcome = versions.prune(deploying)
    assert outcome.summary == "deleted version(s) 2, 3; kept 6"
    left = [v["Version"] for v in versions.published_versions(deploying)]
    assert left == ["1", "4", "5", "6", "7", "8"]
    assert versions.prune(deploying).changed is False


def test_schedules_target_the_alias_replacing_zappas_latest_targets(live, account):
    deploying, lambda_ = live
    events = client(account, "events")
    for rule in events.list_rules()["Rules"]:
        ids = [t["Id"] for t in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]]
        if ids:
            events.remove_targets(Rule=rule["Name"], Ids=ids)
        events.delete_rule(Name=rule["Name"])
    unqualified = lambda_.get_function(FunctionName="amphibian-prod")["Configuration"][
        "FunctionArn"
    ]
    # What an earlier deploy through Zappa left: a rule on $LATEST, and one no longer wanted.
    wanted = versions.wanted_rules(deploying)
    kept = next(iter(wanted))
    for name in (kept, "amphibian-prod-gone-deploy.lambda.schedules.run_scheduled"):
        events.put_rule(Name=name, ScheduleExpression="rate(1 day)")
        events.put_targets(Rule=name, Targets=[{"Id": "zappa", "Arn": unqualified}])
    outcome = versions.schedules(deploying)
    assert outcome.changed
    rules = {rule["Name"]: rule for rule in events.list_rules()["Rules"]}
    assert set(rules) == set(wanted)
    for name, (expression, _description, event) in wanted.items():
        assert rules[name]["ScheduleExpression"] == expression
        [target] = events.list_targets_by_rule(Rule=name)["Targets"]
        assert target["Arn"] == f"{unqualified}:live"
        template = json.loads(
            target["InputTransformer"]["InputTemplate"].replace("<", '"<').replace(">", '>"')
        )
        assert template["kwargs"] == event["kwargs"]
    policy = json.loads(
        lambda_.get_policy(FunctionName="amphibian-prod", Qualifier="live")["Policy"]
    )
    sources = {s["Condition"]["ArnLike"]["AWS:SourceArn"] for s in policy["Statement"]}
    assert {rules[name]["Arn"] for name in wanted} <= sources
    assert versions.schedules(deploying).changed is False


def test_rule_names_are_zappas_so_its_handler_routes_them():
    from zappa.core import Zappa

    events = json.loads((ROOT / "zappa_settings.json").read_text())["prod"]["events"]
    long_name = {"name": "n" * 20, "function": "deploy.lambda.schedules.run_scheduled"}
    for event in [e for e in events if "expression" in e] + [long_name]:
        for index in (0, 1):
            assert versions.rule_name("amphibian-prod", event, index) == (
                Zappa.get_scheduled_event_name(
                    Zappa, event, event["function"], "amphibian-prod", index
                )
            )


def test_notifications_send_the_buckets_events_to_the_alias_and_keep_others(live, account):
    deploying, _lambda = live
    s3, sqs = client(account, "s3"), client(account, "sqs")
    [source] = [e for e in deploying.stage_settings["events"] if "event_source" in e]
    bucket = source["event_source"]["arn"].removeprefix("arn:aws:s3:::")
    s3.create_bucket(Bucket=bucket)
    queue = sqs.get_queue_attributes(
        QueueUrl=sqs.create_queue(QueueName="someone-elses")["QueueUrl"],
        AttributeNames=["QueueArn"],
    )["Attributes"]["QueueArn"]
    others = {
        "QueueConfigurations": [
            {"Id": "theirs", "QueueArn": queue, "Events": ["s3:ObjectRemoved:*"]}
        ]
    }
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=others)
    assert versions.notifications(deploying).changed
    configuration = s3.get_bucket_notification_configuration(Bucket=bucket)
    [ours] = configuration["LambdaFunctionConfigurations"]
    assert ours["LambdaFunctionArn"].endswith(":function:amphibian-prod:live")
    assert ours["Id"] == f"amphibian-prod:{source['function']}"
    assert [q["Id"] for q in configuration["QueueConfigurations"]] == ["theirs"]
    assert versions.notifications(deploying).changed is False

"""``make deploy`` rehearsed against an emulated AWS account (make test-deploy).

The session's ``rehearsal`` fixture (tests/fixtures.py) deployed stage prod into an empty
emulated account from a copy of this tree, exactly as a user would: the first run stopped at
the missing secret, the second deployed. Nothing here trusts an exit code alone: what got
deployed is read back through the emulated APIs, and what the emulator ignores is checked as
data (the README's "what the rehearsal does not prove").
"""

import json
import re
import zipfile

import pytest

from deploy.tools.deploy.function import EVENT_INVOKE

pytestmark = pytest.mark.deploy

STEP_LINE = re.compile(r"^\[(\d+)/(\d+)\] ([~=]) ([a-z-]+): (.*)$", re.MULTILINE)


def steps(completed):
    """{step: (changed, summary)} from the deploy's output."""
    return {m[4]: (m[3] == "~", m[5]) for m in STEP_LINE.finditer(completed.stdout)}


def test_the_first_deploy_stops_at_the_missing_secret_naming_it(rehearsal):
    first = rehearsal.first
    output = first.stdout + first.stderr
    assert 'deploy stopped at step "secrets"' in output
    assert "/amphibian/prod/secrets/DJANGO_SECRET_KEY is missing" in output
    assert (
        "Next: create it once per stage, e.g. aws ssm put-parameter --type SecureString" in output
    )
    # The steps before it ran; nothing after it did.
    assert list(steps(first)) == ["stack", "environment"]
    assert "Deployed stage" not in output


def test_every_step_of_the_deploy_ran(rehearsal):
    ran = steps(rehearsal.deployed)
    assert list(ran) == [
        "stack",
        "environment",
        "secrets",
        "static",
        "package",
        "function",
        "release",
        "event-invoke",
        "schedules",
        "notifications",
        "firewall",
        "migrate",
        "smoke",
        "prune",
    ]
    assert ran["function"] == (True, "created function amphibian-prod (zappa deploy)")
    assert ran["release"] == (True, "live is version 1 (previous release: none)")
    assert ran["migrate"] == (True, "applied migrations")
    assert ran["smoke"][1].endswith("/prod/readyz: 200")


def test_the_stack_holds_what_the_template_declares(rehearsal):
    cloudformation = rehearsal.client("cloudformation")
    resources = cloudformation.describe_stack_resources(StackName="amphibian-prod-infra")[
        "StackResources"
    ]
    assert all(item["ResourceStatus"] == "CREATE_COMPLETE" for item in resources), resources
    template = cloudformation.get_template(StackName="amphibian-prod-infra")["TemplateBody"]
    from deploy.tools.deploy.infrastructure import decode_template

    declared = decode_template(template)["Resources"]
    created = {item["LogicalResourceId"] for item in resources}
    # Every resource whose condition holds for prod was created (none silently skipped).
    assert created, created
    assert {"Database", "DatabaseProxy", "FailedInvocationsQueue", "WebAcl"} <= created, sorted(
        created
    )
    assert created <= set(declared)


def test_database_proxy_and_network_as_the_emulated_apis_report_them(rehearsal):
    outputs = rehearsal.outputs("prod")
    rds = rehearsal.client("rds")
    [database] = rds.describe_db_instances()["DBInstances"]
    assert database["Engine"] == "postgres"
    assert database["StorageEncrypted"] is True
    assert database["PubliclyAccessible"] is False
    assert database["DeletionProtection"] is True
    assert database["MasterUserSecret"]["SecretArn"] == outputs["DatabaseSecretArn"]
    [proxy] = rds.describe_db_proxies()["DBProxies"]
    assert proxy["Endpoint"] == outputs["DatabaseProxyEndpoint"]
    assert proxy["RequireTLS"] is True
    ec2 = rehearsal.client("ec2")
    vpc = outputs["VpcId"]
    endpoints = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])[
        "VpcEndpoints"
    ]
    services = {e["ServiceName"].rsplit(".", 1)[-1]: e["VpcEndpointType"] for e in endpoints}
    assert services["s3"] == "Gateway" and services["dynamodb"] == "Gateway"


def test_the_function_runs_in_the_vpc_with_the_stacks_role_and_no_secret(rehearsal):
    outputs = rehearsal.outputs("prod")
    function = rehearsal.function("prod")
    configuration = function["Configuration"]
    stage = rehearsal.stage("prod")
    assert configuration["Runtime"] == stage["runtime"]
    assert configuration["Handler"] == stage["lambda_handler"]
    assert configuration["MemorySize"] == stage["memory_size"]
    assert configuration["Role"] == outputs["FunctionRoleArn"]
    assert sorted(configuration["VpcConfig"]["SubnetIds"]) == sorted(
        outputs["PrivateSubnetIds"].split(",")
    )
    assert configuration["VpcConfig"]["SecurityGroupIds"] == [outputs["FunctionSecurityGroupId"]]
    assert function["Concurrency"]["ReservedConcurrentExecutions"] == int(
        outputs["ReservedConcurrency"]
    )
    variables = configuration["Environment"]["Variables"]
    assert variables["DATABASE_HOST"] == outputs["DatabaseProxyEndpoint"]
    assert variables["DATABASE_SECRET_ARN"] == outputs["DatabaseSecretArn"]
    assert variables["SESSIONS_TABLE"] == outputs["SessionsTableName"]
    secret = re.compile(r"SECRET_KEY|PASSWORD|DATABASE_URL|CLIENT_SECRET")
    assert not [name for name in variables if secret.search(name)]
    assert not [v for v in variables.values() if "postgres://" in v]


def test_failed_invocations_go_to_the_stacks_queue(rehearsal):
    config = rehearsal.client("lambda").get_function_event_invoke_config(
        FunctionName="amphibian-prod", Qualifier="live"
    )
    assert config["MaximumRetryAttempts"] == EVENT_INVOKE["MaximumRetryAttempts"]
    assert config["MaximumEventAgeInSeconds"] == EVENT_INVOKE["MaximumEventAgeInSeconds"]
    assert (
        config["DestinationConfig"]["OnFailure"]["Destination"]
        == rehearsal.outputs("prod")["FailedInvocationsQueueArn"]
    )


def test_the_rest_api_routes_everything_to_the_function_behind_the_firewall(rehearsal):
    apigateway = rehearsal.client("apigateway")
    [api] = apigateway.get_rest_apis()["items"]
    function_arn = rehearsal.function("prod")["Configuration"]["FunctionArn"]
    resources = apigateway.get_resources(restApiId=api["id"])["items"]
    paths = {item["path"]: item for item in resources}
    assert {"/", "/{proxy+}"} <= set(paths)
    for path in ("/", "/{proxy+}"):
        method = apigateway.get_method(
            restApiId=api["id"], resourceId=paths[path]["id"], httpMethod="ANY"
        )
        assert method["methodIntegration"]["type"] == "AWS_PROXY"
        assert method["methodIntegration"]["uri"].endswith(f"{function_arn}:live/invocations")
    assert apigateway.get_stage(restApiId=api["id"], stageName="prod")
    stage_arn = f"arn:aws:apigateway:us-east-1::/restapis/{api['id']}/stages/prod"
    acl = rehearsal.client("wafv2").get_web_acl_for_resource(ResourceArn=stage_arn)["WebACL"]
    assert acl["ARN"] == rehearsal.outputs("prod")["WebAclArn"]


def test_schedules_and_the_upload_notification_invoke_the_live_alias(rehearsal):
    function_arn = rehearsal.function("prod")["Configuration"]["FunctionArn"] + ":live"
    stage = rehearsal.stage("prod")
    events = rehearsal.client("events")
    rules = events.list_rules()["Rules"]
    scheduled = [event for event in stage["events"] if "expression" in event]
    assert len(rules) == len(scheduled)
    for event in scheduled:
        # Zappa names a rule <hash>-<name>-<function>.
        [rule] = [r for r in rules if f"-{event['name']}-" in r["Name"]]
        assert rule["ScheduleExpression"] == event["expression"]
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert [target["Arn"] for target in targets] == [function_arn]
    media = rehearsal.outputs("prod")["MediaBucketName"]
    notification = rehearsal.client("s3").get_bucket_notification_configuration(Bucket=media)
    [trigger] = notification["LambdaFunctionConfigurations"]
    assert trigger["LambdaFunctionArn"] == function_arn
    assert trigger["Events"] == ["s3:ObjectCreated:*"]
    rules = trigger["Filter"]["Key"]["FilterRules"]
    assert {"Name": "Prefix", "Value": "uploads/"} in [
        {"Name": r["Name"].capitalize(), "Value": r["Value"]} for r in rules
    ]


def test_a_second_deploy_changes_nothing(rehearsal):
    again = rehearsal.make("deploy", STAGE="prod")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No change: what is deployed is what this tree describes." in again.stdout
    assert {name for name, (changed, _) in steps(again).items() if changed} == set()


def test_a_code_change_updates_only_the_function(rehearsal):
    before = rehearsal.function("prod")["Configuration"]["CodeSha256"]
    views = rehearsal.tree / "apps" / "pages" / "views.py"
    views.write_text(views.read_text() + "\n# A change of code, nothing else.\n")
    planned = rehearsal.make("deploy-plan", STAGE="prod")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert rehearsal.function("prod")["Configuration"]["CodeSha256"] == before
    changed = rehearsal.make("deploy", STAGE="prod")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    ran = steps(changed)
    # Zappa published the code's version and moved live; the release records it.
    assert {name for name, (change, _) in ran.items() if change} == {"function", "release"}
    assert ran["function"][1] == "updated function amphibian-prod (code)"
    assert ran["release"][1].startswith("live is version ")
    assert rehearsal.function("prod")["Configuration"]["CodeSha256"] != before
    # The code Lambda now holds (the bucket's zip with its CodeSha256) carries the change.
    with zipfile.ZipFile(rehearsal.deployed_zip("prod")) as deployed:
        assert deployed.read("apps/pages/views.py").endswith(
            b"# A change of code, nothing else.\n"
        )


def deploy_operations(rehearsal, service, operation):
    """The params of every recorded ``service`` ``operation`` call (moto answers for SnapStart
    and event-invoke qualifiers as if they were not asked: the requests are the proof)."""
    from deploy.tools.iam.requests import UnknownRequest, operation_of

    found = []
    for record in rehearsal.records():
        if record.get("service") not in (service, None) or record.get("status", 200) >= 400:
            continue
        try:
            name, op, params = operation_of(record)
        except UnknownRequest:
            continue
        if (name, op) == (service, operation):
            found.append(params)
    return found


def test_every_invoker_the_deploy_configured_targets_the_live_alias(rehearsal):
    created = deploy_operations(rehearsal, "lambda", "CreateFunction")
    assert created and all(p["SnapStart"] == {"ApplyOn": "PublishedVersions"} for p in created)
    updated = deploy_operations(rehearsal, "lambda", "UpdateFunctionConfiguration")
    assert all(p["SnapStart"] == {"ApplyOn": "PublishedVersions"} for p in updated)
    event_invoke = deploy_operations(rehearsal, "lambda", "PutFunctionEventInvokeConfig")
    assert event_invoke and all(p["Qualifier"] == "live" for p in event_invoke)
    permissions = deploy_operations(rehearsal, "lambda", "AddPermission")
    assert permissions and all(p.get("Qualifier") == "live" for p in permissions), permissions
    assert all(p["SourceAccount"] for p in permissions)
    put = deploy_operations(rehearsal, "events", "PutTargets")
    targets = [target for params in put for target in params["Targets"]]
    assert targets and all(t["Arn"].endswith(":live") for t in targets), targets
    # The notification as sent (botocore's models read this body as the legacy
    # PutBucketNotification, whose shape differs): every function it names.
    sent = [
        r["body"]
        for r in rehearsal.records()
        if r["method"] == "PUT" and r.get("query") == "notification" and r.get("body")
    ]
    arns = [arn for body in sent for arn in re.findall(r"<CloudFunction>([^<]+)<", body)]
    assert arns and all(arn.endswith(":live") for arn in arns), arns
    # Zappa's manage (migrate) runs on the alias too.
    invoked = deploy_operations(rehearsal, "lambda", "Invoke")
    assert invoked and all(
        p.get("Qualifier") == "live" or p["FunctionName"].endswith(":live") for p in invoked
    ), invoked


def test_rollback_moves_live_back_and_the_next_deploy_forward(rehearsal):
    lambda_ = rehearsal.client("lambda")
    before = lambda_.get_alias(FunctionName="amphibian-prod", Name="live")["FunctionVersion"]
    refused = rehearsal.make("rollback", STAGE="prod", VERSION="999")
    assert refused.returncode != 0
    assert "has no version 999" in refused.stderr, refused.stdout + refused.stderr
    rolled = rehearsal.make("rollback", STAGE="prod")
    assert rolled.returncode == 0, rolled.stdout + rolled.stderr
    ran = steps(rolled)
    assert list(ran) == ["rollback", "smoke"]
    assert ran["rollback"] == (True, f"moved live from version {before} to 1")
    assert ran["smoke"][1].endswith("/prod/readyz: 200")
    # Through the alias, Lambda runs version 1: the first deploy's code, not the change's.
    invoked = lambda_.invoke(
        FunctionName="amphibian-prod", Qualifier="live", Payload=b'{"manage": "check"}'
    )
    assert invoked["ExecutedVersion"] == "1"
    assert "FunctionError" not in invoked, invoked["Payload"].read()
    first = lambda_.get_function(FunctionName="amphibian-prod", Qualifier="1")["Configuration"]
    assert first["CodeSha256"] != rehearsal.function("prod")["Configuration"]["CodeSha256"]
    # Nothing older than version 1 is recorded: a second rollback says so.
    again = rehearsal.make("rollback", STAGE="prod")
    assert again.returncode != 0 and "no earlier release recorded" in again.stderr
    # The tree's code is not what live runs: the next deploy moves live forward again.
    forward = rehearsal.make("deploy", STAGE="prod")
    assert forward.returncode == 0, forward.stdout + forward.stderr
    ran = steps(forward)
    assert {name for name, (change, _) in ran.items() if change} == {"release"}
    assert ran["release"][1] == f"moved live to version {before}, which runs this code"


def test_the_dev_stage_deploys_behind_an_http_api(rehearsal):
    """Stage dev, HTTP API v2: Zappa's API template (AWS::ApiGatewayV2::*) is created through
    the emulator's models, and the smoke check passes through it."""
    from tests.support.rehearsal import ensure_secret_key, prepare_stage

    prepare_stage(rehearsal, "dev")
    first = rehearsal.make("deploy", STAGE="dev")
    assert 'deploy stopped at step "secrets"' in first.stderr, first.stdout + first.stderr
    ensure_secret_key(rehearsal, "dev")
    deployed = rehearsal.make("deploy", STAGE="dev")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    ran = steps(deployed)
    assert ran["firewall"] == (False, "no web ACL on this stage")
    assert ran["smoke"][1].endswith("/dev/readyz: 200")
    function_arn = rehearsal.function("dev")["Configuration"]["FunctionArn"]
    # Zappa's own stack, as data and as the APIs answer for it.
    cloudformation = rehearsal.client("cloudformation")
    from deploy.tools.deploy.infrastructure import decode_template

    template = cloudformation.get_template(StackName="amphibian-dev")["TemplateBody"]
    body = template if isinstance(template, str) else json.dumps(template)
    declared = {n: r["Type"] for n, r in decode_template(body)["Resources"].items()}
    assert {"AWS::ApiGatewayV2::Api", "AWS::ApiGatewayV2::Integration"} <= set(declared.values())
    created = cloudformation.describe_stack_resources(StackName="amphibian-dev")["StackResources"]
    assert {item["LogicalResourceId"]: item["ResourceType"] for item in created} == declared
    apigatewayv2 = rehearsal.client("apigatewayv2")
    [api] = apigatewayv2.get_apis()["Items"]
    assert api["ProtocolType"] == "HTTP"
    integrations = apigatewayv2.get_integrations(ApiId=api["ApiId"])["Items"]
    assert [item["IntegrationUri"] for item in integrations] == [f"{function_arn}:live"]
    assert [item["PayloadFormatVersion"] for item in integrations] == ["2.0"]
    routes = apigatewayv2.get_routes(ApiId=api["ApiId"])["Items"]
    integration = f"integrations/{integrations[0]['IntegrationId']}"
    assert routes and all(route["Target"] == integration for route in routes)

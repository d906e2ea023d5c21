"""deploy/aws/amphibian.yaml as written: cfn-lint clean, the outputs the deployed settings need,
IAM scoped to resources, prod-only protections behind conditions, the network's and database's
guarantees, and the stages' parameter files fitting it."""

import json
import re

import pytest
from cfnlint.api import lint_file
from django.conf import settings

from apps.files import keys
from deploy.tools.harness.processes import ROOT
from deploy.tools.management.commands.stackenv import STACK_OUTPUTS
from tests.support.cloudformation import (
    TEMPLATE,
    load_parameters,
    load_template,
    stage_parameter_files,
)

# Secrets come from SSM (SECRETS_SSM_PATH), not from the stack.
SECRET_VARIABLES = {"DJANGO_SECRET_KEY", "DATABASE_URL"}
POLICY_TYPES = {
    "AWS::IAM::ManagedPolicy",
    "AWS::IAM::Policy",
    "AWS::IAM::Role",
    "AWS::S3::BucketPolicy",
}
DATA_PLANE_SERVICES = {"dynamodb", "s3", "ssm", "lambda", "kms", "secretsmanager", "sqs"}


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
    # The prefixes the app writes (apps/files/keys.py; contact attachments), no others.
    prefixes = (keys.UPLOADS_PREFIX, keys.FILES_PREFIX, keys.THUMBNAILS_PREFIX, "contact/")
    assert media == [f"${{MediaBucket.Arn}}/{prefix}*" for prefix in prefixes]
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
    # The network is every stack's; the server parts are optional.
    optional = {
        name: resource.get("Condition")
        for name, resource in template["Resources"].items()
        if resource["Type"].startswith(
            ("AWS::ECS::", "AWS::ElasticLoadBalancingV2::", "AWS::AutoScaling::", "AWS::ECR::")
        )
        or resource["Type"] in ("AWS::EC2::LaunchTemplate", "AWS::IAM::InstanceProfile")
    }
    assert set(optional.values()) == {"CreateEcs", "RunEcsService", "CreateEc2", "HasLoadBalancer"}
    database = template["Resources"]["Database"]
    assert database["DeletionPolicy"] == database["UpdateReplacePolicy"] == "Snapshot"
    assert database["Properties"]["DeletionProtection"] == {"Fn::If": ["IsProd", True, False]}


def test_ec2_user_data_parameter_fits_deploy_ec2_cloud_init():
    import base64

    # CloudFormation parameter values stop at 4096 bytes; make deploy-infra passes base64.
    encoded = base64.b64encode((ROOT / "deploy" / "ec2" / "cloud-init.yaml").read_bytes())
    assert len(encoded) < 4096


def test_self_sign_up_is_a_parameter_and_off_by_default():
    template = load_template()
    parameter = template["Parameters"]["AllowSelfSignUp"]
    assert parameter["AllowedValues"] == ["true", "false"]
    assert parameter["Default"] == "false"
    assert template["Conditions"]["SelfSignUp"] == {
        "Fn::Equals": [{"Ref": "AllowSelfSignUp"}, "true"]
    }
    # Off means admin-created users only; Cognito's own default is open sign-up.
    pool = template["Resources"]["UserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"] == {
        "AllowAdminCreateUserOnly": {"Fn::If": ["SelfSignUp", False, True]}
    }


def walk(node):
    """Every dict and list inside ``node``, depth first."""
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from walk(child)


def referenced_names(node):
    """Names ``node`` refers to: Ref targets, GetAtt resources and ${...} in Fn::Sub."""
    names = set()
    for item in walk(node):
        if not isinstance(item, dict):
            continue
        if "Ref" in item:
            names.add(item["Ref"])
        if "Fn::GetAtt" in item:
            target = item["Fn::GetAtt"]
            names.add(target[0] if isinstance(target, list) else target.split(".")[0])
        if "Fn::Sub" in item:
            text, variables = item["Fn::Sub"], {}
            if isinstance(text, list):
                text, variables = text
            found = {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
            names |= found - set(variables)
    return names


def test_the_database_is_private_encrypted_and_keeps_no_password_in_the_template():
    template = load_template()
    properties = template["Resources"]["Database"]["Properties"]
    assert properties["StorageEncrypted"] is True
    assert properties["PubliclyAccessible"] is False
    assert properties["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in properties
    assert properties["Engine"] == "postgres"
    assert properties["EngineVersion"].startswith("16.")
    assert (properties["StorageType"], properties["AllocatedStorage"]) == ("gp3", "20")
    assert properties["BackupRetentionPeriod"] == 7
    assert properties["DBSubnetGroupName"] == {"Ref": "DatabaseSubnetGroup"}
    subnets = template["Resources"]["DatabaseSubnetGroup"]["Properties"]["SubnetIds"]
    assert subnets == [{"Ref": "PrivateSubnet1"}, {"Ref": "PrivateSubnet2"}]
    # No password goes in or out: no secret parameter, no password property anywhere.
    assert not any(spec.get("NoEcho") for spec in template["Parameters"].values())
    assert '"MasterUserPassword"' not in json.dumps(template)
    proxy = template["Resources"]["DatabaseProxy"]["Properties"]
    assert proxy["RequireTLS"] is True
    assert proxy["Auth"] == [
        {
            "AuthScheme": "SECRETS",
            "SecretArn": {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]},
            "IAMAuth": "DISABLED",
        }
    ]


def ingress_rules(template):
    """``(group, rule)`` for every inline and separate security-group ingress rule."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            for rule in properties.get("SecurityGroupIngress", []):
                if "Fn::If" in rule:
                    rule = rule["Fn::If"][1]
                yield name, rule
        elif resource["Type"] == "AWS::EC2::SecurityGroupIngress":
            yield properties["GroupId"]["Ref"], properties


def test_postgresql_is_reachable_only_from_the_proxy_tasks_and_instances():
    sources = {}
    for group, rule in ingress_rules(load_template()):
        if rule["FromPort"] <= 5432 <= rule["ToPort"]:
            assert "CidrIp" not in rule, (group, rule)
            sources.setdefault(group, set()).add(rule["SourceSecurityGroupId"]["Ref"])
    assert sources == {
        "DatabaseSecurityGroup": {
            "ProxySecurityGroup",
            "ServiceSecurityGroup",
            "InstanceSecurityGroup",
        },
        "ProxySecurityGroup": {"FunctionSecurityGroup"},
    }


def test_only_the_load_balancer_accepts_traffic_from_anywhere():
    open_groups = {group for group, rule in ingress_rules(load_template()) if "CidrIp" in rule}
    assert open_groups == {"LoadBalancerSecurityGroup"}


def test_private_egress_is_nat_or_endpoints_and_never_a_cognito_endpoint():
    template = load_template()
    assert template["Parameters"]["PrivateEgress"]["AllowedValues"] == ["nat", "endpoints"]
    endpoints = resources_of_type(template, "AWS::EC2::VPCEndpoint")
    interface = {
        name: endpoint
        for name, endpoint in endpoints.items()
        if endpoint["Properties"]["VpcEndpointType"] == "Interface"
    }
    services = {
        endpoint["Properties"]["ServiceName"]["Fn::Sub"].rsplit(".", 1)[-1]
        if "ecr" not in endpoint["Properties"]["ServiceName"]["Fn::Sub"]
        else endpoint["Properties"]["ServiceName"]["Fn::Sub"].split("}.", 1)[1]
        for endpoint in interface.values()
    }
    assert services == {"ssm", "secretsmanager", "lambda", "logs", "ecr.api", "ecr.dkr"}
    for endpoint in interface.values():
        assert endpoint["Condition"] in ("UseEndpoints", "UseEndpointsForEcs")
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
    # A pool with a domain refuses requests through PrivateLink (see the template's comment).
    assert not any("cognito" in json.dumps(endpoint) for endpoint in endpoints.values())
    gateways = {
        name
        for name, endpoint in endpoints.items()
        if endpoint["Properties"]["VpcEndpointType"] == "Gateway"
    }
    assert gateways == {"S3GatewayEndpoint", "DynamoDbGatewayEndpoint"}
    assert all("Condition" not in endpoints[name] for name in gateways)
    nat = {
        name
        for name, resource in template["Resources"].items()
        if resource.get("Condition") == "UseNat"
    }
    assert nat == {"NatAddress", "NatGateway", "PrivateDefaultRoute"}


def test_nothing_runs_in_a_public_subnet_but_the_load_balancer_and_nat():
    template = load_template()
    public = {"PublicSubnet1", "PublicSubnet2"}
    users = {
        name
        for name, resource in template["Resources"].items()
        if public & referenced_names(resource.get("Properties", {}))
        and resource["Type"] != "AWS::EC2::SubnetRouteTableAssociation"
    }
    assert users == {"LoadBalancer", "NatGateway"}
    service = template["Resources"]["Service"]["Properties"]["NetworkConfiguration"]
    assert service["AwsvpcConfiguration"]["AssignPublicIp"] == "DISABLED"


def test_every_log_group_keeps_logs_for_the_retention_parameter():
    template = load_template()
    groups = resources_of_type(template, "AWS::Logs::LogGroup")
    assert {"FunctionLogGroup", "EcsLogGroup"} <= set(groups)
    for group in groups.values():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    function_group = groups["FunctionLogGroup"]["Properties"]["LogGroupName"]["Fn::Sub"]
    assert function_group[0] == "/aws/lambda/${Name}"


def test_every_alarm_explains_itself_and_notifies_the_topic():
    template = load_template()
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    assert len(alarms) >= 11
    for name, alarm in alarms.items():
        properties = alarm["Properties"]
        assert len(properties["AlarmDescription"].split()) >= 15, name
        assert "Look first" in properties["AlarmDescription"], name
        assert properties["TreatMissingData"] == "notBreaching", name
        assert properties["AlarmActions"] == properties["OKActions"] == [{"Ref": "AlarmTopic"}]
        # The topic key lets CloudWatch publish only for alarms named after the stack.
        assert properties["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), name
    key_policy = template["Resources"]["AlarmTopicKey"]["Properties"]["KeyPolicy"]
    publish = next(s for s in key_policy["Statement"] if s["Sid"] == "StackAlarmsPublish")
    assert publish["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"].endswith(
        ":alarm:${AWS::StackName}-*"
    )
    topic = template["Resources"]["AlarmTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "AlarmTopicKey"}
    concurrency = alarms["FunctionConcurrencyAlarm"]["Properties"]["Metrics"][0]
    assert concurrency["Expression"] == {"Fn::Sub": "100 * concurrent / ${ReservedConcurrency}"}


def test_the_waf_exists_only_on_prod():
    template = load_template()
    waf = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"].startswith("AWS::WAFv2::")
    }
    assert waf["WebAcl"]["Condition"] == "IsProd"
    assert waf["WebAclLoadBalancer"]["Condition"] == "ProtectLoadBalancer"
    assert {"Condition": "IsProd"} in template["Conditions"]["ProtectLoadBalancer"]["Fn::And"]
    assert template["Outputs"]["WebAclArn"]["Condition"] == "IsProd"
    rules = {rule["Name"]: rule for rule in waf["WebAcl"]["Properties"]["Rules"]}
    assert rules["rate-limit-per-address"]["Statement"]["RateBasedStatement"]["Limit"] == {
        "Ref": "RateLimitPer5Min"
    }
    common = rules["aws-common"]["Statement"]["ManagedRuleGroupStatement"]
    assert common["RuleActionOverrides"] == [
        {"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}
    ]


def app_policy_statements():
    return {
        statement["Sid"]: statement
        for name, statement in policy_statements(load_template())
        if name == "AppPolicy"
    }


def test_the_app_policy_gained_only_the_database_secret():
    statements = app_policy_statements()
    assert set(statements) == {
        "Tables",
        "MediaObjects",
        "MediaBucket",
        "StaticDeploy",
        "InvokeSelfForTasks",
        "Parameters",
        "DatabaseSecret",
    }
    assert statements["DatabaseSecret"] == {
        "Sid": "DatabaseSecret",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]},
    }
    others = [s for sid, s in statements.items() if sid != "DatabaseSecret"]
    assert not any("secretsmanager" in json.dumps(statement["Action"]) for statement in others)


def test_the_function_role_adds_only_what_lambda_itself_needs():
    role = load_template()["Resources"]["FunctionRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "lambda.amazonaws.com"
    }
    assert role["ManagedPolicyArns"] == [{"Ref": "AppPolicy"}]
    [policy] = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["VpcNetworkInterfaces"]["Resource"] == "*"
    assert {action.split(":")[0] for action in statements["VpcNetworkInterfaces"]["Action"]} == {
        "ec2"
    }
    # The streams of the function's own log group (the actions name log streams).
    assert statements["Logs"]["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
        "${FunctionLogGroup}:log-stream:*"
    }
    assert statements["FailedInvocations"] == {
        "Sid": "FailedInvocations",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]},
    }


# The outputs the deploy and stackenv read, by these names.
DEPLOY_OUTPUTS = {
    "DatabaseEndpoint",
    "DatabaseProxyEndpoint",
    "DatabasePort",
    "DatabaseName",
    "DatabaseSecretArn",
    "PrivateSubnetIds",
    "FunctionSecurityGroupId",
    "FunctionRoleArn",
    "FunctionName",
    "ReservedConcurrency",
    "FailedInvocationsQueueUrl",
    "FailedInvocationsQueueArn",
    "AlarmTopicArn",
    "DashboardName",
    "VpcId",
}


def test_the_outputs_the_deploy_reads_exist_on_every_stack():
    outputs = load_template()["Outputs"]
    missing = DEPLOY_OUTPUTS - set(outputs)
    assert not missing
    assert not [name for name in DEPLOY_OUTPUTS if "Condition" in outputs[name]]
    conditional = {
        name: outputs[name]["Condition"] for name in outputs if "Condition" in outputs[name]
    }
    assert conditional["EcsServiceName"] == conditional["TaskDefinitionArn"] == "RunEcsService"
    assert conditional["RepositoryUri"] == conditional["EcsClusterName"] == "CreateEcs"
    assert conditional["AutoScalingGroupName"] == "CreateEc2"
    assert conditional["LoadBalancerDnsName"] == conditional["LoadBalancerFullName"]


def test_no_output_or_resource_refers_to_something_the_template_lacks():
    template = load_template()
    known = {*template["Parameters"], *template["Resources"]}
    known |= {"AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::Partition", "AWS::NoValue"}
    for section in ("Resources", "Outputs"):
        for name, item in template[section].items():
            unknown = referenced_names(item) - known
            assert not unknown, (section, name, unknown)


STAGES = stage_parameter_files()


def test_there_is_a_parameter_file_per_zappa_stage():
    zappa = json.loads((ROOT / "zappa_settings.json").read_text())
    assert set(STAGES) == set(zappa)


def check_parameter(name, value, declared):
    """Why CloudFormation would refuse ``value`` for the parameter, or None."""
    if not isinstance(value, str):
        return f"{name}: {value!r} is not a string (CloudFormation takes strings)"
    if "AllowedValues" in declared and value not in [str(v) for v in declared["AllowedValues"]]:
        return f"{name}: {value!r} is not one of {declared['AllowedValues']}"
    if "AllowedPattern" in declared and not re.fullmatch(declared["AllowedPattern"], value):
        return f"{name}: {value!r} does not match {declared['AllowedPattern']}"
    if declared["Type"] == "Number":
        if not re.fullmatch(r"-?\d+(\.\d+)?", value):
            return f"{name}: {value!r} is not a number"
        if "MinValue" in declared and float(value) < declared["MinValue"]:
            return f"{name}: {value} is below {declared['MinValue']}"
    return None


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stages_parameter_file_fits_the_template(stage):
    parameters = load_parameters(stage)
    declared = load_template()["Parameters"]
    assert set(parameters) <= set(declared), set(parameters) - set(declared)
    problems = [check_parameter(name, value, declared[name]) for name, value in parameters.items()]
    assert not list(filter(None, problems))
    # Every parameter the template uses without a default is in the file.
    without_default = {name for name, spec in declared.items() if "Default" not in spec}
    assert without_default <= set(parameters), without_default - set(parameters)
    assert parameters["Stage"] == stage


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_stages_parameters_agree_with_its_zappa_stage(stage):
    parameters = load_parameters(stage)
    zappa = json.loads((ROOT / "zappa_settings.json").read_text())[stage]
    assert parameters["AppDomain"] == zappa["aws_environment_variables"]["CANONICAL_HOST"]
    assert parameters["ApiKind"] == {"v1": "rest", "v2": "http"}[zappa["apigateway_version"]]
    assert parameters["CallbackUrls"] == f"https://{parameters['AppDomain']}/accounts/callback/"
    assert parameters["LogoutUrls"] == f"https://{parameters['AppDomain']}/"


def test_prod_rehearses_the_server_world_and_its_protections():
    prod = load_parameters("prod")
    assert prod["EnableEcs"] == "true"
    assert prod["DatabaseMultiAz"] == "true"
    assert prod["AlbCertificateArn"]
    assert load_parameters("dev")["EnableEcs"] == "false"

"""deploy/aws/amphibian.yaml as written: cfn-lint clean, the outputs the deployed settings need,
IAM scoped to resources, prod-only protections behind conditions."""

from cfnlint.api import lint_file
from django.conf import settings

from apps.files import keys
from deploy.tools.harness.processes import ROOT
from deploy.tools.management.commands.stackenv import STACK_OUTPUTS
from tests.support.cloudformation import TEMPLATE, load_template

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

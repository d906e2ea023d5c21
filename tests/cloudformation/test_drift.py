"""Drift: the template's tables and buckets against what deploy/aws/resources.py creates in
the local stack.

moto's CloudFormation creates DynamoDB tables and S3 buckets, but ignores TTL, point-in-time
recovery, CORS, Block Public Access, ownership controls and lifecycle rules on them. So these
tests compare those properties as template data against what the provisioning code created.
"""

import pytest
from django.conf import settings

from apps.core import aws
from deploy.aws import resources
from tests.support.cloudformation import load_template


def test_table_drift_key_schema_billing_and_ttl(local_aws, deployed_stack):
    dynamodb = aws.client("dynamodb")
    template = load_template()
    outputs = template["Outputs"]
    logical_ids = {
        out["Description"]: out["Value"].get("Ref")
        for out in outputs.values()
        if isinstance(out["Value"], dict)
    }
    # Every table a store defines (resources.TABLES) is in the template, and only those.
    pairs = {logical_ids[setting]: getattr(settings, setting) for setting in resources.TABLES}
    declared_tables = {
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    }
    assert declared_tables == set(pairs)
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
    # Files verified before the copy to files/ existed keep their bytes under uploads/.
    assert not any(rule.get("Prefix") == "uploads/" for rule in rules["Rules"])

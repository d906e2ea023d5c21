"""The AWS resources the app needs, created idempotently.

One definition of each resource, used by the local stack (``manage.py localaws``), the
test fixtures and the deploy tooling; CloudFormation in ``deploy/aws`` is checked against
these definitions rather than copied from them.
"""

import json
import logging

from django.conf import settings

from apps.core import aws

logger = logging.getLogger(__name__)

# Sessions and the token deny-list: a string partition key and a Number TTL attribute
# (epoch seconds) that DynamoDB deletes by, late; readers must check it themselves.
SESSIONS_KEY_ATTRIBUTE = "session_key"
SESSIONS_TTL_ATTRIBUTE = "expires_at"
DENYLIST_KEY_ATTRIBUTE = "jti"
DENYLIST_TTL_ATTRIBUTE = "expires_at"

# Browsers only POST to the bucket (presigned POST); downloads and thumbnails are plain
# navigations and <img> loads, which need no CORS.
MEDIA_CORS_METHODS = ["POST"]

LOCAL_USER_POOL_NAME = "amphibian-local"
LOCAL_APP_CLIENT_NAME = "amphibian-local-web"
LOCAL_ADMIN_GROUP = "admins"


def key_table_definition(table_name, key_attribute):
    """``CreateTable`` arguments for a table keyed by one string (on-demand billing)."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [{"AttributeName": key_attribute, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": key_attribute, "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    }


def sessions_table_definition(table_name):
    return key_table_definition(table_name, SESSIONS_KEY_ATTRIBUTE)


def denylist_table_definition(table_name):
    return key_table_definition(table_name, DENYLIST_KEY_ATTRIBUTE)


def ensure_table(dynamodb, definition, ttl_attribute=None):
    """Create the table if missing and make sure TTL is on; returns True if it created it."""
    name = definition["TableName"]
    created = False
    try:
        dynamodb.describe_table(TableName=name)
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(**definition)
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        created = True
    if ttl_attribute:
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )
    return created


def ensure_sessions_table(dynamodb, table_name):
    return ensure_table(
        dynamodb, sessions_table_definition(table_name), ttl_attribute=SESSIONS_TTL_ATTRIBUTE
    )


def ensure_denylist_table(dynamodb, table_name):
    return ensure_table(
        dynamodb, denylist_table_definition(table_name), ttl_attribute=DENYLIST_TTL_ATTRIBUTE
    )


PRIVATE_BUCKET_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def ensure_private_bucket(s3, bucket, region, cors_origins=()):
    """A bucket with Block Public Access, ACLs disabled and default encryption.

    ``cors_origins`` lets browsers on those origins upload directly (presigned POST).
    Returns True if it created the bucket.
    """
    created = False
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
        kwargs = {"Bucket": bucket}
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**kwargs)
        created = True
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=PRIVATE_BUCKET_ACCESS_BLOCK
    )
    s3.put_bucket_ownership_controls(
        Bucket=bucket,
        OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    if cors_origins:
        s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": list(cors_origins),
                        "AllowedMethods": MEDIA_CORS_METHODS,
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                        "MaxAgeSeconds": 3000,
                    }
                ]
            },
        )
    return created


def ensure_user_pool(cognito, name):
    """A user pool signing in with email; returns its id."""
    for pool in aws.pages(cognito, "list_user_pools", "UserPools", MaxResults=60):
        if pool["Name"] == name:
            return pool["Id"]
    response = cognito.create_user_pool(
        PoolName=name,
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
            }
        },
        Schema=[{"Name": "email", "AttributeDataType": "String", "Required": True}],
    )
    return response["UserPool"]["Id"]


def ensure_app_client(cognito, pool_id, name):
    """A public app client (no secret) allowing password sign-in; returns its id."""
    for client in aws.pages(
        cognito, "list_user_pool_clients", "UserPoolClients", UserPoolId=pool_id, MaxResults=60
    ):
        if client["ClientName"] == name:
            return client["ClientId"]
    response = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=name,
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        EnableTokenRevocation=True,
    )
    return response["UserPoolClient"]["ClientId"]


def ensure_group(cognito, pool_id, group):
    try:
        cognito.get_group(GroupName=group, UserPoolId=pool_id)
    except cognito.exceptions.ResourceNotFoundException:
        cognito.create_group(GroupName=group, UserPoolId=pool_id)


def ensure_user(cognito, pool_id, email, password, groups=()):
    """A confirmed user with a permanent password, member of ``groups``."""
    try:
        cognito.admin_get_user(UserPoolId=pool_id, Username=email)
    except cognito.exceptions.UserNotFoundException:
        cognito.admin_create_user(
            UserPoolId=pool_id,
            Username=email,
            UserAttributes=[
                {"Name": "email", "Value": email},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=email, Password=password, Permanent=True
        )
    for group in groups:
        ensure_group(cognito, pool_id, group)
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)


def allow_local_cdn_reads(s3, bucket):
    """Let browsers GET ``static/*`` from the local stack's static bucket: it is the CDN there.

    Deployed, CloudFront reads the private bucket through origin access control and nobody
    else can. Locally the browser reads the bucket itself (``STATIC_CDN_DOMAIN`` =
    host:port/bucket), so this bucket allows a public policy, and its policy grants reads of
    ``static/`` only. Never for the media bucket, and never outside the local stack.
    """
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            **PRIVATE_BUCKET_ACCESS_BLOCK,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": False,
        },
    )
    statement = {
        "Sid": "LocalCdnStandIn",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/static/*",
    }
    policy = {"Version": "2012-10-17", "Statement": [statement]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def provision_local_stack(endpoint, origins):
    """Everything the local target needs, on the stack at ``endpoint``.

    Returns the generated ids, which the local settings read back (like stack outputs).
    """
    dynamodb = aws.client("dynamodb", endpoint=endpoint)
    s3 = aws.client("s3", endpoint=endpoint)
    cognito = aws.client("cognito-idp", endpoint=endpoint)

    ensure_sessions_table(dynamodb, settings.SESSIONS_TABLE)
    ensure_denylist_table(dynamodb, settings.TOKEN_DENYLIST_TABLE)
    ensure_private_bucket(s3, settings.MEDIA_BUCKET, settings.AWS_REGION, cors_origins=origins)
    ensure_private_bucket(s3, settings.STATIC_BUCKET, settings.AWS_REGION)
    allow_local_cdn_reads(s3, settings.STATIC_BUCKET)
    pool_id = ensure_user_pool(cognito, LOCAL_USER_POOL_NAME)
    client_id = ensure_app_client(cognito, pool_id, LOCAL_APP_CLIENT_NAME)
    ensure_group(cognito, pool_id, LOCAL_ADMIN_GROUP)
    ensure_user(
        cognito,
        pool_id,
        settings.LOCALAWS_DEMO_USERNAME,
        settings.LOCALAWS_DEMO_PASSWORD,
    )
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "COGNITO_USER_POOL_ID": pool_id,
        "COGNITO_APP_CLIENT_ID": [client_id],
    }

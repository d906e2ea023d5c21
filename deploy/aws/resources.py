"""The AWS resources the app needs, defined once and created idempotently.

Used as data by the CloudFormation drift test (tests/cloudformation/test_drift.py checks
deploy/aws/amphibian.yaml against these, rather than copying them), and as code by the
local stack (deploy/tools/localaws) and the test fixtures. The DynamoDB tables are the
stores' own (``TABLES``); the buckets and the user pool are defined here.
"""

from apps.accounts import revocation
from apps.core import aws, limits
from apps.sessions.backends import dynamodb as sessions

# Table -> the store that owns its definition; keyed by the setting that names the table.
TABLES = {
    "SESSIONS_TABLE": sessions.TABLE,
    "TOKEN_DENYLIST_TABLE": revocation.TABLE,
    "RATE_LIMITS_TABLE": limits.TABLE,
}

# Browsers only POST to the bucket (presigned POST); downloads and thumbnails are plain
# navigations and <img> loads, which need no CORS.
MEDIA_CORS_METHODS = ["POST"]

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
            Bucket=bucket, CORSConfiguration={"CORSRules": [upload_cors_rule(cors_origins)]}
        )
    return created


def upload_cors_rule(origins):
    """The CORS rule that lets browsers on ``origins`` upload straight to the media bucket."""
    return {
        "AllowedOrigins": list(origins),
        "AllowedMethods": MEDIA_CORS_METHODS,
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
        "MaxAgeSeconds": 3000,
    }


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

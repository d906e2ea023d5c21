"""What the local target needs on the local stack, provisioned from deploy/aws's definitions.

The same tables, buckets and user pool as a deployed stage, plus what only the local stack
has: a demo user in the staff group (``COGNITO_STAFF_GROUP``: the admin opens to it), and a
static bucket that browsers may read (it stands in for the CDN).
"""

import json

from django.conf import settings

from apps.accounts import cognito as cognito_admin
from apps.core import aws
from deploy.aws import resources

LOCAL_USER_POOL_NAME = "amphibian-local"
LOCAL_APP_CLIENT_NAME = "amphibian-local-web"


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
            **resources.PRIVATE_BUCKET_ACCESS_BLOCK,
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
    """Every resource the local target needs, on the stack at ``endpoint``; no users yet
    (``provision_demo_user``, after a saved state is restored).

    Returns the generated ids, which the local settings read back (like stack outputs).
    """
    dynamodb = aws.client("dynamodb", endpoint=endpoint)
    s3 = aws.client("s3", endpoint=endpoint)
    cognito = aws.client("cognito-idp", endpoint=endpoint)

    for setting, table in resources.TABLES.items():
        table.ensure(dynamodb, getattr(settings, setting))
    resources.ensure_private_bucket(
        s3, settings.MEDIA_BUCKET, settings.AWS_REGION, cors_origins=origins
    )
    resources.ensure_private_bucket(s3, settings.STATIC_BUCKET, settings.AWS_REGION)
    allow_local_cdn_reads(s3, settings.STATIC_BUCKET)
    pool_id = resources.ensure_user_pool(cognito, LOCAL_USER_POOL_NAME)
    client_id = resources.ensure_app_client(cognito, pool_id, LOCAL_APP_CLIENT_NAME)
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "COGNITO_USER_POOL_ID": pool_id,
        "COGNITO_APP_CLIENT_ID": [client_id],
    }


def provision_demo_user(endpoint, pool_id):
    """The demo login, staff so the admin opens to it.

    After the saved state is restored: created before, it would be a second user with the
    same e-mail and a new ``sub``, and sign-in would land on a new Django user whose files
    are not the demo's. Run on every start (adding a member again is a no-op), so a state
    saved before the demo user was staff gets the group too.
    """
    cognito_admin.ensure_user(
        aws.client("cognito-idp", endpoint=endpoint),
        pool_id,
        settings.LOCALAWS_DEMO_USERNAME,
        settings.LOCALAWS_DEMO_PASSWORD,
        groups=[settings.COGNITO_STAFF_GROUP],
    )

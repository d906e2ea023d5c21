"""What points a process at a running local stack: the variables a deployed stack's outputs
would give it (``stackenv`` for real stacks), and the browser origins its media bucket allows.

The resource names are the current settings' (the local settings name the local stack's, the
test settings the suite's); the ids are the ones the stack generated (``outputs.json``).
"""

from django.conf import settings

from deploy.aws import resources


def stack_variables(endpoint, pool_id, client_ids):
    """The endpoint, credentials, resource names and Cognito ids of the stack at ``endpoint``."""
    return {
        "AWS_REGION": settings.AWS_REGION,
        "AWS_ENDPOINT_URL": endpoint,
        # moto accepts any keys; these only keep boto3 from looking for real ones.
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        **{setting: getattr(settings, setting) for setting in resources.TABLES},
        "MEDIA_BUCKET": settings.MEDIA_BUCKET,
        "STATIC_BUCKET": settings.STATIC_BUCKET,
        "COGNITO_USER_POOL_ID": pool_id,
        "COGNITO_APP_CLIENT_ID": ",".join(client_ids),
        # Tokens name the real AWS issuer; their keys are the local stack's.
        "COGNITO_JWKS_URL": f"{endpoint}/{pool_id}/.well-known/jwks.json",
    }


def allow_upload_origin(s3, bucket, origin):
    """Add ``origin`` to the browser origins that may upload to ``bucket`` (its CORS rule).

    ``localaws`` allows the local target's origin; a local Lambda on another port adds its own.
    """
    try:
        rules = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    except s3.exceptions.ClientError:
        rules = []
    if any(origin in rule.get("AllowedOrigins", ()) for rule in rules):
        return
    if rules:
        rules[0]["AllowedOrigins"] = [*rules[0]["AllowedOrigins"], origin]
    else:
        rules = [resources.upload_cors_rule([origin])]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})

"""Private media in S3, configured from the project's settings when first used."""

from django.conf import settings
from storages.backends.s3 import S3Storage

from apps.core import aws


class MediaStorage(S3Storage):
    """django-storages' S3 backend on every target (the local stack locally).

    Objects are private (no ACL, so buckets with ACLs disabled work) and reached through
    short-lived signed URLs; an upload never overwrites an existing key.
    """

    def get_default_settings(self):
        defaults = super().get_default_settings()
        defaults.update(
            bucket_name=settings.MEDIA_BUCKET,
            region_name=settings.AWS_REGION,
            endpoint_url=aws.endpoint_url("s3"),
            client_config=aws.client_config("s3"),
            default_acl=None,
            querystring_auth=True,
            querystring_expire=settings.MEDIA_URL_EXPIRY,
            file_overwrite=False,
        )
        credentials = aws.credentials()
        if credentials:
            defaults.update(
                access_key=credentials["aws_access_key_id"],
                secret_key=credentials["aws_secret_access_key"],
            )
        return defaults

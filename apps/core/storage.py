"""S3 storages configured from the project's settings when first used (never at import)."""

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage

from apps.core import aws


class ProjectS3Storage(S3Storage):
    """django-storages' S3 backend with the project's region, endpoint, timeouts and keys."""

    def get_default_settings(self):
        defaults = super().get_default_settings()
        defaults.update(
            region_name=settings.AWS_REGION,
            endpoint_url=aws.endpoint_url("s3"),
            client_config=aws.client_config("s3"),
            default_acl=None,  # buckets with ACLs disabled refuse any ACL
        )
        credentials = aws.credentials()
        if credentials:
            defaults.update(
                access_key=credentials["aws_access_key_id"],
                secret_key=credentials["aws_secret_access_key"],
            )
        return defaults


class MediaStorage(ProjectS3Storage):
    """Private media on every target (the local stack locally).

    Objects are reached through short-lived signed URLs; an upload never overwrites an
    existing key.
    """

    def get_default_settings(self):
        defaults = super().get_default_settings()
        defaults.update(
            bucket_name=settings.MEDIA_BUCKET,
            querystring_auth=True,
            querystring_expire=settings.MEDIA_URL_EXPIRY,
            file_overwrite=False,
        )
        return defaults


class StaticStorage(ManifestFilesMixin, ProjectS3Storage):
    """Hashed static files in STATIC_BUCKET under ``static/``, served by the CDN.

    The CDN reads the private bucket (origin access control), so URLs are unsigned. The
    manifest is written to a local directory that ships in the Lambda package: rendering
    ``{% static %}`` on a cold start reads a file instead of calling S3.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "manifest_storage", FileSystemStorage(location=settings.STATIC_MANIFEST_DIR)
        )
        super().__init__(**kwargs)

    def get_default_settings(self):
        defaults = super().get_default_settings()
        defaults.update(
            bucket_name=settings.STATIC_BUCKET,
            location="static",
            custom_domain=settings.STATIC_CDN_DOMAIN,
            url_protocol=settings.STATIC_CDN_PROTOCOL,
            querystring_auth=False,
            file_overwrite=True,
            object_parameters={"CacheControl": "public, max-age=31536000, immutable"},
        )
        return defaults

"""S3 storages on the project's AWS clients, configured from settings when used, not at import."""

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.files.storage import FileSystemStorage
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from apps.core import aws


class ProjectS3Storage(S3Storage):
    """django-storages' S3 backend on ``apps.core.aws``: region, endpoint, timeouts, retries
    and keys come from the settings when a call is made, as for every AWS client here."""

    def get_default_settings(self):
        defaults = super().get_default_settings()
        defaults.update(default_acl=None)  # buckets with ACLs disabled refuse any ACL
        return defaults

    @property
    def connection(self):
        return aws.resource("s3")

    @property
    def bucket(self):
        return self.connection.Bucket(self.bucket_name)

    def key(self, name):
        """The object key ``name`` is stored under."""
        return self._normalize_name(clean_name(name))


class MediaStorage(ProjectS3Storage):
    """Private media on every target (the local stack locally): the one route to MEDIA_BUCKET.

    Objects are reached through short-lived signed URLs (``url``, MEDIA_URL_EXPIRY); ``save``
    never overwrites an existing key. For what the Storage API has no words for, S3's own:
    a browser's direct upload (``presigned_post``), the first bytes of an object
    (``read_head``), a streamed read (``open_stream``), a write to a key the caller chose
    (``put``) and a server-side copy (``copy``).
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

    @property
    def _client(self):
        return self.connection.meta.client

    def presigned_post(self, name, *, content_type, max_bytes, expires):
        """Fields and URL for a browser to POST ``name`` itself: of ``content_type`` and
        1 to ``max_bytes`` bytes, for ``expires`` seconds (S3 enforces the policy)."""
        return self._client.generate_presigned_post(
            Bucket=self.bucket_name,
            Key=self.key(name),
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires,
        )

    def read_head(self, name, length):
        """The first ``length`` bytes of ``name``, in one ranged GET."""
        response = self._get(name, Range=f"bytes=0-{length - 1}")
        return response["Body"].read()

    def open_stream(self, name):
        """The body of ``name`` as a stream (``.read(n)``), nothing buffered on disk."""
        return self._get(name)["Body"]

    def put(self, name, content, *, content_type):
        """Write ``content`` (bytes or a file) at exactly ``name``, replacing what is there:
        for deterministic keys, which make a repeated write harmless."""
        key = self.key(name)
        if isinstance(content, bytes):
            self._client.put_object(
                Bucket=self.bucket_name, Key=key, Body=content, ContentType=content_type
            )
        else:
            self._client.upload_fileobj(
                content, self.bucket_name, key, ExtraArgs={"ContentType": content_type}
            )
        return name

    def copy(self, source, target, *, content_type=None):
        """Copy ``source`` to ``target`` in the bucket, server-side (one CopyObject, so up to
        5 GB and no bytes through the app), replacing what is at ``target``.

        With ``content_type`` the copy gets that type and no other metadata (S3's
        MetadataDirective REPLACE): what the writer of ``source`` set does not travel.
        Without it the source's type and metadata are kept (COPY). Raises FileNotFoundError
        if there is no ``source``.
        """
        params = {"MetadataDirective": "COPY"}
        if content_type is not None:
            params = {"MetadataDirective": "REPLACE", "ContentType": content_type}
        try:
            self._client.copy_object(
                Bucket=self.bucket_name,
                Key=self.key(target),
                CopySource={"Bucket": self.bucket_name, "Key": self.key(source)},
                **params,
            )
        except self._client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"No object {source}") from None
        return target

    def _get(self, name, **params):
        try:
            return self._client.get_object(Bucket=self.bucket_name, Key=self.key(name), **params)
        except self._client.exceptions.NoSuchKey:
            raise FileNotFoundError(f"No object {name}") from None


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

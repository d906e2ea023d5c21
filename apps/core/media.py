"""The media storage, looked up when a call needs it.

Its S3 backend imports boto3 (hundreds of milliseconds): importing this module costs nothing,
so a cold start that serves no media does not pay for it.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages

from apps.core import aws
from apps.core.errors import DependencyUnavailable, describe


class MediaUnavailable(DependencyUnavailable):
    """The media bucket could not be reached: nothing was changed (503)."""

    dependency = "media storage"


def unavailable():
    """Around every call to the media storage: S3 unreachable is MediaUnavailable (503)."""
    return aws.unavailable_as(
        MediaUnavailable, lambda exc: f"S3 bucket {settings.MEDIA_BUCKET}: {describe(exc)}"
    )


def storage():
    """``STORAGES["default"]``, which must be a MediaStorage (the files app hands browsers
    presigned POSTs to it)."""
    from apps.core.storage import MediaStorage

    found = storages["default"]
    if not isinstance(found, MediaStorage):
        raise ImproperlyConfigured(
            f"STORAGES['default'] is {type(found).__name__}; uploads need "
            "apps.core.storage.MediaStorage (or a subclass)."
        )
    return found

"""The media storage, looked up when a call needs it.

Its S3 backend imports boto3 (hundreds of milliseconds): importing this module costs nothing,
so a cold start that serves no media does not pay for it.
"""

from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages


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

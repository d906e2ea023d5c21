"""Where a file's objects live in the media bucket.

Keys are grouped by the owner's Cognito sub (stable), never by e-mail or user name, and
end in a safe form of the user's file name.
"""

from apps.core.content import safe_name

UPLOADS_PREFIX = "uploads/"
THUMBNAILS_PREFIX = "thumbnails/"


def owner_prefix(user):
    return user.sub or f"user-{user.pk}"


def upload_key(owner, file_id, name):
    return f"{UPLOADS_PREFIX}{owner_prefix(owner)}/{file_id}/{safe_name(name)}"


def thumbnail_key(stored):
    return f"{THUMBNAILS_PREFIX}{owner_prefix(stored.owner)}/{stored.pk}.webp"

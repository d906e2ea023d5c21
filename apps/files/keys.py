"""Where a file's objects live in the media bucket.

Keys are grouped by the owner's Cognito sub (stable), never by e-mail or user name, and
end in a safe form of the user's file name.

A browser only ever holds a POST policy for an ``uploads/`` key. Completion copies that
object to the file's ``files/`` key, which no policy names, and verifies the copy: what the
app verified and serves cannot be replaced by posting again while the policy lasts.
"""

from apps.core.content import safe_name

UPLOADS_PREFIX = "uploads/"
FILES_PREFIX = "files/"
THUMBNAILS_PREFIX = "thumbnails/"


def owner_prefix(user):
    return user.sub or f"user-{user.pk}"


def upload_key(owner, file_id, name):
    """The one key the browser's presigned POST may write."""
    return f"{UPLOADS_PREFIX}{owner_prefix(owner)}/{file_id}/{safe_name(name)}"


def file_key(owner, file_id, name):
    """The file's verified bytes, written by the app only (a server-side copy)."""
    return f"{FILES_PREFIX}{owner_prefix(owner)}/{file_id}/{safe_name(name)}"


def thumbnail_key(stored):
    return f"{THUMBNAILS_PREFIX}{owner_prefix(stored.owner)}/{stored.pk}.webp"

"""Uploads, verification, downloads and deletion of users' files (the bytes stay in S3)."""

import datetime
import io
import logging
import math
import urllib.parse
import uuid
import warnings
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core import media
from apps.core.content import SNIFF_BYTES, safe_name, sniff
from apps.files import keys
from apps.files.models import StoredFile
from apps.files.tasks import process_file

logger = logging.getLogger(__name__)


class UploadRefused(Exception):
    """The upload breaks a rule; the message says which, for the user (400)."""


class UploadMissing(Exception):
    """Completion was asked for before any object was uploaded (400)."""


# The files app's name for it (the views and tests know it by this one).
StorageUnavailable = media.MediaUnavailable


def validate_declaration(name, size, content_type):
    """Refuse a declared upload before any URL is issued."""
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise UploadRefused(_("Give the file a name of at most 255 characters."))
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise UploadRefused(_("The size must be a positive number of bytes."))
    if size > settings.FILES_MAX_BYTES:
        raise UploadRefused(
            _("This file is %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(settings.FILES_MAX_BYTES)}
        )
    if content_type not in settings.FILES_ALLOWED_TYPES:
        allowed = ", ".join(settings.FILES_ALLOWED_TYPES)
        raise UploadRefused(
            _("Files of type %(type)s are not accepted; use %(allowed)s.")
            % {"type": repr(content_type), "allowed": allowed}
        )


def _new_pending(owner, name, size, content_type):
    validate_declaration(name, size, content_type)
    file_id = uuid.uuid4()
    with transaction.atomic():
        _check_quota(owner, size)
        return StoredFile.objects.create(
            id=file_id,
            owner=owner,
            key=keys.file_key(owner, file_id, name),
            upload_key=keys.upload_key(owner, file_id, name),
            original_name=name.strip(),
            declared_type=content_type,
            size=size,
        )


def _check_quota(owner, size):
    """Refuse a new file past FILES_QUOTA_FILES or FILES_QUOTA_BYTES, pending ones included.

    Call inside the transaction that creates the file. The owner's row is the lock: on
    PostgreSQL (the deployed targets) a second start for the same owner waits here until the
    first commits, then counts its file, so two parallel starts cannot both take the last
    slot. SQLite (local, the unit tests) ignores select_for_update; there the same holds
    because database_config() begins every transaction IMMEDIATE, taking the database's
    one write lock, so whole transactions run one after the other.
    """
    get_user_model().objects.select_for_update().only("pk").get(pk=owner.pk)  # the lock
    held = StoredFile.objects.filter(owner=owner).exclude(status=StoredFile.Status.REJECTED)
    usage = held.aggregate(files=Count("pk"), bytes=Sum("size"))
    files, used = usage["files"], usage["bytes"] or 0
    if files + 1 > settings.FILES_QUOTA_FILES:
        raise UploadRefused(
            _(
                "You have %(files)s files (uploads in progress included); the limit is "
                "%(limit)s. Delete some files first."
            )
            % {"files": files, "limit": settings.FILES_QUOTA_FILES}
        )
    if used + size > settings.FILES_QUOTA_BYTES:
        raise UploadRefused(
            _(
                "Your files take %(used)s (uploads in progress included); this one would "
                "pass the limit of %(limit)s. Delete some files first."
            )
            % {"used": filesizeformat(used), "limit": filesizeformat(settings.FILES_QUOTA_BYTES)}
        )


def file_start_upload(*, owner, name, size, content_type):
    """A pending file and the presigned POST the browser sends its bytes with."""
    stored = _new_pending(owner, name, size, content_type)
    post = media.storage().presigned_post(
        stored.upload_key,
        content_type=content_type,
        max_bytes=settings.FILES_MAX_BYTES,
        expires=settings.FILES_UPLOAD_URL_EXPIRY,
    )
    return stored, post


def file_upload_through_app(*, owner, uploaded):
    """The no-JavaScript path: stream a small form upload into the same storage and checks."""
    content_type = uploaded.content_type or "application/octet-stream"
    stored = _new_pending(owner, uploaded.name, uploaded.size, content_type)
    uploaded.seek(0)
    try:
        with media.unavailable():
            media.storage().put(stored.upload_key, uploaded, content_type=content_type)
    except Exception:
        stored.delete()
        raise
    return file_complete_upload(stored.pk)


def file_complete_upload(file_id, *, owner=None):
    """Move the upload to the file's own key, verify it there and settle the file:
    ``ready`` or ``rejected``.

    The browser's POST policy stays valid after completion (until FILES_UPLOAD_URL_EXPIRY),
    so the bytes checked must be ones it cannot write: the copy at ``stored.key``. Checking
    the upload and copying after would let a second POST slip in between.

    Idempotent: the API call and an S3 event may race, and either may come twice; the row
    is locked and only a pending file changes state, once. Raises UploadMissing if no
    object is there yet, StoredFile.DoesNotExist for someone else's or an unknown file.
    """
    lookup = {"pk": file_id} if owner is None else {"pk": file_id, "owner": owner}
    with transaction.atomic():
        stored = StoredFile.objects.select_for_update().get(**lookup)
        if stored.status != StoredFile.Status.PENDING:
            return stored
        _take_upload(stored)
        verified_type, reason = _verify(stored)
        if reason:
            with media.unavailable():
                media.storage().delete(stored.key)
            stored.status, stored.reject_reason = StoredFile.Status.REJECTED, reason
            logger.info("upload %s rejected: %s", stored.pk, reason)
        else:
            stored.status, stored.verified_type = StoredFile.Status.READY, verified_type
            transaction.on_commit(partial(_enqueue_processing, stored.pk))
        stored.save()
    return stored


def _take_upload(stored):
    """Copy the upload to ``stored.key`` and delete it from the key the browser can write."""
    with media.unavailable():
        try:
            media.storage().copy(stored.upload_key, stored.key, content_type=stored.declared_type)
        except FileNotFoundError:
            # Nothing uploaded yet, or a completion that failed after its copy moved it
            # already: _verify finds out which from stored.key.
            return
        media.storage().delete(stored.upload_key)


def _enqueue_processing(file_id):
    """Queue the checksum/thumbnail task; the file is ready either way, so a queue that is
    down costs the thumbnail (logged), not an error for an upload that succeeded."""
    try:
        process_file.enqueue(str(file_id))
    except Exception:
        logger.exception("could not queue processing of file %s", file_id)


def file_complete_by_key(key):
    """The S3 ObjectCreated path: the same completion, found by upload key; unknown keys
    ignored.

    An object created at the upload key of a settled file was posted again with a policy
    that had not expired yet. It never becomes the file (its verified bytes were copied
    away) and is deleted here at once; purge_abandoned_uploads sweeps any that no event
    reports (the server targets get no S3 events).
    """
    if not key.startswith(keys.UPLOADS_PREFIX):
        return None  # our own objects, and S3 sends none for them: its trigger is on uploads/
    stored = StoredFile.objects.filter(upload_key=key).first()
    if stored is None:
        logger.warning("object created for unknown key %s; ignored", key)
        return None
    if stored.status != StoredFile.Status.PENDING:
        _discard_stray_upload(stored)
        return stored
    try:
        return file_complete_upload(stored.pk)
    except (UploadMissing, StoredFile.DoesNotExist):
        return None  # deleted again before the event arrived


def _discard_stray_upload(stored):
    """Delete what was posted to a settled file's upload key, unless the file's bytes are
    there (a file settled before completion copied uploads to their own key).

    The event of the upload itself often arrives after the API's completion moved it: then
    there is nothing to delete, and nothing to report.
    """
    if stored.upload_key == stored.key:
        return
    with media.unavailable():
        if media.storage().exists(stored.upload_key):
            logger.warning("file %s was posted again after it settled; discarded", stored.pk)
            media.storage().delete(stored.upload_key)


def _verify(stored):
    """``(verified_type, None)`` or ``(None, reason)``, from the object itself.

    S3 enforces the POST policy, the local emulator does not; either way the app checks.
    """
    try:
        with media.unavailable():
            size = media.storage().size(stored.key)
    except FileNotFoundError:
        raise UploadMissing("No uploaded object yet; upload the file first.") from None
    if size > settings.FILES_MAX_BYTES:
        return None, f"larger than the limit of {settings.FILES_MAX_BYTES} bytes"
    if size != stored.size:
        return None, f"{size} bytes uploaded, {stored.size} declared"
    with media.unavailable():
        first = media.storage().read_head(stored.key, SNIFF_BYTES)
    found = sniff(first)
    if found != stored.declared_type:
        return None, f"the content is not {stored.declared_type}"
    if found.startswith("image/"):
        pixels = image_pixels(first)
        if pixels is not None and pixels > settings.FILES_MAX_PIXELS:
            return None, f"an image of more than {settings.FILES_MAX_PIXELS} pixels"
    return found, None


def image_pixels(head):
    """Width x height from an image's header, or None if the header is not in ``head``.

    Pillow refuses to open anything over twice its own pixel limit: that counts as infinite.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(head)) as image:
                width, height = image.size
    except Image.DecompressionBombError:
        return math.inf
    except (UnidentifiedImageError, OSError, SyntaxError):
        return None
    return width * height


def file_delete(stored):
    """Remove the objects (the file's, any upload left), the thumbnail and the row;
    deleting twice is fine."""
    with media.unavailable():
        media.storage().delete(stored.key)
        if stored.upload_key != stored.key:
            media.storage().delete(stored.upload_key)
        if stored.thumbnail_key:
            media.storage().delete(stored.thumbnail_key)
    StoredFile.objects.filter(pk=stored.pk).delete()


def download_url(stored, *, inline=False, thumbnail=False):
    """A short-lived signed GET; downloads carry the user's file name, safely encoded."""
    quoted = urllib.parse.quote(stored.original_name, safe="")
    disposition = "inline" if inline else "attachment"
    params = {
        "ResponseContentDisposition": (
            f'{disposition}; filename="{safe_name(stored.original_name)}"; '
            f"filename*=UTF-8''{quoted}"
        ),
    }
    if thumbnail:
        params["ResponseContentType"] = "image/webp"
    return media.storage().url(
        stored.thumbnail_key if thumbnail else stored.key, parameters=params
    )


def purge_abandoned_uploads():
    """Scheduled: remove pending files (rows and any object) older than FILES_PENDING_MAX_AGE,
    then the stray objects under uploads/. Returns how many files went."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.FILES_PENDING_MAX_AGE)
    purged = 0
    for stored in StoredFile.objects.filter(
        status=StoredFile.Status.PENDING, created_at__lt=cutoff
    ):
        file_delete(stored)
        purged += 1
    _purge_stray_uploads()
    return purged


def _purge_stray_uploads():
    """Delete the objects under uploads/ that no pending file waits for: posted again after
    their file settled (the server targets get no S3 events), or after it was deleted.

    Completion moves uploads away, so uploads/ holds little else: in-flight uploads, kept,
    and the bytes of ready files settled before completion moved them (``key ==
    upload_key``), kept. The rows are read after the listing: a file pending then keeps its
    object, one that settled since has moved its own, so what is left is a stray.
    """
    storage = media.storage()
    purged = 0
    with media.unavailable():
        for page in storage.bucket.objects.filter(Prefix=keys.UPLOADS_PREFIX).pages():
            listed = {summary.key for summary in page}
            wanted = set(
                StoredFile.objects.filter(
                    Q(upload_key__in=listed, status=StoredFile.Status.PENDING)
                    | Q(key__in=listed, status=StoredFile.Status.READY)
                ).values_list("upload_key", flat=True)
            )
            for key in sorted(listed - wanted):
                storage.delete(key)
                purged += 1
    if purged:
        logger.warning("deleted %s stray objects under %s", purged, keys.UPLOADS_PREFIX)

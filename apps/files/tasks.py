"""Background processing of a ready file: checksum and, for images, a thumbnail."""

import hashlib
import io
import logging
import warnings

from django.conf import settings
from django_tasks import task

from apps.core import media
from apps.files import keys
from apps.files.models import StoredFile
from apps.tasks.idempotency import once

logger = logging.getLogger(__name__)

CHUNK = 1024 * 1024


@task
def process_file(file_id):
    """Idempotent: a second delivery finds the work recorded and does nothing."""
    stored = StoredFile.objects.filter(pk=file_id, status=StoredFile.Status.READY).first()
    if stored is None:
        return "gone"
    with once(f"process-file:{file_id}") as first:
        if not first:
            return "duplicate"
        body = media.storage().open_stream(stored.key)
        digest, kept = hashlib.sha256(), io.BytesIO()
        keep = stored.is_image and stored.size <= settings.FILES_THUMBNAIL_MAX_BYTES
        for chunk in iter(lambda: body.read(CHUNK), b""):
            digest.update(chunk)
            if keep:
                kept.write(chunk)
        stored.sha256 = digest.hexdigest()
        if keep:
            try:
                thumbnail = make_thumbnail(kept.getvalue())
            except ImageRefused as exc:
                # Too big to decode safely (or not an image after all): not kept.
                media.storage().delete(stored.key)
                stored.status, stored.reject_reason = StoredFile.Status.REJECTED, str(exc)
                stored.save(update_fields=["sha256", "status", "reject_reason", "updated_at"])
                return "rejected"
            stored.thumbnail_key = keys.thumbnail_key(stored)
            media.storage().put(stored.thumbnail_key, thumbnail, content_type="image/webp")
        stored.save(update_fields=["sha256", "thumbnail_key", "updated_at"])
    return "processed"


class ImageRefused(Exception):
    pass


def make_thumbnail(data):
    """A WEBP thumbnail; refuses images over FILES_MAX_PIXELS (decompression bombs)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    size = settings.FILES_THUMBNAIL_SIZE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size  # from the header: nothing decoded yet
                if width * height > settings.FILES_MAX_PIXELS:
                    raise ImageRefused(f"an image of {width * height} pixels")
                image.draft("RGB", (size, size))  # JPEG decodes at reduced scale
                # A new image: the opened one stays bound to (and closed by) the with.
                picture = ImageOps.exif_transpose(image)
                picture.thumbnail((size, size))
                if picture.mode not in ("RGB", "RGBA"):
                    picture = picture.convert("RGBA")
                out = io.BytesIO()
                picture.save(out, "WEBP", quality=80)
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise ImageRefused(f"not a readable image ({type(exc).__name__})") from exc
    return out.getvalue()

"""Lambda entry for S3 ObjectCreated events on the media bucket (wired in zappa_settings.json).

The same idempotent completion as ``POST /api/files/<id>/complete``: whichever comes first
settles the file, the other finds it settled; duplicates and unknown keys do nothing. An
object posted again to a settled file's upload key is deleted, never taken for the file.
"""

import logging
import urllib.parse

from apps.files import services

logger = logging.getLogger(__name__)


def object_created(event, context=None):
    settled = 0
    for record in event.get("Records", []):
        if not record.get("eventName", "").startswith("ObjectCreated"):
            continue
        # S3 event keys are URL-encoded, with + for spaces.
        key = urllib.parse.unquote_plus(record.get("s3", {}).get("object", {}).get("key", ""))
        if key and services.file_complete_by_key(key) is not None:
            settled += 1
    return {"settled": settled}

"""S3 ObjectCreated events (apps/files/events.py): an upload settles once, whichever of the
event and the completion call comes first; other keys are ignored.
"""

import urllib.parse

import pytest

from apps.core import aws
from apps.files import events
from apps.files.models import StoredFile
from apps.files.tasks import process_file
from apps.files.tests.uploads import png, post_to_s3, start

pytestmark = pytest.mark.django_db


def test_duplicate_completion_and_s3_events_settle_once(
    signed_in, settings, django_capture_on_commit_callbacks
):
    data = png()
    started = start(signed_in, data=data).json()
    post_to_s3(started["upload"], data)
    stored = StoredFile.objects.get(pk=started["file"]["id"])
    event = {
        "Records": [
            {
                "eventName": "ObjectCreated:Post",
                "s3": {"object": {"key": urllib.parse.quote_plus(stored.key)}},
            }
        ]
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert events.object_created(event) == {"settled": 1}
        assert StoredFile.objects.get(pk=stored.pk).status == "ready"
        assert signed_in.post(started["file"]["complete_url"]).json()["file"]["status"] == "ready"
        events.object_created(event)
    assert len(callbacks) == 1  # one state change, one processing task
    assert process_file.call(str(stored.pk)) == "duplicate"  # the thumbnail was made once
    thumbnails = aws.client("s3").list_objects_v2(
        Bucket=settings.MEDIA_BUCKET, Prefix=f"thumbnails/{stored.owner.sub}/"
    )
    assert thumbnails["KeyCount"] == 1


def test_events_for_unknown_keys_and_thumbnails_are_ignored(local_aws):
    event = {
        "Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "uploads/x/y/z.png"}}},
            {"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "thumbnails/x/y.webp"}}},
            {"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "uploads/a"}}},
        ]
    }
    assert events.object_created(event) == {"settled": 0}

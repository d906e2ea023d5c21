"""S3 ObjectCreated events (apps/files/events.py): an upload settles once, whichever of the
event and the completion call comes first; other keys are ignored; posting again with the
same policy after completion changes nothing the app serves.
"""

import hashlib
import urllib.parse
import urllib.request

import pytest

from apps.core import aws
from apps.files import events
from apps.files.models import StoredFile
from apps.files.tasks import process_file
from apps.files.tests.uploads import object_created, png, post_to_s3, start

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
                "s3": {"object": {"key": urllib.parse.quote_plus(stored.upload_key)}},
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


def object_at(settings, key):
    s3 = aws.client("s3")
    found = s3.get_object(Bucket=settings.MEDIA_BUCKET, Key=key)
    return found["Body"].read(), found["ContentType"]


def assert_no_object(settings, key):
    s3 = aws.client("s3")
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=settings.MEDIA_BUCKET, Key=key)


# Issue 16 item 4: the presigned POST stays valid after completion. Posting other bytes with
# the same fields (HTML here, served under the verified PNG's type) and delivering the event
# for them must leave the file as it was verified: bytes, type, size, checksum.
@pytest.mark.parametrize("settled_by", ["api", "event"])
def test_posting_again_after_completion_does_not_replace_the_file(
    signed_in, settings, settled_by, django_capture_on_commit_callbacks
):
    data = png()
    started = start(signed_in, data=data).json()
    upload_key = started["upload"]["fields"]["key"]
    post_to_s3(started["upload"], data)
    with django_capture_on_commit_callbacks(execute=True):
        if settled_by == "api":
            assert signed_in.post(started["file"]["complete_url"]).json()["file"]["status"] == (
                "ready"
            )
        else:
            assert events.object_created(object_created(upload_key)) == {"settled": 1}
    stored = StoredFile.objects.get(pk=started["file"]["id"])
    assert stored.key != upload_key
    assert_no_object(settings, upload_key)  # moved, not copied: the browser's key is empty

    evil = b"<html><script>alert(document.cookie)</script></html>"
    post_to_s3(started["upload"], evil)  # the same fields, still within the policy's life
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        events.object_created(object_created(upload_key))
        assert signed_in.post(started["file"]["complete_url"]).json()["file"]["status"] == (
            "ready"
        )
    assert callbacks == []  # nothing re-verified, nothing re-processed

    after = StoredFile.objects.get(pk=stored.pk)
    assert (after.status, after.verified_type, after.size) == ("ready", "image/png", len(data))
    assert after.sha256 == hashlib.sha256(data).hexdigest()
    assert after.key == stored.key
    assert object_at(settings, after.key) == (data, "image/png")
    download = signed_in.get(f"/en/files/{stored.pk}/download")
    with urllib.request.urlopen(download["Location"], timeout=10) as response:
        assert response.read() == data
    assert_no_object(settings, upload_key)  # the event discarded the stray


def test_completion_retried_after_its_copy_settles_the_file(signed_in, settings):
    """A completion that failed (S3 down) after moving the upload leaves the row pending and
    the bytes at the file's key; the retry verifies them there."""
    from apps.core import media

    data = png()
    started = start(signed_in, data=data).json()
    post_to_s3(started["upload"], data)
    stored = StoredFile.objects.get(pk=started["file"]["id"])
    media.storage().copy(stored.upload_key, stored.key)
    media.storage().delete(stored.upload_key)
    completed = signed_in.post(started["file"]["complete_url"]).json()["file"]
    assert completed["status"] == "ready"
    assert object_at(settings, stored.key) == (data, "image/png")

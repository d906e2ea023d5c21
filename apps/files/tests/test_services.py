"""What completing an upload verifies (apps/files/services.py): the size, the declared type,
the image's pixels; and the purge of uploads never completed.
"""

import datetime

import pytest

from apps.core import aws
from apps.files.models import StoredFile
from apps.files.tests.uploads import bomb_png, png, post_to_s3, start, upload

pytestmark = pytest.mark.django_db


def test_oversize_object_uploaded_anyway_is_rejected_and_deleted(signed_in, settings):
    settings.FILES_MAX_BYTES = 1000
    data = png(400, 400, (1, 2, 3)) + b"\x00" * 2000
    started = start(signed_in, data=data[:900], size=900)
    body = started.json()
    post_to_s3(body["upload"], data)  # the emulator does not enforce the policy; we do
    completed = signed_in.post(body["file"]["complete_url"]).json()["file"]
    assert completed["status"] == "rejected"
    assert "limit" in completed["reject_reason"]
    stored = StoredFile.objects.get(pk=completed["id"])
    with pytest.raises(aws.client("s3").exceptions.ClientError):
        aws.client("s3").head_object(Bucket=settings.MEDIA_BUCKET, Key=stored.key)


def test_size_must_match_the_declaration(signed_in):
    data = png()
    started = start(signed_in, data=data, size=len(data) + 1).json()
    post_to_s3(started["upload"], data)
    completed = signed_in.post(started["file"]["complete_url"]).json()["file"]
    assert completed["status"] == "rejected" and "declared" in completed["reject_reason"]


def test_content_type_lie_is_rejected(signed_in):
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 500
    _, completed = upload(signed_in, exe, name="cat.png", content_type="image/png")
    assert completed.json()["file"]["status"] == "rejected"
    assert completed.json()["file"]["reject_reason"] == "the content is not image/png"


def test_image_bomb_is_rejected_without_crashing(signed_in):
    _, completed = upload(signed_in, bomb_png(), name="bomb.png")
    assert completed.status_code == 200
    assert completed.json()["file"]["status"] == "rejected"
    assert "pixels" in completed.json()["file"]["reject_reason"]


def test_abandoned_uploads_are_purged(signed_in, settings):
    from django.core.management import call_command
    from django.utils import timezone

    started = start(signed_in, data=b"x" * 10, content_type="text/plain", name="a.txt").json()
    StoredFile.objects.filter(pk=started["file"]["id"]).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    call_command("runschedule", "purge-abandoned-uploads")
    assert not StoredFile.objects.filter(pk=started["file"]["id"]).exists()

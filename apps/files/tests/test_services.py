"""What completing an upload verifies (apps/files/services.py): the size, the declared type,
the image's pixels; the purge of uploads never completed and of objects posted after; files
settled before completion moved uploads to their own key.
"""

import datetime
import importlib
import urllib.request
import uuid

import pytest
from django.apps import apps as django_apps

from apps.core import aws, media
from apps.files import events, services
from apps.files.models import StoredFile
from apps.files.tests.uploads import bomb_png, object_created, png, post_to_s3, start, upload
from deploy.tools.harness.processes import run_python, subprocess_env

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


def exists(settings, key):
    s3 = aws.client("s3")
    try:
        s3.head_object(Bucket=settings.MEDIA_BUCKET, Key=key)
    except s3.exceptions.ClientError:
        return False
    return True


def legacy_file(owner, data, name="old.png"):
    """A file settled before completion moved uploads: its bytes at its upload key."""
    file_id = uuid.uuid4()
    key = f"uploads/{owner.sub}/{file_id}/{name}"
    media.storage().put(key, data, content_type="image/png")
    return StoredFile.objects.create(
        id=file_id,
        owner=owner,
        key=key,
        upload_key=key,
        original_name=name,
        declared_type="image/png",
        verified_type="image/png",
        size=len(data),
        status=StoredFile.Status.READY,
    )


def test_purge_deletes_objects_posted_after_their_file_settled_or_went(signed_in, user, settings):
    """Server targets get no S3 events: the hourly purge is what removes a second POST."""
    settled_id, _ = upload(signed_in, png())
    settled = StoredFile.objects.get(pk=settled_id)
    in_flight = start(signed_in, data=png(color=(1, 2, 3))).json()
    post_to_s3(in_flight["upload"], png(color=(1, 2, 3)))
    # A second POST to the settled file's upload key, its event never delivered:
    media.storage().put(settled.upload_key, b"<html>", content_type="image/png")
    orphan = f"uploads/{user.sub}/{uuid.uuid4()}/deleted-while-posting.png"
    media.storage().put(orphan, b"x", content_type="image/png")
    legacy = legacy_file(user, png())

    assert services.purge_abandoned_uploads() == 0  # no pending file is old enough

    assert not exists(settings, settled.upload_key)
    assert not exists(settings, orphan)
    assert exists(settings, settled.key)
    assert exists(settings, in_flight["upload"]["fields"]["key"])  # still the browser's
    assert exists(settings, legacy.key)


def test_a_file_settled_before_uploads_were_moved_still_downloads(signed_in, user, settings):
    data = png()
    legacy = legacy_file(user, data)
    download = signed_in.get(f"/en/files/{legacy.pk}/download")
    assert download.status_code == 302
    with urllib.request.urlopen(download["Location"], timeout=10) as response:
        assert response.read() == data
    # An event for its key is not a stray to discard: the key holds the file's bytes.
    events.object_created(object_created(legacy.upload_key))
    assert exists(settings, legacy.key)
    assert signed_in.delete(f"/api/files/{legacy.pk}").status_code == 204
    assert not exists(settings, legacy.key)


def test_migration_moves_pending_keys_and_leaves_settled_bytes_in_place(user):
    migration = importlib.import_module("apps.files.migrations.0002_storedfile_upload_key")
    rows = {}
    for status in ("pending", "ready"):
        rows[status] = StoredFile.objects.create(
            owner=user,
            key=f"uploads/{user.sub}/{status}/a.png",
            upload_key=f"placeholder-{status}",
            original_name="a.png",
            declared_type="image/png",
            size=1,
            status=status,
        )
    migration.split_keys(django_apps, None)
    pending, ready = (StoredFile.objects.get(pk=rows[s].pk) for s in ("pending", "ready"))
    assert (pending.upload_key, pending.key) == (
        f"uploads/{user.sub}/pending/a.png",
        f"files/{user.sub}/pending/a.png",
    )
    assert ready.key == ready.upload_key == f"uploads/{user.sub}/ready/a.png"
    migration.join_keys(django_apps, None)
    assert StoredFile.objects.get(pk=pending.pk).key == f"uploads/{user.sub}/pending/a.png"


def test_upload_policy_lasts_two_minutes_at_most_by_default():
    """S3 checks a POST policy's expiration when the POST starts; a longer life only gives
    its holder longer to post again."""
    result = run_python(
        "from project.settings import base; print(base.FILES_UPLOAD_URL_EXPIRY)",
        subprocess_env(),
    )
    assert result.returncode == 0, result.stderr
    assert 0 < int(result.stdout) <= 120

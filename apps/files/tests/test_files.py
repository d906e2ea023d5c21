"""Files against the local stack: presigned POST, real uploads to S3, verification, downloads."""

import datetime
import io
import json
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from django.contrib.auth import get_user_model
from PIL import Image

from apps.core import aws
from apps.files import events
from apps.files.models import StoredFile
from apps.files.tasks import process_file

pytestmark = pytest.mark.django_db


def png(width=64, height=48, color=(200, 30, 30)):
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def bomb_png(width=20000, height=20000):
    """A tiny file that decodes to 400 million pixels."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def user(local_aws):
    return get_user_model().objects.create_user(
        username=f"u-{uuid.uuid4().hex[:6]}", sub=str(uuid.uuid4()), email="ada@example.com"
    )


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def start(client, name="photo.png", size=None, content_type="image/png", data=b""):
    response = client.post(
        "/api/files/",
        data=json.dumps(
            {
                "name": name,
                "size": len(data) if size is None else size,
                "content_type": content_type,
            }
        ),
        content_type="application/json",
    )
    return response


def post_to_s3(upload, data, filename="upload.bin"):
    """What the browser does: a multipart POST of the policy fields and the file to S3."""
    boundary = uuid.uuid4().hex
    parts = []
    for key, value in upload["fields"].items():
        disposition = f'Content-Disposition: form-data; name="{key}"'
        parts.append(f"--{boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    request = urllib.request.Request(
        upload["url"],
        data=b"".join(parts),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def upload(client, data, **kwargs):
    started = start(client, data=data, **kwargs)
    assert started.status_code == 201, started.content
    body = started.json()
    post_to_s3(body["upload"], data)
    return body["file"]["id"], client.post(body["file"]["complete_url"])


def test_presigned_post_policy_pins_key_type_and_size(signed_in, user, settings):
    response = start(signed_in, name="../../etc/passwd ünïcødé.png", data=png())
    assert response.status_code == 201
    upload_info = response.json()["upload"]
    fields = upload_info["fields"]
    stored = StoredFile.objects.get(pk=response.json()["file"]["id"])
    assert stored.key == f"uploads/{user.sub}/{stored.pk}/passwd-unicde.png"
    assert stored.original_name == "../../etc/passwd ünïcødé.png"
    assert fields["key"] == stored.key
    import base64

    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": stored.key} in conditions
    assert {"Content-Type": "image/png"} in conditions
    assert ["content-length-range", 1, settings.FILES_MAX_BYTES] in conditions
    assert {"bucket": settings.MEDIA_BUCKET} in conditions
    from datetime import UTC, datetime

    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    lifetime = (expires - datetime.now(UTC)).total_seconds()
    assert 0 < lifetime <= settings.FILES_UPLOAD_URL_EXPIRY


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"name": "a.exe", "size": 10, "content_type": "application/x-msdownload"},
            "not accepted",
        ),
        ({"name": "big.png", "size": 200 * 1024 * 1024, "content_type": "image/png"}, "the limit"),
        ({"name": "zero.png", "size": 0, "content_type": "image/png"}, "positive"),
        ({"name": "", "size": 10, "content_type": "image/png"}, "name"),
        ({"name": "x.png", "size": "10", "content_type": "image/png"}, "positive"),
        ({"size": 10}, "Send JSON"),
    ],
)
def test_bad_declarations_get_400_before_any_url(signed_in, body, message):
    response = signed_in.post(
        "/api/files/", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert "upload" not in response.json()
    assert StoredFile.objects.count() == 0


def test_api_needs_authentication(client, local_aws):
    response = start(client, data=b"x")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_full_flow_upload_thumbnail_download_delete(
    signed_in, settings, django_capture_on_commit_callbacks
):
    data = png()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        file_id, completed = upload(signed_in, data)
    assert len(callbacks) == 1  # the processing task, enqueued once the state is committed
    assert completed.status_code == 200
    assert completed.json()["file"]["status"] == "ready"
    stored = StoredFile.objects.get(pk=file_id)
    assert stored.verified_type == "image/png"
    assert stored.thumbnail_key  # the immediate backend ran the task on commit
    import hashlib

    assert stored.sha256 == hashlib.sha256(data).hexdigest()

    download = signed_in.get(f"/en/files/{file_id}/download")
    assert download.status_code == 302
    url = download["Location"]
    assert "X-Amz-Signature=" in url and "response-content-disposition=attachment" in url
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == data
        assert "filename*=UTF-8''photo.png" in response.headers["Content-Disposition"]

    thumb = signed_in.get(f"/en/files/{file_id}/thumbnail")
    with urllib.request.urlopen(thumb["Location"], timeout=10) as response:
        image = Image.open(io.BytesIO(response.read()))
        assert image.format == "WEBP" and max(image.size) <= settings.FILES_THUMBNAIL_SIZE

    page = signed_in.get("/en/files/").content.decode()
    assert "photo.png" in page and f"/en/files/{file_id}/thumbnail" in page

    assert signed_in.delete(f"/api/files/{file_id}").status_code == 204
    assert signed_in.delete(f"/api/files/{file_id}").status_code == 404  # gone is gone
    s3 = aws.client("s3")
    listed = s3.list_objects_v2(
        Bucket=settings.MEDIA_BUCKET, Prefix=f"uploads/{stored.owner.sub}/{file_id}"
    )
    assert listed.get("KeyCount", 0) == 0
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=settings.MEDIA_BUCKET, Key=stored.thumbnail_key)


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


def test_completing_someone_elses_file_is_404(signed_in, client, local_aws):
    file_id, _ = upload(signed_in, png())
    other = get_user_model().objects.create_user(username="mallory", sub=str(uuid.uuid4()))
    client.force_login(other)
    assert client.post(f"/api/files/{file_id}/complete").status_code == 404
    assert client.get(f"/en/files/{file_id}/download").status_code == 404
    assert client.delete(f"/api/files/{file_id}").status_code == 404
    assert StoredFile.objects.filter(pk=file_id).exists()


def test_completion_before_upload_is_400_and_stays_pending(signed_in):
    started = start(signed_in, data=png()).json()
    response = signed_in.post(started["file"]["complete_url"])
    assert response.status_code == 400
    assert "upload the file first" in response.json()["error"]
    assert StoredFile.objects.get(pk=started["file"]["id"]).status == "pending"


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


def test_fallback_form_uploads_a_small_file(signed_in):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = signed_in.post(
        "/en/files/upload", {"file": SimpleUploadedFile("notes.txt", b"hello\n", "text/plain")}
    )
    assert response.status_code == 302
    stored = StoredFile.objects.get(original_name="notes.txt")
    assert stored.status == "ready" and stored.verified_type == "text/plain"


def test_fallback_form_answers_413_above_its_limit(signed_in, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.FILES_FALLBACK_MAX_BYTES = 1024
    response = signed_in.post(
        "/en/files/upload", {"file": SimpleUploadedFile("big.txt", b"x" * 4096, "text/plain")}
    )
    assert response.status_code == 413
    assert "drag-and-drop uploader" in response.content.decode()
    assert StoredFile.objects.count() == 0


def test_pages_need_sign_in(client, local_aws):
    response = client.get("/en/files/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/en/files/")


def test_storage_down_is_503_not_500(signed_in, settings):
    data = png()
    started = start(signed_in, data=data).json()
    post_to_s3(started["upload"], data)
    settings.AWS_ENDPOINT_URLS = {"S3": "http://127.0.0.1:9"}
    settings.AWS_MAX_ATTEMPTS = 1
    response = signed_in.post(started["file"]["complete_url"])
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert StoredFile.objects.get(pk=started["file"]["id"]).status == "pending"


def test_abandoned_uploads_are_purged(signed_in, settings):
    from django.core.management import call_command
    from django.utils import timezone

    started = start(signed_in, data=b"x" * 10, content_type="text/plain", name="a.txt").json()
    StoredFile.objects.filter(pk=started["file"]["id"]).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    call_command("runschedule", "purge-abandoned-uploads")
    assert not StoredFile.objects.filter(pk=started["file"]["id"]).exists()

"""The file API (apps/files/api_urls.py): the presigned POST it hands out, what it refuses,
who may complete a file, and an unavailable store.
"""

import json
import uuid

import pytest
from django.contrib.auth import get_user_model

from apps.files.models import StoredFile
from apps.files.tests.uploads import png, post_to_s3, start, upload

pytestmark = pytest.mark.django_db


def test_presigned_post_policy_pins_key_type_and_size(signed_in, user, settings):
    response = start(signed_in, name="../../etc/passwd ünïcødé.png", data=png())
    assert response.status_code == 201
    upload_info = response.json()["upload"]
    fields = upload_info["fields"]
    stored = StoredFile.objects.get(pk=response.json()["file"]["id"])
    assert stored.upload_key == f"uploads/{user.sub}/{stored.pk}/passwd-unicde.png"
    assert stored.key == f"files/{user.sub}/{stored.pk}/passwd-unicde.png"  # no policy for it
    assert stored.original_name == "../../etc/passwd ünïcødé.png"
    assert fields["key"] == stored.upload_key
    import base64

    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": stored.upload_key} in conditions
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


# Issue 16: no input gives a 500. Each body once was one (PostgreSQL's DataError for the
# NUL; UnicodeEncodeError and RecursionError on every database).
@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"name": "a\\u0000.png", "size": 5, "content_type": "image/png"}', "NUL"),
        (b'{"name": "a\\ud800.png", "size": 5, "content_type": "image/png"}', "surrogates"),
        (b'{"name": "a.png", "size": 5, "content_type": "image/png\\udfff"}', "surrogates"),
        (b"[" * 5000 + b"]" * 5000, "nested"),
        (b'{"name": "a.png", "size": NaN, "content_type": "image/png"}', "NaN"),
        (b'{"name": "a.png", "size": 1e400, "content_type": "image/png"}', "out of range"),
    ],
    ids=[
        "NUL in a file name",
        "lone surrogate in a file name",
        "lone surrogate in the type",
        "JSON nested 5000 deep",
        "NaN size",
        "infinite size",
    ],
)
def test_hostile_json_is_400_with_the_reason(signed_in, body, reason):
    response = signed_in.post("/api/files/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert StoredFile.objects.count() == 0


def test_json_that_is_not_an_object_is_400(signed_in):
    for body in (b'"name"', b"[1, 2]", b"12", b"null"):
        response = signed_in.post("/api/files/", data=body, content_type="application/json")
        assert response.status_code == 400, body
        assert "Send JSON" in response.json()["error"]

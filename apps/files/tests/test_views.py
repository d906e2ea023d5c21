"""The file pages (apps/files/urls.py): the whole flow once (upload, thumbnail, download,
list, delete), the no-JavaScript upload form, sign-in required.
"""

import io
import re
import urllib.request

import pytest
from PIL import Image

from apps.core import aws
from apps.files.models import StoredFile
from apps.files.tests.uploads import png, upload

pytestmark = pytest.mark.django_db


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
    for prefix in ("uploads", "files"):
        listed = s3.list_objects_v2(
            Bucket=settings.MEDIA_BUCKET, Prefix=f"{prefix}/{stored.owner.sub}/{file_id}"
        )
        assert listed.get("KeyCount", 0) == 0
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=settings.MEDIA_BUCKET, Key=stored.thumbnail_key)


def test_fallback_form_uploads_a_small_file(signed_in, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = signed_in.post(
        "/en/files/upload", {"file": SimpleUploadedFile("notes.txt", b"hello\n", "text/plain")}
    )
    assert response.status_code == 302
    stored = StoredFile.objects.get(original_name="notes.txt")
    assert stored.status == "ready" and stored.verified_type == "text/plain"
    # The same completion as the presigned path: the bytes moved to the file's own key.
    s3 = aws.client("s3")
    body = s3.get_object(Bucket=settings.MEDIA_BUCKET, Key=stored.key)["Body"].read()
    assert stored.key.startswith("files/") and body == b"hello\n"
    with pytest.raises(s3.exceptions.ClientError):
        s3.head_object(Bucket=settings.MEDIA_BUCKET, Key=stored.upload_key)


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


def test_list_page_offers_the_plain_form_until_the_uploader_runs(signed_in):
    """Without JavaScript the drop zone stays hidden and the form shows; uploader.js swaps
    them (the e2e suite checks it in a browser)."""
    html = signed_in.get("/fr/files/").content.decode()
    assert re.search(r'<section class="dropzone" id="dropzone"[^>]* hidden>', html)
    form = re.search(r'<form [^>]*id="fallback"[^>]*>', html).group(0)
    assert "hidden" not in form
    assert 'data-text-not-uploaded="non envoyé"' in html
    assert '<a href="/fr/files/" aria-current="page">Mes fichiers</a>' in html
    assert '<script src="/static/js/uploader.js" defer></script>' in html


def test_a_refusal_of_the_plain_form_is_an_alert_on_the_list(signed_in):
    response = signed_in.post("/en/files/upload", {}, follow=True)
    assert response.redirect_chain == [("/en/files/", 302)]
    html = response.content.decode()
    area = html[html.index('id="messages"') : html.index("<h1>")]
    assert area.count('<div class="message message-error" role="alert">') == 1  # base.html's

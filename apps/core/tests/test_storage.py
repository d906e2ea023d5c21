"""Media storage: django-storages' S3 backend against the local stack, private by default."""

import urllib.request

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages

from apps.core import aws


@pytest.fixture
def media(local_aws, settings):
    # Reassigning STORAGES makes Django build the storage afresh from current settings.
    settings.STORAGES = {**settings.STORAGES}
    return storages["default"]


def test_saves_privately_and_never_overwrites(media, settings):
    first = media.save("notes/hello.txt", ContentFile(b"hello"))
    second = media.save("notes/hello.txt", ContentFile(b"again"))
    assert first == "notes/hello.txt"
    assert second != first  # file_overwrite off: a new key, the first object intact
    with media.open(first) as file:
        assert file.read() == b"hello"

    s3 = aws.client("s3")
    grants = s3.get_object_acl(Bucket=settings.MEDIA_BUCKET, Key=first)["Grants"]
    assert all("AllUsers" not in str(grant["Grantee"]) for grant in grants)


def test_urls_are_short_lived_signed_urls_that_work(media, settings):
    name = media.save("docs/report.txt", ContentFile(b"quarterly"))
    url = media.url(name)
    assert url.startswith(f"{settings.AWS_ENDPOINT_URL}/{settings.MEDIA_BUCKET}/")
    assert "X-Amz-Signature=" in url
    assert f"X-Amz-Expires={settings.MEDIA_URL_EXPIRY}" in url
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == b"quarterly"


def test_storage_uses_the_project_client_config(media, settings):
    config = media.connection.meta.client.meta.config
    assert config.connect_timeout == settings.AWS_CONNECT_TIMEOUT
    assert config.retries["mode"] == "standard"

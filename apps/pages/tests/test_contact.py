"""The contact form: a real multipart body, validation in the user's language, abuse."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core import aws
from apps.pages.models import ContactMessage

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


def form(**extra):
    return {"name": "Ada", "email": "ada@example.com", "message": "Hello!", **extra}


def test_happy_path_with_attachment(client, local_aws, settings):
    attachment = SimpleUploadedFile("plan ü.png", PNG, "image/png")
    response = client.post("/fr/contact/", form(attachment=attachment))
    assert response.status_code == 302
    assert response["Location"] == "/fr/contact/merci/"
    assert "Merci" in client.get(response["Location"]).content.decode()
    stored = ContactMessage.objects.get()
    assert stored.language == "fr" and stored.attachment_name == "plan ü.png"
    body = aws.client("s3").get_object(Bucket=settings.MEDIA_BUCKET, Key=stored.attachment_key)
    assert body["Body"].read() == PNG
    assert len(mail.outbox) == 1 and "Hello!" in mail.outbox[0].body


def test_without_attachment(client, local_aws):
    assert client.post("/en/contact/", form()).status_code == 302
    assert ContactMessage.objects.get().attachment_key == ""


def test_oversize_attachment_is_refused_in_the_users_language(client, local_aws):
    big = SimpleUploadedFile("big.png", PNG + b"\x00" * (1024 * 1024), "image/png")
    response = client.post("/de/kontakt/", form(attachment=big))
    assert response.status_code == 400
    assert "Der Anhang ist zu groß" in response.content.decode()
    assert not ContactMessage.objects.exists()


def test_wrong_attachment_type_is_refused(client, local_aws):
    exe = SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00" + b"\x00" * 50, "application/pdf")
    response = client.post("/fr/contact/", form(attachment=exe))
    assert response.status_code == 400
    assert "Joignez une image" in response.content.decode()


def test_missing_fields_are_explained(client):
    response = client.post("/fr/contact/", {"email": "not-an-email"})
    assert response.status_code == 400
    assert "Ce champ est obligatoire." in response.content.decode()


def test_honeypot_gets_thanks_and_nothing_is_kept(client, local_aws):
    response = client.post("/en/contact/", form(website="http://spam.example"))
    assert response.status_code == 302
    assert not ContactMessage.objects.exists() and not mail.outbox


def test_rate_limit_per_address(client, local_aws, settings):
    settings.CONTACT_RATE_LIMIT = 2
    for _ in range(2):
        assert client.post("/en/contact/", form(), REMOTE_ADDR="203.0.113.9").status_code == 302
    response = client.post("/en/contact/", form(), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 429
    assert ContactMessage.objects.count() == 2
    assert client.post("/en/contact/", form(), REMOTE_ADDR="203.0.113.10").status_code == 302


def test_mail_failure_keeps_the_message(client, local_aws, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    assert client.post("/en/contact/", form()).status_code == 302
    assert ContactMessage.objects.count() == 1


def test_email_longer_than_its_column_is_refused(client, local_aws):
    """Issue 16: a valid address of 255-320 characters passed the form (Django's default
    is 320) and overflowed ContactMessage.email: a DataError, so a 500, on PostgreSQL."""
    email = "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"  # 309 characters
    response = client.post("/en/contact/", form(email=email), REMOTE_ADDR="203.0.113.20")
    assert response.status_code == 400
    assert not ContactMessage.objects.exists()

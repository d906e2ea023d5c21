"""The contact form's workflow: rate limit, store, e-mail."""

import logging
import uuid

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.utils.translation import get_language

from apps.core import limits
from apps.core.content import safe_name
from apps.pages.models import ContactMessage

logger = logging.getLogger(__name__)

RATE_WINDOW = 3600


def _counter(address):
    return limits.key("contact", address)


def contact_rate_limited(address):
    """True once ``address`` sent CONTACT_RATE_LIMIT messages in the last hour."""
    return limits.count(_counter(address)) >= settings.CONTACT_RATE_LIMIT


def contact_submit(*, name, email, message, attachment, address):
    """Store the message (and attachment, privately in S3), then e-mail the team.

    The message is saved before the mail goes out: a mail failure is logged, never loses
    the message (it is in the admin).
    """
    key = name_kept = ""
    if attachment:
        name_kept = attachment.name
        key = default_storage.save(
            f"contact/{uuid.uuid4()}/{safe_name(attachment.name)}", attachment
        )
    stored = ContactMessage.objects.create(
        name=name,
        email=email,
        message=message,
        attachment_key=key,
        attachment_name=name_kept,
        language=get_language(),
        remote_addr=address or None,
    )
    limits.hit(_counter(address), RATE_WINDOW)
    try:
        send_mail(
            subject=f"Contact form: {name}",
            message=f"From: {name} <{email}>\nLanguage: {stored.language}\n"
            f"Attachment: {key or 'none'}\n\n{message}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=settings.CONTACT_EMAIL_TO,
        )
    except Exception:
        logger.exception("contact message %s stored but not e-mailed", stored.pk)
    return stored

"""The contact form's workflow: rate limit, store, e-mail."""

import logging
import uuid
from contextlib import contextmanager

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import get_language

from apps.core import limits, media
from apps.core.content import safe_name
from apps.pages.models import ContactMessage

logger = logging.getLogger(__name__)

RATE_WINDOW = 3600


class ContactRateLimited(Exception):
    """The address sent CONTACT_RATE_LIMIT messages this hour (429 after ``retry_after``)."""

    def __init__(self, retry_after):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class _Slot:
    def __init__(self, counter):
        self.counter, self.held = counter, True

    def release(self):
        if self.held:
            self.held = False
            limits.undo(self.counter, RATE_WINDOW)


@contextmanager
def contact_slot(address):
    """Take one of ``address``'s messages for the hour before anything else happens.

    Counted atomically first, so parallel posts cannot all pass a check made before any of
    them was counted; given back if the block raises (nothing was kept) or calls
    ``release()``. Without an address (a misconfigured proxy chain) all such posts share
    one counter: the form is throttled rather than open.
    """
    counter = limits.key("contact", address or "unknown")
    if limits.hit(counter, RATE_WINDOW) > settings.CONTACT_RATE_LIMIT:
        raise ContactRateLimited(RATE_WINDOW)
    slot = _Slot(counter)
    try:
        yield slot
    except BaseException:
        slot.release()
        raise


def contact_submit(*, name, email, message, attachment, address):
    """Store the message (and attachment, privately in S3), then e-mail the team.

    The row comes first and the attachment's upload inside its transaction: a database that
    is down stores nothing in S3, and S3 down stores no message without its attachment
    (503 either way). The message is saved before the mail goes out: a mail failure is
    logged, never loses the message (it is in the admin).
    """
    with transaction.atomic():
        stored = ContactMessage.objects.create(
            name=name,
            email=email,
            message=message,
            language=get_language(),
            remote_addr=address or None,
        )
        if attachment:
            with media.unavailable():
                stored.attachment_key = default_storage.save(
                    f"contact/{uuid.uuid4()}/{safe_name(attachment.name)}", attachment
                )
            stored.attachment_name = attachment.name
            stored.save(update_fields=["attachment_key", "attachment_name"])
    key = stored.attachment_key
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

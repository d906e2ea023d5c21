from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person, keyed by their Cognito ``sub``: emails and usernames can change, subs don't.

    Users without a ``sub`` are local-only (``createsuperuser``); Cognito never maps to them.
    """

    sub = models.CharField(
        "Cognito sub",
        max_length=128,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="The user's id in the Cognito user pool (the token's sub claim).",
    )

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined]  # the stubs omit AbstractUser.Meta
        swappable = "AUTH_USER_MODEL"

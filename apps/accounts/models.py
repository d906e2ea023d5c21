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

    # The username of a Cognito user is the pool's, which for a pool signing in with email
    # is the sub: people are shown by their address (the admin's "changed by" and "Welcome").
    def __str__(self):
        return self.email or self.get_username()

    def get_short_name(self):
        return self.first_name or str(self)

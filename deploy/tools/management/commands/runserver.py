"""``manage.py runserver`` on the local target: whitenoise's, which also says at start-up when
the local AWS stack is not answering (sign-in, sessions and uploads need it).

The local settings install deploy.tools ahead of whitenoise.runserver_nostatic, so this is the
command manage.py runs there; elsewhere (the test settings) whitenoise's own still is.
"""

from urllib.parse import urlsplit

from django.conf import settings
from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as WhiteNoiseRunserverCommand,
)

from deploy.tools.harness.loopback import listening


def local_stack_warning():
    """One line if nothing answers at the AWS endpoint the settings use, else None: one TCP
    connect to loopback (the local settings allow no other endpoint), refused at once."""
    endpoint = urlsplit(settings.AWS_ENDPOINT_URL or "")
    host, port = endpoint.hostname, endpoint.port or 80
    if not host or listening(host, port):
        return None
    return (
        f"The local AWS stack is not answering on {host}:{port}, so signing in and uploads "
        "fail with a 503: start it with `python manage.py localaws` in another terminal, "
        "or use `make run`, which starts both."
    )


class Command(WhiteNoiseRunserverCommand):
    def check_migrations(self):
        """Django's notice of unapplied migrations, then the local stack's, before serving."""
        super().check_migrations()
        warning = local_stack_warning()
        if warning:
            self.stdout.write(self.style.NOTICE(warning))

"""``manage.py failedtasks`` as the tests of both worlds' failure sources call it."""

import json
from io import StringIO

from django.core.management import call_command


def failedtasks(*args):
    """The command's output."""
    out = StringIO()
    call_command("failedtasks", *args, stdout=out)
    return out.getvalue()


def listed():
    """What the command lists, as its --json gives it."""
    return json.loads(failedtasks("--json"))

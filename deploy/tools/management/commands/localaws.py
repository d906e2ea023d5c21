"""Run the local AWS stack: ``manage.py localaws`` (``make run`` starts it for you), or forget
it with the local database's data: ``manage.py localaws --reset`` (``make reset``)."""

import json
import shutil
import signal
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from deploy.tools.harness.loopback import listening
from deploy.tools.localaws.provision import provision_demo_user, provision_local_stack
from deploy.tools.localaws.server import FORGEABLE_TOKENS_WARNING, LocalAWS, require_loopback
from deploy.tools.localaws.snapshot import Snapshot


def banner(url, state_dir, restored, outputs):
    """What the stack prints once it is provisioned: where it is, what it holds, and that its
    tokens can be forged."""
    return (
        f"Local AWS stack on {url} "
        f"({'state restored from' if restored else 'new state in'} {state_dir})\n"
        f"  sessions table  {settings.SESSIONS_TABLE}\n"
        f"  media bucket    {settings.MEDIA_BUCKET}\n"
        f"  user pool       {outputs['COGNITO_USER_POOL_ID']}\n"
        f"  app client      {outputs['COGNITO_APP_CLIENT_ID'][0]}\n"
        f"  demo login      {settings.LOCALAWS_DEMO_USERNAME} / "
        f"{settings.LOCALAWS_DEMO_PASSWORD}\n"
        f"{FORGEABLE_TOKENS_WARNING}"
    )


class Command(BaseCommand):
    help = (
        "Start moto's server on loopback, provision the sessions table, buckets, user pool "
        "and demo user, restore the saved state from var/, and save changes until stopped. "
        "--reset deletes that state and the local database's data instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=getattr(settings, "LOCALAWS_PORT", 4566))
        parser.add_argument("--state-dir", default=str(settings.LOCALAWS_STATE_DIR))
        parser.add_argument(
            "--origin",
            action="append",
            dest="origins",
            help="Browser origin allowed to upload to the media bucket (repeatable).",
        )
        parser.add_argument(
            "--wait",
            action="store_true",
            help="Start nothing: wait until the stack on --port is provisioned, then exit.",
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Start nothing: delete the saved state and every row of the local database "
            "(its users and their files, which point into that state). Refused while the "
            "stack runs on --port.",
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="With --reset: do not ask for confirmation.",
        )

    def handle(self, *args, port, state_dir, origins, wait, reset, interactive, **options):
        host = settings.LOCALAWS_HOST
        try:
            require_loopback(host)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        outputs_file = Path(state_dir) / "outputs.json"
        if wait:
            return self._wait_until_ready(host, port, outputs_file)
        if reset:
            return self._reset(host, port, Path(state_dir), interactive)
        if listening(host, port):
            raise CommandError(
                f"Something already listens on {host}:{port}; is the local AWS stack running "
                "already? Stop it or pass --port."
            )
        # outputs.json doubles as the "provisioned" marker that --wait looks for.
        outputs_file.unlink(missing_ok=True)
        stack = LocalAWS(host=host, port=port).start()
        snapshot = Snapshot(stack.url, settings.AWS_REGION, state_dir)
        origins = origins or ["http://127.0.0.1:8000", "http://localhost:8000"]
        outputs = provision_local_stack(stack.url, origins)
        restored = snapshot.restore()
        provision_demo_user(stack.url, outputs["COGNITO_USER_POOL_ID"])
        stack.save_changes(snapshot.save)
        snapshot.save()
        outputs_file.write_text(json.dumps(outputs, indent=2) + "\n")

        self.stdout.write(banner(stack.url, state_dir, restored, outputs))
        self.stdout.write("Ready. Ctrl-C stops it; the state is kept.")
        self.stdout.flush()
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        stopped.wait()
        stack.stop()
        self.stdout.write("Local AWS stack stopped; state saved.")

    def _reset(self, host, port, state_dir, interactive):
        """The stack's state and the database go together: users are keyed by their Cognito
        sub and files by their S3 key, so deleting one without the other orphans rows."""
        if listening(host, port):
            raise CommandError(
                f"Something listens on {host}:{port}; is the local AWS stack running? Stop it "
                "(Ctrl-C where `make run` or `manage.py localaws` runs) and reset again."
            )
        database = connection.settings_dict["NAME"]
        if interactive:
            answer = input(
                f"This deletes the local AWS stack's state in {state_dir} and every row of the "
                f"database {database} (users, their files, superusers too).\n"
                "Type 'yes' to continue, or anything else to cancel: "
            )
            if answer != "yes":
                raise CommandError("Reset cancelled.")
        if state_dir.exists():
            shutil.rmtree(state_dir)
        call_command("migrate", interactive=False, verbosity=0)  # flush needs the tables
        call_command("flush", interactive=False, verbosity=0)
        self.stdout.write(
            f"Deleted the local stack's state ({state_dir}) and the data of {database}. "
            "The next start provisions a fresh stack with its demo user."
        )

    def _wait_until_ready(self, host, port, outputs_file, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if outputs_file.exists() and listening(host, port):
                return
            time.sleep(0.2)
        raise CommandError(
            f"The local AWS stack on {host}:{port} was not ready within {timeout:.0f}s."
        )

"""Serve an empty emulated AWS account for the deploy rehearsal until SIGTERM:
``manage.py emulatedaws --port N [--record PATH.jsonl] [--state-dir DIR]``."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from deploy.tools.harness.loopback import listening
from deploy.tools.localaws.server import FORGEABLE_TOKENS_WARNING
from deploy.tools.rehearsal.emulator import HOST, EmulatedAccount


class Command(BaseCommand):
    help = (
        "Start an empty AWS account (moto's server with the deploy's CloudFormation models) "
        "on 127.0.0.1, print 'emulated AWS account on <url>' when ready, serve until "
        "SIGTERM or Ctrl-C. Nothing is provisioned and nothing is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=0, help="0 picks a free port.")
        parser.add_argument(
            "--record", help="Append one JSON line per request to this file (.jsonl)."
        )
        parser.add_argument(
            "--state-dir", help="Where the account keeps files (default: a temporary one)."
        )

    def handle(self, *args, port, record, state_dir, **options):
        if port and listening(HOST, port):
            raise CommandError(
                f"Something already listens on {HOST}:{port}; stop it or pass another --port "
                "(0 picks a free one)."
            )
        stopped = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopped.set())
        account = EmulatedAccount(port=port, record=record, state_dir=state_dir).start()
        try:
            self.stderr.write(FORGEABLE_TOKENS_WARNING)
            # Printed first: whoever reads the ready line has them all.
            for name, attribute in [
                ("execute-api", "execute_api_url"),
                ("registry", "registry_url"),
                ("load-balancer", "load_balancer_url"),
            ]:
                url = getattr(account, attribute, None)
                if url:
                    self.stdout.write(f"{name} on {url}")
            self.stdout.write(f"emulated AWS account on {account.url}")
            self.stdout.flush()
            stopped.wait()
        finally:
            account.stop()

"""``manage.py runlambda``: the Lambda package served on 127.0.0.1 as API Gateway would.

The work is in deploy/tools/locallambda (see its package docstring); this only parses options.
With ``--snapstart`` the version's snapshot is taken before the gateway opens, as publishing
a version does, and every instance is restored from it.
"""

import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deploy.tools.locallambda import cli, gateway, http_events


class Command(BaseCommand):
    help = (
        "Run the Lambda package locally: worker processes under the real runtime interface "
        "client, behind a local API Gateway on 127.0.0.1 (--snapstart: each restored from "
        "a snapshot taken after init)."
    )

    def add_arguments(self, parser):
        cli.add_function_arguments(parser)
        parser.add_argument(
            "--event",
            choices=http_events.KINDS,
            help="Event shape: REST API v1, HTTP API v2, function URL or ALB (default: the "
            "stage's API, v2 for dev, v1 for prod).",
        )
        parser.add_argument("--concurrency", type=int, default=2, help="Instances at most (2).")
        parser.add_argument("--port", type=int, default=9000, help="Gateway port (9000).")
        parser.add_argument(
            "--integration-timeout",
            type=float,
            help="Gateway timeout, s (29 for v1, 30 for v2; the function's for url and alb).",
        )

    def handle(self, *args, **options):
        # Django's own SIGTERM default kills us without cleaning the code directory.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            with cli.function_from_options(
                settings.BASE_DIR,
                options,
                gateway_url=f"http://127.0.0.1:{options['port']}",
                report=self._report,
            ) as function:
                # The local gateway speaks plain HTTP; redirecting to https would lose the site.
                function.environment.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")
                with cli.pool_for(function, options["concurrency"]) as pool:
                    if function.snapstart:
                        # Its INIT_REPORT now; a failed one is taken again per invocation.
                        pool.take_snapshot()
                    server = gateway.Gateway(
                        pool,
                        kind=options["event"],
                        stage=options["stage"],
                        port=options["port"],
                        integration_timeout=options["integration_timeout"],
                    ).start()
                    self.stdout.write(
                        f"Local Lambda {function.name} ({options['event']} events, up to "
                        f"{options['concurrency']} instances) on {server.url}\n"
                        f"Code (read-only): {function.code_dir}\nQuit with CONTROL-C.\n"
                    )
                    self.stdout.flush()
                    try:
                        server.thread.join()
                    finally:
                        server.stop()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            pass

    def _report(self, line):
        self.stdout.write(line)
        self.stdout.flush()

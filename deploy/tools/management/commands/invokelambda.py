"""``manage.py invokelambda``: one non-HTTP event for the Lambda package, run as Lambda would.

A fresh (cold) instance of the same package ``runlambda`` serves takes the event; its
START/END/REPORT lines and the function's result are printed. With ``--snapstart`` that
instance is restored from a snapshot taken first (INIT_REPORT, then a REPORT with Restore
Duration).
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deploy.tools.locallambda import cli, invocations


class Command(BaseCommand):
    help = (
        "Send an S3, schedule, task or manage event to the Lambda package, run locally "
        "(--snapstart: on an instance restored from a snapshot)."
    )

    def add_arguments(self, parser):
        cli.add_function_arguments(parser)
        event = parser.add_mutually_exclusive_group(required=True)
        event.add_argument("--s3", metavar="BUCKET/KEY", help="S3 ObjectCreated for a key.")
        event.add_argument("--schedule", metavar="JOB", help="A schedule event for a job.")
        event.add_argument("--task", metavar="DOTTED.PATH", help="A task payload.")
        event.add_argument("--manage", metavar="COMMAND", help='A management command ("migrate").')
        event.add_argument("--event-json", metavar="JSON", help="Any event, as JSON.")
        # Django keeps the "args" option name for itself.
        parser.add_argument(
            "--args", dest="task_args", default="[]", help="Task arguments, a JSON list."
        )
        parser.add_argument(
            "--kwargs", dest="task_kwargs", default="{}", help="Task keyword arguments, JSON."
        )

    def handle(self, *args, **options):
        try:
            with cli.function_from_options(
                settings.BASE_DIR, options, report=self.stderr.write
            ) as function:
                event = self.event(options, function)
                with cli.pool_for(function) as pool:
                    invocation = pool.invoke(json.dumps(event).encode())
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if invocation.error is not None:
            error = invocation.error
            raise CommandError(f"{error['errorType']}: {error['errorMessage']}")
        self.stdout.write(invocation.result.decode())

    def event(self, options, function):
        if options["s3"]:
            bucket, _, key = options["s3"].partition("/")
            if not key:
                raise CommandError("--s3 takes BUCKET/KEY.")
            return invocations.s3_object_created(bucket, key, function.name, function.region)
        if options["schedule"]:
            return invocations.scheduled(options["schedule"], function.name, function.region)
        if options["task"]:
            return invocations.task(
                options["task"],
                json.loads(options["task_args"]),
                json.loads(options["task_kwargs"]),
            )
        if options["manage"]:
            return invocations.manage(options["manage"])
        return json.loads(options["event_json"])

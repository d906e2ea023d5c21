"""``manage.py createsessionstable``: create or verify the DynamoDB sessions table.

The table is the one the session store defines (``apps.sessions.backends.dynamodb.TABLE``),
which the local stack and deploy/aws create too.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core import aws
from apps.sessions.backends.dynamodb import TABLE


class Command(BaseCommand):
    help = (
        "Create the DynamoDB sessions table (SESSIONS_TABLE) if it is missing, with on-demand "
        "billing and TTL on, then verify it. With --check, only verify."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--check",
            action="store_true",
            help="Change nothing; exit non-zero if the table is missing or set up differently.",
        )

    def handle(self, *args, check, **options):
        table = settings.SESSIONS_TABLE
        if not table:
            raise CommandError("SESSIONS_TABLE is not set; name the sessions table there.")
        dynamodb = aws.client("dynamodb")
        verb = "verify" if check else "create"
        with aws.unavailable_as(
            CommandError, lambda exc: f"Cannot {verb} the sessions table {table}: {exc}"
        ):
            created = False if check else TABLE.ensure(dynamodb, table)
            problems = TABLE.problems(dynamodb, table)
        if problems:
            hint = " (run manage.py createsessionstable)" if check else ""
            raise CommandError(
                f"The sessions table {table} is not as the session store defines it: "
                + "; ".join(problems)
                + hint
            )
        self.stdout.write(
            f"{'Created' if created else 'Verified'} the sessions table {table} "
            f"(on-demand, TTL on {TABLE.ttl_attribute})."
        )

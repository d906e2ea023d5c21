"""``manage.py createsessionstable``: create or verify the DynamoDB sessions table.

The table is the one ``apps.core.provisioning`` defines, which the local stack provisions too.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core import aws
from apps.core.provisioning import (
    SESSIONS_TTL_ATTRIBUTE,
    ensure_sessions_table,
    sessions_table_definition,
)


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
        try:
            created = False if check else ensure_sessions_table(dynamodb, table)
            problems = table_problems(dynamodb, table)
        except Exception as exc:
            if not aws.is_unavailable(exc):
                raise
            raise CommandError(
                f"Cannot {'verify' if check else 'create'} the sessions table {table}: {exc}"
            ) from exc
        if problems:
            raise CommandError(
                f"The sessions table {table} is not as apps.core.provisioning defines it: "
                + "; ".join(problems)
            )
        self.stdout.write(
            f"{'Created' if created else 'Verified'} the sessions table {table} "
            f"(on-demand, TTL on {SESSIONS_TTL_ATTRIBUTE})."
        )


def table_problems(dynamodb, table):
    """How the existing table differs from the definition; empty if it matches."""
    try:
        described = dynamodb.describe_table(TableName=table)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        return ["it does not exist (run manage.py createsessionstable)"]
    definition = sessions_table_definition(table)
    problems = []
    if described["KeySchema"] != definition["KeySchema"]:
        problems.append(f"key schema is {described['KeySchema']}")
    types = {a["AttributeName"]: a["AttributeType"] for a in described["AttributeDefinitions"]}
    for attribute in definition["AttributeDefinitions"]:
        if types.get(attribute["AttributeName"]) != attribute["AttributeType"]:
            problems.append(
                f"{attribute['AttributeName']} is not of type {attribute['AttributeType']}"
            )
    billing = described.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    if billing != definition["BillingMode"]:
        problems.append(f"billing mode is {billing}")
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
        problems.append("TTL is off")
    elif ttl.get("AttributeName") != SESSIONS_TTL_ATTRIBUTE:
        problems.append(f"TTL is on {ttl.get('AttributeName')}, not {SESSIONS_TTL_ATTRIBUTE}")
    return problems

"""Create a user in the configured Cognito user pool: ``manage.py cognito_createuser EMAIL``."""

import getpass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.cognito import ensure_user
from apps.core import aws


class Command(BaseCommand):
    help = (
        "Create (or update the groups of) a user in COGNITO_USER_POOL_ID with a permanent "
        "password; --group may repeat. Uses the app's AWS credentials."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password", help="Prompted for when omitted.")
        parser.add_argument("--group", action="append", default=[], dest="groups")

    def handle(self, *args, email, password, groups, **options):
        pool_id = settings.COGNITO_USER_POOL_ID
        if not pool_id:
            raise CommandError("COGNITO_USER_POOL_ID is not set; start the local stack or set it.")
        if password is None:
            password = getpass.getpass(f"Password for {email}: ")
        cognito = aws.client("cognito-idp")
        try:
            ensure_user(cognito, pool_id, email, password, groups=groups)
        except cognito.exceptions.InvalidPasswordException as exc:
            raise CommandError(f"Cognito refused the password: {exc}") from None
        except cognito.exceptions.InvalidParameterException as exc:
            raise CommandError(f"Cognito refused the request: {exc}") from None
        suffix = f" in {', '.join(groups)}" if groups else ""
        self.stdout.write(f"{email} can sign in to pool {pool_id}{suffix}.")

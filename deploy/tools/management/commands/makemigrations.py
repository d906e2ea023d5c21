"""Django's ``makemigrations``, formatting the files it writes with ruff (migrationfiles.py)."""

from django.core.management.commands import makemigrations

from deploy.tools.management.migrationfiles import FormatsWrittenMigrations


class Command(FormatsWrittenMigrations, makemigrations.Command):
    pass

"""Django's ``optimizemigration``, formatting the files it writes with ruff (migrationfiles.py)."""

from django.core.management.commands import optimizemigration

from deploy.tools.management.migrationfiles import FormatsWrittenMigrations


class Command(FormatsWrittenMigrations, optimizemigration.Command):
    pass

"""Django's ``squashmigrations``, formatting the files it writes with ruff (migrationfiles.py)."""

from django.core.management.commands import squashmigrations

from deploy.tools.management.migrationfiles import FormatsWrittenMigrations


class Command(FormatsWrittenMigrations, squashmigrations.Command):
    pass

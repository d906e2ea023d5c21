"""Migration files as ``make lint`` wants them: what makemigrations, squashmigrations and
optimizemigration write gets ruff's fixes and formatting, as ``make format`` would apply.

Django runs black on those files when black is on PATH; this project lints with ruff, a
development dependency, so deploy.tools (installed by the local and test settings only)
overrides the three commands to run ruff. Without ruff the files stay as Django wrote them.
"""

import subprocess
from pathlib import Path

from django.apps import apps
from django.core.management.base import BaseCommand


def ruff_format(paths):
    """Apply ruff's fixes (the import order) and its formatting to ``paths``, with the project's
    configuration; nothing at all when ruff is not installed."""
    try:
        from ruff import find_ruff_bin

        ruff = find_ruff_bin()
    except (ImportError, FileNotFoundError):
        return
    files = [str(path) for path in paths]
    for command in (["check", "--fix-only"], ["format"]):
        try:
            subprocess.run(  # noqa: S603 - the installed ruff, on files a command of ours wrote
                [ruff, *command, "--quiet", "--", *files], capture_output=True
            )
        except OSError:
            return


def migration_files():
    """Every migration file of the installed apps, with the time it last changed."""
    return {
        path: path.stat().st_mtime_ns
        for config in apps.get_app_configs()
        for path in Path(config.path, "migrations").glob("*.py")
    }


class FormatsWrittenMigrations(BaseCommand):
    """For a command that writes migration files: format those its ``handle`` wrote or
    rewrote, whichever way it wrote them (a new migration, --merge, --update, a squash)."""

    def handle(self, *args, **options):
        before = migration_files()
        try:
            return super().handle(*args, **options)
        finally:
            written = [
                path for path, mtime in migration_files().items() if before.get(path) != mtime
            ]
            if written:
                ruff_format(written)

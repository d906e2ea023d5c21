"""Migrations as makemigrations writes them pass ``make lint`` (deploy/tools/management/
migrationfiles.py), and no model change is missing its migration."""

import os
import shutil
import subprocess
import sys

import pytest
from django.core.management import call_command, get_commands
from ruff import find_ruff_bin

from deploy.tools.harness.processes import ROOT, subprocess_env
from deploy.tools.management.migrationfiles import ruff_format

PROBE_MODELS = """
import uuid

from django.conf import settings
from django.db import models


class Note(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(
        max_length=200,
        help_text="Long enough that Django writes a line which the project's ruff would wrap.",
    )
"""


@pytest.mark.django_db  # makemigrations checks the history applied to the database
def test_no_model_change_is_missing_its_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_the_commands_that_write_migrations_are_the_tools_ones():
    commands = get_commands()
    for name in ("makemigrations", "squashmigrations", "optimizemigration"):
        assert commands[name] == "deploy.tools"


def ruff(*args, cwd):
    return subprocess.run([find_ruff_bin(), *args], cwd=cwd, capture_output=True, text=True)


def test_a_new_apps_first_migration_passes_lint_as_written(tmp_path):
    """An app of a newcomer: its migration is checked with the project's ruff configuration."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "__init__.py").write_text("")
    (tmp_path / "probe" / "models.py").write_text(PROBE_MODELS)
    (tmp_path / "probe_settings.py").write_text(
        "from project.settings.test import *  # noqa: F403\n"
        "INSTALLED_APPS = [*INSTALLED_APPS, 'probe']  # noqa: F405\n"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "probe"],
        cwd=ROOT,
        env=subprocess_env(
            DJANGO_SETTINGS_MODULE="probe_settings",
            PYTHONPATH=os.pathsep.join([str(ROOT), str(tmp_path)]),
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    migration = tmp_path / "probe" / "migrations" / "0001_initial.py"
    assert 'name="Note"' in migration.read_text()  # Django writes 'Note'
    for check in (["check"], ["format", "--check"]):
        linted = ruff(*check, str(migration), cwd=tmp_path)
        assert linted.returncode == 0, linted.stdout + linted.stderr


def test_without_ruff_the_files_stay_as_django_wrote_them(tmp_path, monkeypatch):
    migration = tmp_path / "0001_initial.py"
    migration.write_text("import uuid\nimport django.db.models.deletion\nx = {'a':1}\n")
    monkeypatch.setitem(sys.modules, "ruff", None)  # not installed: import fails
    ruff_format([migration])
    assert migration.read_text() == "import uuid\nimport django.db.models.deletion\nx = {'a':1}\n"
    with pytest.raises(ImportError):
        import ruff  # noqa: F401

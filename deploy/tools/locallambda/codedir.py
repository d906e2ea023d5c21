"""The function's code directory, laid out as Lambda has it: a read-only copy.

``--source`` copies the working tree (not the virtualenv, ``var/``, VCS data or caches)
and writes the ``zappa_settings.py`` that ``zappa package`` generates for the stage;
``--zip`` extracts a built package, which carries its own. Either way the copy is made
read-only (folders 0555, files 0444): only each instance's temporary directory is
writable, as on Lambda, where only ``/tmp`` is.

Permission bits do not bind root, so a root process runs each worker in a private mount
namespace where the code directory is bind-mounted read-only (``readonly_command``).
"""

import functools
import json
import os
import shutil
import stat
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

SKIPPED = {
    ".git",
    ".venv",
    "var",
    "node_modules",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
}
DEFAULT_MEMORY_MB = 512  # Zappa's default memory_size
DEFAULT_TIMEOUT = 30  # Zappa's default timeout_seconds


@dataclass
class Stage:
    """What the local Lambda needs from one stage of zappa_settings.json."""

    name: str
    function_name: str
    memory_mb: int
    timeout: float
    region: str
    settings: dict

    @classmethod
    def load(cls, settings_file, name):
        """The stage ``name`` of ``settings_file``; defaults when the file or stage is absent."""
        path = Path(settings_file)
        stages = json.loads(path.read_text()) if path.exists() else {}
        settings = stages.get(name, {})
        project = settings.get("project_name", path.resolve().parent.name)
        return cls(
            name=name,
            function_name=f"{project}-{name}",
            memory_mb=int(settings.get("memory_size", DEFAULT_MEMORY_MB)),
            timeout=float(settings.get("timeout_seconds", DEFAULT_TIMEOUT)),
            region=settings.get("aws_region", "us-east-1"),
            settings=settings,
        )

    @property
    def event_kind(self):
        """The events its API sends: HTTP API (v2) or REST API (v1, Zappa's default)."""
        return "v2" if self.settings.get("apigateway_version") == "v2" else "v1"

    @property
    def environment(self):
        """The function's variables on Lambda (``aws_environment_variables``)."""
        return dict(self.settings.get("aws_environment_variables", {}))

    def package_settings(self):
        """The ``zappa_settings.py`` that ``zappa package`` writes (the keys our handler reads)."""
        mapping: dict[str, list[str]] = {}
        for event in self.settings.get("events", []):
            arn = event.get("event_source", {}).get("arn")
            if arn and event.get("function"):
                mapping.setdefault(arn, []).append(event["function"])
        values = {
            "API_STAGE": self.name,
            "PROJECT_NAME": self.function_name.rsplit("-", 1)[0],
            "DJANGO_SETTINGS": self.settings.get("django_settings"),
            "ENVIRONMENT_VARIABLES": self.settings.get("environment_variables", {}),
            "AWS_EVENT_MAPPING": mapping,
            "BINARY_SUPPORT": self.settings.get("binary_support", True),
        }
        return "".join(f"{key} = {value!r}\n" for key, value in values.items())


def from_source(root, stage, parent):
    """A read-only copy of the source tree ``root`` under ``parent``, plus zappa_settings.py."""
    target = Path(parent) / "task"
    shutil.copytree(root, target, ignore=_skipped, symlinks=False)
    (target / "zappa_settings.py").write_text(stage.package_settings())
    make_read_only(target)
    return target


def from_zip(path, parent):
    """The built package at ``path`` extracted read-only under ``parent``."""
    target = Path(parent) / "task"
    with zipfile.ZipFile(path) as archive:
        archive.extractall(target)
    make_read_only(target)
    return target


def make_read_only(root):
    for folder, _folders, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            executable = os.stat(path).st_mode & stat.S_IXUSR
            os.chmod(path, 0o555 if executable else 0o444)
        os.chmod(folder, 0o555)  # noqa: S103 - read and list: what Lambda gives the code


def remove(root):
    """Delete a tree made read-only by ``make_read_only``."""
    for folder, _folders, _files in os.walk(root):
        os.chmod(folder, 0o700)
    shutil.rmtree(root, ignore_errors=True)


def temporary_parent():
    return tempfile.mkdtemp(prefix="amphibian-lambda-")


def readonly_command(code_dir, command):
    """``command`` such that ``code_dir`` cannot be written even by root.

    For root, a private mount namespace with a read-only bind mount of ``code_dir``
    (``unshare``); anyone else is already stopped by the permission bits.
    """
    if os.geteuid() != 0 or not _can_unshare():
        return command
    script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    return ["unshare", "--mount", "--", "sh", "-c", script, "sh", str(code_dir), *command]


@functools.cache
def _can_unshare():
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--", "true"],  # noqa: S607 - found on PATH just above
        capture_output=True,
        timeout=10,
        check=False,
    )
    return probe.returncode == 0


def _skipped(folder, names):
    return [name for name in names if name in SKIPPED or name.endswith(".pyc")]

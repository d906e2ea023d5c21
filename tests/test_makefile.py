"""The Makefile documents itself: every target says what it does in `make help`."""

import re
import subprocess

from deploy.tools.harness.processes import ROOT

TARGET = re.compile(r"^([a-z0-9][a-z0-9-]*):(?!=)(.*)$", re.M)


def test_every_target_has_a_help_line():
    text = (ROOT / "Makefile").read_text()
    targets = {name for name, _ in TARGET.findall(text)}
    undocumented = sorted(name for name, rest in TARGET.findall(text) if "## " not in rest)
    assert undocumented == []
    shown = subprocess.run(
        ["make", "--no-print-directory", "help"],  # noqa: S607 - make from PATH, as a user runs it
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = {line.split()[0] for line in shown.splitlines() if line.strip()}
    assert listed == targets


def dry_run(*args):
    """The commands ``make ARGS`` would run, run by none of them."""
    return subprocess.run(
        ["make", "--no-print-directory", "--dry-run", *args],  # noqa: S607 - make from PATH
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_run_follows_port_and_localaws_port():
    commands = dry_run("run", "PORT=8123", "LOCALAWS_PORT=4999")
    assert "manage.py localaws --port 4999 \\" in commands
    assert "--origin http://127.0.0.1:8123 --origin http://localhost:8123 & stack=$!" in commands
    assert "manage.py localaws --port 4999 --wait" in commands
    assert "manage.py runserver 127.0.0.1:8123" in commands


def test_reset_and_messages_are_manage_py_commands():
    assert "manage.py localaws --reset --port 4566" in dry_run("reset")
    assert "manage.py messages" in dry_run("messages")

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

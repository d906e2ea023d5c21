"""The steps of the Lambda package build that ``deploy/lambda/package.py`` runs.

- ``venv``: the build virtualenv from the lock files, and the commands run in it
  (``collectstatic``, ``zappa package``).
- ``dropped``: what the rewrite removes from Zappa's zip, and why.
- ``rewrite``: the zip rewritten: removals, static files, stripped libraries, bytecode.
- ``limits``: the package's sizes against Lambda's limits.

Build code only: the stages' ``exclude_glob`` keeps this folder out of the function. It
runs with the system Python 3.13 (standard library only), before the build venv exists.
"""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WORK_DIR = ROOT / "var" / "package"
VENV = WORK_DIR / "venv"


def normalize(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def run(command, **kwargs):
    subprocess.run(command, cwd=ROOT, check=True, timeout=900, **kwargs)  # noqa: S603

"""The Lambda package as ``make package`` builds it, for the tests that run the zip.

Shared by ``test_package.py`` and the end-to-end suite.
"""

import os
import subprocess
import sys

from deploy.tools.harness.processes import ROOT


def build_package(stage="dev", output=None, **env):
    """``deploy/lambda/package.py --stage STAGE`` with ``env`` added; the zip's path.

    ``output`` must be inside the repository (zappa writes it relative to the root); the
    default is var/package/amphibian-<stage>.zip, as ``make package`` writes it.
    """
    output = output or ROOT / "var" / "package" / f"amphibian-{stage}.zip"
    output.parent.mkdir(parents=True, exist_ok=True)
    built = subprocess.run(
        [sys.executable, "deploy/lambda/package.py", "--stage", stage, "--output", str(output)],
        cwd=ROOT,
        env={**os.environ, **env},
        timeout=900,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return output

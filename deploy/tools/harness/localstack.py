"""The local AWS stack for a child target: ``manage.py localaws`` as its own process, and the
variables that point a target's settings at a running stack."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from deploy.tools.harness.loopback import free_port, listening
from deploy.tools.harness.processes import ROOT, subprocess_env
from deploy.tools.localaws.environment import stack_variables


def stack_env(stack):
    """A started ``LocalAWSProcess``'s endpoint, resource names and Cognito ids, as the
    settings read them."""
    return stack_variables(
        stack.url, stack.outputs["COGNITO_USER_POOL_ID"], stack.outputs["COGNITO_APP_CLIENT_ID"]
    )


class LocalAWSProcess:
    """``manage.py localaws`` as a real child process, as ``make run`` starts it."""

    def __init__(self, state_dir, port=None, origins=(), target="test"):
        self.state_dir = Path(state_dir)
        self.target = target  # whose resource names it provisions: the suite's, or local's
        self.port = port or free_port()
        self.origins = origins  # browser origins the media bucket's CORS allows
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.output = ""

    def start(self, timeout=60):
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and argv
            [
                sys.executable,
                *("manage.py", "localaws"),
                *("--port", str(self.port)),
                *("--state-dir", str(self.state_dir)),
                *(arg for origin in self.origins for arg in ("--origin", origin)),
            ],
            cwd=ROOT,
            env=subprocess_env(DJANGO_DEPLOY_TARGET=self.target),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        outputs = self.state_dir / "outputs.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output, _ = self.process.communicate()
                raise RuntimeError(f"localaws exited early:\n{output}")
            if outputs.exists() and listening("127.0.0.1", self.port):
                return self
            time.sleep(0.1)
        self.stop(signal.SIGKILL)
        raise RuntimeError(f"localaws was not ready in {timeout}s:\n{self.output}")

    def stop(self, signum=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.output, _ = self.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.output, _ = self.process.communicate()
        return self.process.returncode if self.process else None

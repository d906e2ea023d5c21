"""The local AWS stack for a child target: ``manage.py localaws`` as its own process, and the
variables that point a target's settings at a running stack."""

import signal
import subprocess
import sys
import time
from pathlib import Path

from deploy.tools.harness.loopback import free_port, listening
from deploy.tools.harness.processes import ROOT, subprocess_env


def stack_env(stack):
    """A local stack's endpoint, resource names and Cognito ids, as the settings read them."""
    from django.conf import settings

    pool_id = stack.outputs["COGNITO_USER_POOL_ID"]
    return {
        "AWS_REGION": settings.AWS_REGION,
        "AWS_ENDPOINT_URL": stack.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "SESSIONS_TABLE": settings.SESSIONS_TABLE,
        "TOKEN_DENYLIST_TABLE": settings.TOKEN_DENYLIST_TABLE,
        "RATE_LIMITS_TABLE": settings.RATE_LIMITS_TABLE,
        "MEDIA_BUCKET": settings.MEDIA_BUCKET,
        "STATIC_BUCKET": settings.STATIC_BUCKET,
        "COGNITO_USER_POOL_ID": pool_id,
        "COGNITO_APP_CLIENT_ID": ",".join(stack.outputs["COGNITO_APP_CLIENT_ID"]),
        "COGNITO_JWKS_URL": f"{stack.url}/{pool_id}/.well-known/jwks.json",
    }


class LocalAWSProcess:
    """``manage.py localaws`` as a real child process, as ``make run`` starts it."""

    def __init__(self, state_dir, port=None, origins=()):
        self.state_dir = Path(state_dir)
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
            env=subprocess_env(DJANGO_DEPLOY_TARGET="test"),
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

"""The function the upload benchmark measures: the source tree in the local Lambda (the lambda
target's settings, a PostgreSQL database, the local stack), and the demo user's access token."""

import subprocess
import sys
import urllib.request

from bench.byte_counting import wait_for
from deploy.tools.harness.localstack import stack_env
from deploy.tools.harness.loopback import free_port
from deploy.tools.harness.processes import (
    DEPLOYED_ENV,
    ROOT,
    TOOL_SETTINGS,
    run_manage,
    stop_process,
    subprocess_env,
)

STAGE = "dev"


def healthy(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status == 200
    except OSError:
        return False


class LocalLambda:
    """``manage.py runlambda`` on the source tree, the lambda target's settings, as a child."""

    def __init__(self, stack, database_url, function_s3, scratch):
        self.port = free_port()
        self.log_path = scratch / "runlambda.log"
        static_root = scratch / "static"  # whitenoise wants it; no page here needs a file
        static_root.mkdir()
        self.env = subprocess_env(
            DJANGO_DEPLOY_TARGET="lambda",
            DJANGO_SECRET_KEY=DEPLOYED_ENV["DJANGO_SECRET_KEY"],
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database_url,
            DJANGO_STATIC_ROOT=str(static_root),
            DJANGO_STATIC_URL=f"/{STAGE}/static/",
            **stack_env(stack),
            AWS_ENDPOINT_URL_S3=function_s3.url,
            # Tasks (the checksum) go to the local Lambda's own Invoke API.
            AWS_ENDPOINT_URL_LAMBDA=f"http://127.0.0.1:{self.port}",
            PYTHONUNBUFFERED="1",
        )
        self.process = None

    def start(self, timeout=120):
        run_manage(["migrate", "--noinput", "-v0"], self.env)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and argv
                [
                    *(sys.executable, "manage.py", "runlambda", "--source", "--event", "v2"),
                    *("--stage", STAGE, "--port", str(self.port), "--concurrency", "2"),
                    *("--environment", "shell"),
                ],
                cwd=ROOT,
                env={**self.env, **TOOL_SETTINGS},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{self.port}/{STAGE}/healthz"
        wait_for(lambda: self.process.poll() is not None or healthy(url), timeout, url)
        if self.process.poll() is not None:
            raise SystemExit(f"runlambda exited:\n{self.log_path.read_text()[-4000:]}")
        return self

    def stop(self):
        if self.process:
            stop_process(self.process)

    def lines(self, prefix):
        """How many lines of the function's log start with ``prefix`` (START, REPORT)."""
        return sum(line.startswith(prefix) for line in self.log_path.read_text().splitlines())


def sign_in(stack):
    """An access token of the local stack's demo user (InitiateAuth, as the login form does)."""
    from django.conf import settings

    from apps.core import aws

    result = aws.client("cognito-idp", endpoint=stack.url).initiate_auth(
        ClientId=stack.outputs["COGNITO_APP_CLIENT_ID"][0],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={
            "USERNAME": settings.LOCALAWS_DEMO_USERNAME,
            "PASSWORD": settings.LOCALAWS_DEMO_PASSWORD,
        },
    )
    return result["AuthenticationResult"]["AccessToken"]

"""Suite-wide fixtures (loaded with ``-p tests.fixtures``): real local parts, no mocks.

A test whose real part is missing skips with a reason saying how to get it; under CI
(``CI=true``) the same absence fails, so nothing silently stops being tested. The parts
themselves (child processes, ports, the local stack as a process) are deploy/tools/harness,
which the benchmarks share.
"""

import os
import shutil
import signal

import pytest
from django.test import override_settings
from hypothesis.configuration import set_hypothesis_home_dir

from deploy.tools.harness.localstack import LocalAWSProcess
from deploy.tools.harness.loopback import listening
from deploy.tools.harness.postgres import POSTGRES_URL
from deploy.tools.localaws.provision import provision_demo_user, provision_local_stack
from deploy.tools.localaws.server import LocalAWS

# Hypothesis keeps its examples and caches under var/ (ignored by git, never packaged or
# copied into the image), not in a .hypothesis/ beside the code.
set_hypothesis_home_dir(
    os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "var", "hypothesis")
)


def require(available, what, how):
    """Skip (on a developer's machine) or fail (under CI) when a real part is absent."""
    if available:
        return
    message = f"{what} is not available: {how}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: missing parts fail instead of skipping)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def local_aws():
    """moto's server on a free loopback port, provisioned like the local target.

    Settings point the AWS client factory at it for the whole session.
    """
    stack = LocalAWS().start()
    outputs = provision_local_stack(stack.url, ["http://testserver"])
    provision_demo_user(stack.url, outputs["COGNITO_USER_POOL_ID"])
    overrides = override_settings(
        AWS_ENDPOINT_URL=stack.url,
        AWS_ENDPOINT_URLS={},
        COGNITO_USER_POOL_ID=outputs["COGNITO_USER_POOL_ID"],
        COGNITO_APP_CLIENT_ID=outputs["COGNITO_APP_CLIENT_ID"],
    )
    overrides.enable()
    stack.outputs = outputs
    yield stack
    overrides.disable()
    stack.stop()


def use_local_cognito(settings, stack):
    """Point ``settings`` at ``stack``'s user pool: its real tokens, verified with the key set
    it serves (no key file, no hosted UI)."""
    pool_id = stack.outputs["COGNITO_USER_POOL_ID"]
    settings.COGNITO_ISSUER = None
    settings.COGNITO_USER_POOL_ID = pool_id
    settings.COGNITO_APP_CLIENT_ID = stack.outputs["COGNITO_APP_CLIENT_ID"]
    settings.COGNITO_JWKS_URL = f"{stack.url}/{pool_id}/.well-known/jwks.json"
    settings.COGNITO_JWKS_FILE = None
    settings.COGNITO_DOMAIN = None
    return settings


@pytest.fixture
def localaws_process(tmp_path):
    """Start ``manage.py localaws`` processes on state under ``tmp_path``; all stopped after."""
    started = []

    def start(state_dir=None, port=None):
        process = LocalAWSProcess(state_dir or tmp_path / "localaws", port=port).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop(signal.SIGKILL)


@pytest.fixture(scope="session")
def postgres_url():
    """The machine's PostgreSQL (127.0.0.1:5432, trust auth) for server/lambda settings."""
    require(
        listening("127.0.0.1", 5432),
        "PostgreSQL on 127.0.0.1:5432",
        "install and start it (Debian: apt-get install postgresql) or set TEST_POSTGRES_URL",
    )
    return POSTGRES_URL


@pytest.fixture(scope="session")
def podman(tmp_path_factory):
    """The podman CLI (tests/support/container_target.py); skips, or fails under CI, without it."""
    from tests.support.container_target import Podman

    return Podman(tmp_path_factory.mktemp("podman"))


@pytest.fixture(scope="session")
def container_image(podman, tmp_path_factory):
    """deploy/container's image, built once per session."""
    return podman.build_image(tmp_path_factory.mktemp("rootfs"))


@pytest.fixture(scope="session")
def rehearsal(tmp_path_factory):
    """The deploy rehearsal (tests/support/rehearsal.py): an emulated account, a copy of this
    tree, and `make deploy STAGE=prod` run in it until it has deployed. Session-wide: the
    deploy tests and the e2e suite's "deployed" target share one deployment."""
    from tests.support.rehearsal import Rehearsal, ensure_secret_key, prepare_stage

    require(shutil.which("make"), "make", "apt-get install make")
    run = Rehearsal(tmp_path_factory.mktemp("rehearsal")).start()
    try:
        prepare_stage(run, "prod")
        # The first deploy stops where the README says: the secret key is the user's to set.
        run.first = run.make("deploy", STAGE="prod")
        assert run.first.returncode != 0, run.first.stdout
        ensure_secret_key(run, "prod")
        run.deployed = run.make("deploy", STAGE="prod")
        assert run.deployed.returncode == 0, run.logs[-1].read_text()[-6000:]
        yield run
    finally:
        run.stop()

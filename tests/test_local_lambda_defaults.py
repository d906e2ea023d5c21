"""The local Lambda with no variables: ``make run``'s stack, then ``manage.py runlambda`` and
``invokelambda`` as a newcomer types them (the built package's turn: tests/test_package.py).

Each starts the local stack with the local settings on its own port and state directory; the
tools run with the local settings too, told only where the stack and the database are.
"""

import json
import re
import subprocess
import sys

import pytest

from deploy.tools.harness.loopback import free_port
from deploy.tools.harness.processes import ROOT
from tests.support import first_visit


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = first_visit.local_stack(tmp_path_factory.mktemp("first-hour-localaws"))
    running.outputs = json.loads((running.state_dir / "outputs.json").read_text())
    yield running
    running.stop()


@pytest.fixture(scope="module")
def tool_env(stack, tmp_path_factory):
    return first_visit.tool_env(stack, tmp_path_factory.mktemp("first-hour-db") / "db.sqlite3")


@pytest.fixture(scope="module")
def runlambda(tool_env):
    running = first_visit.RunLambda(tool_env, "--source")
    yield running
    running.stop()


def assert_first_visit_works(running, stack):
    seen = first_visit.visit(f"{running.url}/dev")
    assert seen["home"][0] == 200, seen["home"][1][:2000]
    # Static files from the local stack's static bucket, standing in for the CDN.
    status, url = seen["stylesheet"]
    assert status == 200
    assert url.startswith(f"http://127.0.0.1:{stack.port}/amphibian-local-static/static/css/")
    # Sign-in verifies the token with the local stack's key set, not real AWS's.
    assert seen["sign_in"][0] == 302, seen["sign_in"][1]
    status, files = seen["files"]
    assert status == 200, files[:2000]
    assert first_visit.DEMO_USERNAME in files
    assert 'name="csrfmiddlewaretoken"' in files  # the upload form, for the signed-in user
    assert "Traceback" not in running.output
    assert "No directory at" not in running.output  # whitenoise has nothing to look for


def test_runlambda_with_no_variables_serves_home_sign_in_and_files(runlambda, stack):
    assert_first_visit_works(runlambda, stack)


def test_runlambda_says_what_environment_it_gave_the_function(runlambda, stack):
    output = runlambda.output
    pool = stack.outputs["COGNITO_USER_POOL_ID"]
    jwks = f"http://127.0.0.1:{stack.port}/{pool}/.well-known/jwks.json"
    assert f"  COGNITO_JWKS_URL={jwks}" in output
    assert f"  AWS_ENDPOINT_URL=http://127.0.0.1:{stack.port}" in output
    assert "  DJANGO_STATIC_STORAGE=s3" in output
    assert re.search(r"^  DJANGO_SECRET_KEY=\(set, \d+ characters\)$", output, re.MULTILINE)
    # The dev stage is an HTTP API: v2 events unless --event says otherwise.
    assert "(v2 events," in output


def test_the_gateways_origin_may_upload_to_the_media_bucket(runlambda, stack):
    from apps.core import aws

    s3 = aws.client("s3", endpoint=stack.url)
    rules = s3.get_bucket_cors(Bucket="amphibian-local-media")["CORSRules"]
    assert runlambda.url in rules[0]["AllowedOrigins"]
    assert "http://127.0.0.1:8000" in rules[0]["AllowedOrigins"]  # make run's, kept


def test_invokelambda_with_no_variables_runs_a_schedule(tool_env):
    result = subprocess.run(
        [sys.executable, "manage.py", "invokelambda", "--schedule", "purge-idempotency-keys"],
        cwd=ROOT,
        env=tool_env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    assert re.search(r"^REPORT RequestId: .*\tInit Duration: ", result.stdout, re.MULTILINE)
    assert "  DJANGO_DEPLOY_TARGET=lambda" in result.stderr  # the environment, printed apart


def test_without_the_local_stack_it_says_how_to_start_it(tool_env):
    closed = free_port()
    result = subprocess.run(
        [sys.executable, "manage.py", "invokelambda", "--manage", "check"],
        cwd=ROOT,
        env={**tool_env, "LOCALAWS_PORT": str(closed)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert f"not answering on http://127.0.0.1:{closed}" in result.stderr
    assert "make run" in result.stderr
    assert "Traceback" not in result.stderr

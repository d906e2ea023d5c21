"""The developer tools exist only where the local and test settings install them."""

import subprocess
import sys

import pytest

from deploy.tools.harness.processes import DEPLOYED_ENV, ROOT, subprocess_env

TOOL_COMMANDS = {
    "localaws",
    "runlambda",
    "invokelambda",
    "costmodel",
    "stackenv",
    "schedules",
    "messages",
}


def manage(target, *args):
    """``manage.py ARGS`` in a fresh process on ``target``'s settings."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=subprocess_env(DJANGO_DEPLOY_TARGET=target, **DEPLOYED_ENV),
        capture_output=True,
        text=True,
        timeout=120,
    )


def commands(target):
    result = manage(target, "help", "--commands")
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


@pytest.mark.parametrize("target", ["server", "lambda"])
def test_deployed_targets_have_no_tool_commands(target):
    found = commands(target)
    assert "runschedule" in found and "migrate" in found
    assert found & TOOL_COMMANDS == set()


def test_the_local_target_has_them():
    assert commands("local") >= TOOL_COMMANDS


def test_a_tool_on_a_server_is_an_unknown_command_not_a_crash():
    result = manage("server", "localaws", "--help")
    assert result.returncode == 1
    assert "Unknown command: 'localaws'" in result.stderr
    assert "Traceback" not in result.stderr

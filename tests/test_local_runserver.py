"""``manage.py runserver`` on the local settings, as ``make run`` starts it: its console says
once that the local stack is not answering, and shows each request once."""

import subprocess
import sys

from django.core.management import get_commands

from deploy.tools.harness.browser import Browser
from deploy.tools.harness.loopback import LoopbackServer, QuietHandler, free_ports
from deploy.tools.harness.processes import ROOT, stop_process, subprocess_env
from deploy.tools.harness.server import wait_for_health
from deploy.tools.management.commands.runserver import local_stack_warning


def test_runserver_warns_that_the_stack_is_down_and_logs_each_request_once(tmp_path):
    port, stack_port = free_ports(2)  # nothing listens on the stack's port
    env = subprocess_env(
        DJANGO_DEPLOY_TARGET="local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        LOCALAWS_PORT=str(stack_port),
        LOCALAWS_STATE_DIR=str(tmp_path / "localaws"),
        PYTHONUNBUFFERED="1",
    )
    # --noreload: files that change under the reloader while the test runs would restart it.
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        wait_for_health("127.0.0.1", port, 60, process)
        page = Browser(f"http://127.0.0.1:{port}", host=f"127.0.0.1:{port}").get("/en/nope/")
    finally:
        stop_process(process)  # its few lines wait in the pipes
        stdout, stderr = process.communicate()
    assert page.status == 404 and "This page does not exist" in page.text
    warnings = [line for line in stdout.splitlines() if "local AWS stack" in line]
    assert warnings == [
        f"The local AWS stack is not answering on 127.0.0.1:{stack_port}, so signing in and "
        "uploads fail with a 503: start it with `python manage.py localaws` in another "
        "terminal, or use `make run`, which starts both."
    ]
    requests = [line for line in stdout.splitlines() if "/en/nope/" in line]
    assert len(requests) == 1, stdout
    assert " apps.core.access  GET /en/nope/ 404  duration_ms=" in requests[0]
    assert "path=" not in requests[0] and "status=" not in requests[0]
    assert "HTTP/1.1" not in stdout + stderr  # runserver's own request line is not repeated
    assert stderr == "", stderr


def test_no_warning_while_the_stack_answers(settings):
    with LoopbackServer(QuietHandler) as stack:
        settings.AWS_ENDPOINT_URL = stack.url
        assert local_stack_warning() is None
    address = stack.url.removeprefix("http://")
    assert local_stack_warning().startswith(f"The local AWS stack is not answering on {address},")


def test_only_the_local_settings_run_it():
    """The test settings install deploy.tools after whitenoise: its runserver stays theirs."""
    assert get_commands()["runserver"] == "whitenoise.runserver_nostatic"

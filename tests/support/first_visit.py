"""A newcomer's first hour on the local Lambda: ``make run``'s local stack, then
``manage.py runlambda`` with no variables at all, visited as a browser would.

Shared by the source-tree test (tests/test_local_lambda_defaults.py) and the built package's
(tests/test_package.py).
"""

import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

from deploy.tools.harness.browser import Browser
from deploy.tools.harness.localstack import LocalAWSProcess
from deploy.tools.harness.loopback import free_port, listening
from deploy.tools.harness.processes import ROOT, run_manage, stop_process, subprocess_env

# README: what `make run` prints and the local settings default to.
DEMO_USERNAME, DEMO_PASSWORD = "demo@example.com", "Amphibian-demo-1"


def local_stack(state_dir):
    """``manage.py localaws`` with the local settings, as ``make run`` starts it (its own port
    and state directory, so a developer's running stack is left alone)."""
    return LocalAWSProcess(state_dir, target="local").start()


def tool_env(stack, database):
    """What a developer's shell has after ``make run PORT=... LOCALAWS_PORT=...``: where the
    stack is and the local database. Nothing about the function."""
    env = subprocess_env(
        LOCALAWS_PORT=str(stack.port),
        LOCALAWS_STATE_DIR=str(stack.state_dir),
        DATABASE_URL=f"sqlite:///{database}",
        PYTHONUNBUFFERED="1",
    )
    run_manage(["migrate", "--noinput", "-v0"], env)
    return env


class RunLambda:
    """``manage.py runlambda OPTIONS`` on a free port; its output collected line by line."""

    def __init__(self, env, *options, timeout=120):
        self.port = free_port()
        self.lines = []
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runlambda", *options, "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._collect, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not listening("127.0.0.1", self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("runlambda did not start:\n" + self.output)
            time.sleep(0.2)
        self.url = f"http://127.0.0.1:{self.port}"

    def _collect(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self):
        return "\n".join(self.lines)

    def stop(self):
        stop_process(self.process)


def visit(base_url):
    """Home page with its stylesheet, sign-in as the demo user, the files page; returns what
    was seen, for the test to assert on: ``{step: (status, detail)}``."""
    host = urllib.parse.urlsplit(base_url).netloc
    browser = Browser(base_url, host=host)
    seen = {}
    home = browser.get("/")
    if home.status in (301, 302):  # to the visitor's language, inside the stage
        seen["redirect"] = (home.status, home.headers["Location"])
        home = browser.get(_inside(base_url, home.headers["Location"]))
    seen["home"] = (home.status, home.text)
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', home.text)
    if stylesheet:
        with urllib.request.urlopen(stylesheet.group(1), timeout=10) as css:
            seen["stylesheet"] = (css.status, stylesheet.group(1))
    signed_in = browser.login(DEMO_USERNAME, DEMO_PASSWORD)
    seen["sign_in"] = (signed_in.status, signed_in.headers.get("Location", signed_in.text))
    files = browser.get("/en/files/")
    seen["files"] = (files.status, files.text)
    return seen


def _inside(base_url, location):
    """``location`` (a path under the stage, as the app writes it) relative to the base."""
    prefix = urllib.parse.urlsplit(base_url).path.rstrip("/")
    path = urllib.parse.urlsplit(location).path
    return path[len(prefix) :] if prefix and path.startswith(prefix + "/") else path

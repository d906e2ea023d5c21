"""One Lambda instance on this machine, and the invocations it runs.

An ``Instance`` is one execution environment: a worker process running
``python -m awslambdaric <handler>`` (the runtime interface client AWS's own images use)
in the read-only code directory, with the environment variables Lambda sets, and its own
Runtime API server (``runtime_api``). It enforces Lambda's limits on the init phase and
on each invocation, and reads the worker's peak memory for the REPORT line. With SnapStart
(``snapstart``) the worker is instead a fork of the version's snapshot.
"""

import math
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import codedir
from .runtime_api import RuntimeAPIServer

POLL_SECONDS = 0.05


class Invocation:
    """One event on its way through an instance; ``done`` is set when it has an outcome."""

    def __init__(self, payload):
        self.request_id = str(uuid.uuid4())
        self.payload = payload
        self.delivered = threading.Event()
        self.done = threading.Event()
        self.result = None  # the function's response, bytes
        self.error = None  # {"errorType": ..., "errorMessage": ...}
        self.status = None  # None (success), "error", "timeout", "crash"
        self.started = None  # monotonic times: the runtime took the event, it had an outcome
        self.finished = None
        self.report = None  # the REPORT line

    def succeed(self, body):
        self.result = body
        self.finished = time.monotonic()
        self.done.set()

    def fail(self, error_type, message, status="error"):
        if not self.done.is_set():
            self.error = {"errorType": error_type, "errorMessage": message}
            self.status = status
            self.finished = time.monotonic()
            self.done.set()


class Instance:
    """One execution environment: a worker process and its Runtime API."""

    def __init__(self, function):
        self.function = function
        self.tmp = tempfile.mkdtemp(prefix="lambda-tmp-")
        self.events: queue.Queue[Invocation | None] = queue.Queue()
        self.current = None
        self.ready = threading.Event()
        self.init_error = None
        self.init_duration = None  # ms; reported once, on the first invocation
        # (Restore Duration ms, Billed Restore Duration ms) of a restored instance, likewise.
        self.restore_durations: tuple[float, int] | None = None
        self.restore_error = None  # what /restore/error posted
        self.server = RuntimeAPIServer(self)
        # A Popen, or a snapstart.ForkedProcess (the same calls, on a fork of the snapshot).
        self.process: Any = None
        self.peak_memory_mb = 0

    @property
    def runtime_api(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self._serve()
        self.started = time.monotonic()
        self.process = self._spawn(["-m", "awslambdaric", self.function.handler])
        return self

    def _serve(self):
        # Polled as often as the rest, so that ``stop`` (shutdown) returns as soon.
        serve = self.server.serve_forever
        threading.Thread(target=serve, args=(POLL_SECONDS,), daemon=True).start()

    def _spawn(self, arguments, environment=None, pass_fds=()):
        """The worker: the function's interpreter with ``arguments``, in the code directory."""
        command = [self.function.python, *arguments]
        return subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            codedir.readonly_command(self.function.code_dir, command),
            cwd=self.function.code_dir,
            env=environment or self.environment(),
            pass_fds=pass_fds,
        )

    def environment(self):
        """The function's variables plus the ones Lambda sets in every sandbox."""
        function = self.function
        today = datetime.now(UTC).strftime("%Y/%m/%d")
        return {
            **function.environment,
            "_HANDLER": function.handler,
            "AWS_LAMBDA_RUNTIME_API": self.runtime_api,
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "LAMBDA_RUNTIME_DIR": str(Path(sys.prefix)),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_VERSION": function.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start" if function.snapstart else "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[{function.version}]{uuid.uuid4().hex}",
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "PYTHONPATH": str(function.code_dir),
            "TMPDIR": self.tmp,
            "HOME": self.tmp,
            "TZ": ":UTC",
        }

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None

    def run(self, invocation):
        """Deliver ``invocation`` and wait for its outcome, the function's timeout at most."""
        self._wait_for_init(invocation)
        if invocation.done.is_set():
            return
        self.current = invocation
        self.events.put(invocation)
        deadline = None
        while not invocation.done.wait(POLL_SECONDS):
            if invocation.delivered.is_set() and deadline is None:
                deadline = time.monotonic() + self.function.timeout
            if deadline is not None and time.monotonic() > deadline:
                self.stop()
                invocation.fail(
                    "Sandbox.Timedout",
                    f"Task timed out after {self.function.timeout:.2f} seconds",
                    "timeout",
                )
            elif not self.alive:
                invocation.fail("Runtime.ExitError", "Runtime exited without a response", "crash")

    def _wait_for_init(self, invocation):
        deadline = time.monotonic() + self.function.init_timeout
        while not self.ready.wait(POLL_SECONDS):
            if self.init_error or not self.alive:
                self.stop()
                error = self.init_error or {"errorType": "Runtime.ExitError"}
                invocation.fail(
                    error.get("errorType", "Runtime.Unknown"),
                    error.get("errorMessage", "Runtime exited during init"),
                )
                return
            if time.monotonic() > deadline:
                self.stop()
                invocation.fail("Runtime.InitTimeout", "Init phase timed out", "timeout")
                return

    def max_memory_mb(self):
        """Peak resident memory of the worker (``VmHWM``), in MB as Lambda reports it."""
        if self.process is None:
            return self.peak_memory_mb  # not started
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return self.peak_memory_mb  # gone: what was read last
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_memory_mb = math.ceil(int(line.split()[1]) / 1024)
        return self.peak_memory_mb

    def stop(self):
        process = self.process
        if process is not None and process.poll() is None:
            self.max_memory_mb()
            process.kill()
            process.wait(timeout=10)
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # Called from the Runtime API threads.

    def serving(self, headers):
        """The instance a request to this one's Runtime API is for: this one (a snapshot's
        Runtime API serves its restored instances too, ``snapstart.Snapshot``)."""
        return self

    def restore_next(self):
        """``/restore/next``: only a SnapStart instance expects it (``snapstart``)."""
        return False

    def next_invocation(self):
        if not self.ready.is_set():
            self._initialized()
            self.ready.set()
        invocation = self.events.get()
        if invocation is not None:
            invocation.started = time.monotonic()
            invocation.delivered.set()
        return invocation

    def _initialized(self):
        """The runtime asked for its first event: init is over."""
        self.init_duration = (time.monotonic() - self.started) * 1000

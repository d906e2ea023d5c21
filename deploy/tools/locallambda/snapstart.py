"""SnapStart on this machine: a version's snapshot, and instances restored from it.

On AWS, publishing a version of a SnapStart function runs its init once, then the
before-snapshot hooks, and snapshots the microVM; each new execution environment resumes
from that snapshot, runs the after-restore hooks and takes its first event. Here:

- ``Snapshot`` is one process that ran init with ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``
  (``snapstart_bootstrap``: awslambdaric, with its restore/next turned into fork-on-demand).
  Its init time is reported once (``INIT_REPORT``) and billed to no invocation.
- ``RestoredInstance`` is an instance whose worker is a fork of the snapshot, with its own
  Runtime API, /tmp (a copy of the snapshot's, as AWS snapshots /tmp too) and HOME. Its first
  REPORT has Restore Duration (the restore request to its first ``/invocation/next``) and
  Billed Restore Duration (its after-restore hooks: its ``/restore/next`` to that ``/next``).
- A hook that raises fails the invocation with ``SnapStartException``; hooks running past
  Lambda's limit (``Function.restore_timeout``, 10 s) with ``SnapStartTimeoutException``: the
  errors AWS's Invoke API gives. A failed snapshot fails every invocation that waited for it
  with its init error, and the next invocation takes a new one.
"""

import contextlib
import json
import math
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

from .instance import POLL_SECONDS, Instance
from .snapstart_bootstrap import CONTROL_FD, INSTANCE_AGENT

BOOTSTRAP = Path(__file__).with_name("snapstart_bootstrap.py")
RESTORE_ERROR = "SnapStartException"
RESTORE_TIMEOUT = "SnapStartTimeoutException"
INSTANCE_TOKEN = re.compile(re.escape(INSTANCE_AGENT) + r"(\w+)")


class Snapshot(Instance):
    """The published version's snapshot: a process that ran init and the before-snapshot
    hooks, and now forks a restored instance on request (``fork``).

    ``log`` gets its INIT_REPORT line. Its Runtime API is also where its forks' C runtime
    client calls go (the address it loaded with), told apart by their User-Agent.
    """

    def __init__(self, function, log):
        super().__init__(function)
        self.log = log
        self.settled = threading.Event()  # taken, or failed (then ``error`` says why)
        self.error = None
        self.restored: dict[str, RestoredInstance] = {}  # by the token in their User-Agent
        self.control: socket.socket | None = None
        self.control_file = None
        self.lock = threading.Lock()  # one restore request at a time, one settling

    def start(self):
        self._serve()
        self.started = time.monotonic()
        self.control, theirs = socket.socketpair()
        self.control_file = self.control.makefile("rb")
        environment = {**self.environment(), CONTROL_FD: str(theirs.fileno())}
        try:
            arguments = ["-P", str(BOOTSTRAP), self.function.handler]
            self.process = self._spawn(arguments, environment, pass_fds=(theirs.fileno(),))
        finally:
            theirs.close()
        return self

    def wait(self):
        """Block until the snapshot is taken or has failed (init_timeout at most); its error
        (``errorType``, ``errorMessage``, ``status``) or None."""
        deadline = self.started + self.function.init_timeout
        while not self.settled.wait(POLL_SECONDS):
            if self.init_error or not self.alive:
                error = self.init_error or {
                    "errorType": "Runtime.ExitError",
                    "errorMessage": "Runtime exited during init",
                }
                self._settle({**error, "status": "error"})
            elif time.monotonic() > deadline:
                self._settle(
                    {
                        "errorType": "Runtime.InitTimeout",
                        "errorMessage": "Init phase timed out",
                        "status": "timeout",
                    }
                )
        return self.error

    @property
    def usable(self):
        """Not failed, and (once taken) still there to fork."""
        return self.error is None and (self.alive or not self.settled.is_set())

    def fork(self, token, environment, timeout):
        """A new child of the snapshot process with ``environment`` set; its pid.

        Raises ``TimeoutError`` when no answer comes within ``timeout`` s, ``OSError`` when
        the snapshot process is gone or could not fork.
        """
        request = json.dumps({"token": token, "environment": environment}).encode() + b"\n"
        with self.lock:
            if self.control is None or self.control_file is None:
                raise OSError("the snapshot was closed")
            self.control.settimeout(timeout)
            try:
                self.control.sendall(request)
                reply = self.control_file.readline()
            except TimeoutError:
                # A half-read answer would answer the next request: no more of this one.
                self.stop()
                raise
        if not reply:
            raise OSError("the snapshot process is gone")
        answer = json.loads(reply)
        if "pid" not in answer:
            raise OSError(answer.get("error", "no fork"))
        return answer["pid"]

    def stop(self):
        # Closed, the control socket makes a taken snapshot end its forks (reaped: no zombies
        # left to init) and exit.
        for closing in (self.control_file, self.control):
            if closing is not None:
                closing.close()
        self.control = self.control_file = None
        if self.process is not None and self.settled.is_set() and self.error is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=2)
        super().stop()

    def _settle(self, error):
        with self.lock:
            if self.settled.is_set():
                return
            self.error = error
            init = (time.monotonic() - self.started) * 1000
            fields = [f"INIT_REPORT Init Duration: {init:.2f} ms", "Phase: init"]
            fields.append(f"Status: {error['status'] if error else 'success'}")
            if error and error["status"] == "error":  # AWS names the type of errors only
                fields.append(f"Error Type: {error['errorType']}")
            self.log("\t".join(fields))
            self.settled.set()
        if error is not None:
            self.stop()

    # Called from the Runtime API threads.

    def serving(self, headers):
        match = INSTANCE_TOKEN.search(headers.get("User-Agent", ""))
        return self.restored.get(match.group(1)) if match else self

    def restore_next(self):
        """The runtime ran init and the before-snapshot hooks: the snapshot is taken."""
        self._settle(None)
        return True


class RestoredInstance(Instance):
    """An execution environment resumed from ``snapshot``: a fork of its process.

    Started, it has only its Runtime API; the fork is requested by its first invocation,
    once the snapshot is taken (``_wait_for_init``).
    """

    def __init__(self, function, snapshot):
        super().__init__(function)
        self.snapshot = snapshot
        self.token = uuid.uuid4().hex
        # Monotonic times: the fork was asked for, the restored runtime called /restore/next.
        self.restore_requested = 0.0
        self.hooks_started: float | None = None

    def start(self):
        self._serve()
        return self

    def stop(self):
        self.snapshot.restored.pop(self.token, None)
        super().stop()

    def _wait_for_init(self, invocation):
        if self.process is None and not self._restore(invocation):
            return
        while not self.ready.wait(POLL_SECONDS):
            error = self.restore_error or self.init_error
            if error or not self.alive:
                invocation.fail(RESTORE_ERROR, _restore_failure(error))
                self.stop()
                return
            since = self.hooks_started or self.restore_requested
            if time.monotonic() > since + self.function.restore_timeout:
                invocation.fail(
                    RESTORE_TIMEOUT,
                    "The after-restore runtime hooks did not finish within "
                    f"{self.function.restore_timeout:.2f} seconds",
                    "timeout",
                )
                self.stop()
                return

    def _restore(self, invocation):
        """Fork this instance from the snapshot; False (``invocation`` failed) if it can't."""
        error = self.snapshot.wait()
        if error is not None:
            invocation.fail(error["errorType"], error["errorMessage"], error["status"])
            self.stop()
            return False
        self.restore_requested = time.monotonic()
        shutil.copytree(self.snapshot.tmp, self.tmp, symlinks=True, dirs_exist_ok=True)
        self.snapshot.restored[self.token] = self
        environment = {
            "AWS_LAMBDA_RUNTIME_API": self.runtime_api,
            "TMPDIR": self.tmp,
            "HOME": self.tmp,
        }
        try:
            pid = self.snapshot.fork(self.token, environment, self.function.restore_timeout)
        except TimeoutError:
            invocation.fail(RESTORE_TIMEOUT, "The snapshot did not fork in time", "timeout")
            self.stop()
            return False
        except (OSError, ValueError) as exc:
            invocation.fail(RESTORE_ERROR, f"The snapshot could not be restored: {exc}")
            self.stop()
            return False
        self.process = ForkedProcess(pid)
        return True

    # Called from the Runtime API threads.

    def restore_next(self):
        """The restored runtime is running: its after-restore hooks start."""
        self.hooks_started = time.monotonic()
        return True

    def _initialized(self):
        now = time.monotonic()
        restore = (now - self.restore_requested) * 1000
        hooks = (now - (self.hooks_started or now)) * 1000
        self.restore_durations = (restore, math.ceil(hooks))


class ForkedProcess:
    """A child of the snapshot process, with as much of ``subprocess.Popen`` as ``Instance``
    uses (``pid``, ``poll``, ``kill``, ``wait``).

    It is not our child, so a pidfd stands for it: readable once it has ended (reaped or
    not), and safe to signal even then, when its pid could be another process's. Its exit
    status is its parent's to collect: ``returncode`` is -1 once it has ended.
    """

    def __init__(self, pid):
        self.pid = pid
        self.pidfd = -1
        self.returncode: int | None = -1
        with contextlib.suppress(ProcessLookupError):  # ended and reaped already
            self.pidfd, self.returncode = os.pidfd_open(pid), None

    def poll(self):
        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self.returncode = -1
        return self.returncode

    def wait(self, timeout=None):
        if self.returncode is None and not select.select([self.pidfd], [], [], timeout)[0]:
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0)
        self.returncode = -1
        return self.returncode

    def kill(self):
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # ended and reaped
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    def __del__(self):
        # Only now: a pidfd closed while another thread polls it could be a reused number.
        if self.pidfd >= 0:
            os.close(self.pidfd)


def _restore_failure(error):
    if not error:
        return "The runtime exited during restore, before its after-restore hooks finished"
    return (
        "An after-restore runtime hook raised "
        f"{error.get('errorType', 'an error')}: {error.get('errorMessage', '')}"
    )

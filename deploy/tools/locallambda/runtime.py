"""Lambda instances on this machine: worker processes behind the documented Runtime API.

Each instance is one process running ``python -m awslambdaric <handler>`` (the runtime
interface client AWS's own images use) with the Lambda environment variables, and its
own Runtime API server on 127.0.0.1 (``/2018-06-01/runtime/invocation/next``,
``.../<id>/response``, ``.../<id>/error``, ``/init/error``), as each Lambda sandbox has.
``Pool`` hands an invocation to an idle instance or starts a cold one, up to its
concurrency, and prints Lambda's START, END and REPORT lines for every invocation.
"""

import contextlib
import json
import math
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from . import codedir

API = "/2018-06-01/runtime"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024  # synchronous invocation response limit
POLL_SECONDS = 0.05


@dataclass
class Function:
    """One function's configuration, as Lambda would hold it."""

    code_dir: Path
    handler: str
    name: str
    memory_mb: int
    timeout: float
    region: str
    environment: dict = field(default_factory=dict)
    init_timeout: float = 10.0  # Lambda's limit on the init phase of an on-demand instance
    python: str = sys.executable


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
        self.events = queue.Queue()
        self.current = None
        self.ready = threading.Event()
        self.init_error = None
        self.init_duration = None  # ms; reported once, on the first invocation
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeAPIHandler)
        self.server.daemon_threads = True
        self.server.instance = self
        self.process = None
        self.peak_memory_mb = 0

    @property
    def runtime_api(self):
        return f"127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        command = [self.function.python, "-m", "awslambdaric", self.function.handler]
        self.started = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            codedir.readonly_command(self.function.code_dir, command),
            cwd=self.function.code_dir,
            env=self.environment(),
        )
        return self

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
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{uuid.uuid4().hex}",
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
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return self.peak_memory_mb  # gone: what was read last
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                self.peak_memory_mb = math.ceil(int(line.split()[1]) / 1024)
        return self.peak_memory_mb

    def stop(self):
        if self.alive:
            self.max_memory_mb()
            self.process.kill()
            self.process.wait(timeout=10)
        self.events.put(None)
        self.server.shutdown()
        self.server.server_close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # Called from the Runtime API threads.

    def next_invocation(self):
        if not self.ready.is_set():
            self.init_duration = (time.monotonic() - self.started) * 1000
            self.ready.set()
        invocation = self.events.get()
        if invocation is not None:
            invocation.started = time.monotonic()
            invocation.delivered.set()
        return invocation


class RuntimeAPIHandler(BaseHTTPRequestHandler):
    """The Runtime API endpoints the runtime interface client calls."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes on a kept-alive connection: with Nagle's
    # algorithm the body would wait for the client's delayed ACK (~40 ms per reply).
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != f"{API}/invocation/next":
            return self._reply(404, {"errorMessage": "unknown path"})
        instance = self.server.instance
        invocation = instance.next_invocation()
        if invocation is None:
            return self._reply(500, {"errorMessage": "instance stopped"})
        function = instance.function
        deadline_ms = int((time.time() + function.timeout) * 1000)
        self._reply(
            200,
            invocation.payload,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": (
                    f"arn:aws:lambda:{function.region}:000000000000:function:{function.name}"
                ),
                "Lambda-Runtime-Trace-Id": _trace_id(),
            },
        )

    def do_POST(self):
        instance = self.server.instance
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == f"{API}/init/error":
            instance.init_error = _json_or(body, {"errorType": "Runtime.InitError"})
            return self._reply(202, {"status": "OK"})
        prefix, _, outcome = self.path.rpartition("/")
        request_id = prefix.rsplit("/", 1)[-1]
        invocation = instance.current
        if invocation is None or invocation.request_id != request_id:
            return self._reply(400, {"errorType": "InvalidRequestID"})
        if outcome == "response":
            if len(body) > MAX_RESPONSE_BYTES:
                invocation.fail(
                    "Function.ResponseSizeTooLarge",
                    f"Response payload size ({len(body)} bytes) exceeded maximum allowed "
                    f"payload size ({MAX_RESPONSE_BYTES} bytes).",
                )
                return self._reply(413, {"errorType": "RequestEntityTooLarge"})
            invocation.succeed(body)
        elif outcome == "error":
            invocation.fail(**_error_fields(body, self.headers))
        else:
            return self._reply(404, {"errorMessage": "unknown path"})
        self._reply(202, {"status": "OK"})

    def _reply(self, status, body, headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        # The instance may be gone (stopped, or timed out and killed).
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)


class Pool:
    """Up to ``concurrency`` instances of ``function``; one invocation per instance at a time.

    A request that finds no idle instance starts a cold one; at the limit it waits for
    one to free up (AWS would scale further; the limit only protects this machine).
    """

    def __init__(self, function, concurrency=1, log=print):
        self.function = function
        self.concurrency = concurrency
        self.log = log
        self.instances = []
        self.idle = []
        self.changed = threading.Condition()
        self.log_lock = threading.Lock()

    def submit(self, payload):
        """Start ``payload`` (bytes) on an instance; returns its ``Invocation`` at once."""
        invocation = Invocation(payload)
        instance = self._acquire()
        threading.Thread(target=self._run, args=(instance, invocation), daemon=True).start()
        return invocation

    def invoke(self, payload, timeout=None):
        """Run ``payload`` and wait for its outcome."""
        invocation = self.submit(payload)
        invocation.done.wait(timeout)
        return invocation

    def close(self):
        with self.changed:
            instances, self.instances, self.idle = self.instances, [], []
        for instance in instances:
            instance.stop()

    def _acquire(self):
        with self.changed:
            while True:
                while self.idle:
                    instance = self.idle.pop()
                    if instance.alive:
                        return instance
                    self.instances.remove(instance)
                if len(self.instances) < self.concurrency:
                    instance = Instance(self.function).start()
                    self.instances.append(instance)
                    return instance
                self.changed.wait()

    def _run(self, instance, invocation):
        self._print(f"START RequestId: {invocation.request_id} Version: $LATEST")
        try:
            instance.run(invocation)
        finally:
            self._report(instance, invocation)
            with self.changed:
                if instance.alive:
                    self.idle.append(instance)
                elif instance in self.instances:
                    self.instances.remove(instance)
                    instance.stop()
                self.changed.notify()

    def _report(self, instance, invocation):
        started, finished = invocation.started, invocation.finished
        duration = (finished - started) * 1000 if started and finished else 0.0
        init = instance.init_duration
        instance.init_duration = None
        # Since August 2025 Lambda bills the init phase of on-demand instances too.
        billed = math.ceil(duration + (init or 0))
        fields = [
            f"REPORT RequestId: {invocation.request_id}",
            f"Duration: {duration:.2f} ms",
            f"Billed Duration: {billed} ms",
            f"Memory Size: {self.function.memory_mb} MB",
            f"Max Memory Used: {instance.max_memory_mb()} MB",
        ]
        if init is not None:
            fields.append(f"Init Duration: {init:.2f} ms")
        if invocation.status in ("timeout", "crash"):
            fields.append(f"Status: {invocation.status}")
        invocation.report = "\t".join(fields)
        if invocation.status == "timeout":
            self._print(f"{invocation.request_id} {invocation.error['errorMessage']}")
        self._print(f"END RequestId: {invocation.request_id}")
        self._print(invocation.report)

    def _print(self, line):
        with self.log_lock:
            self.log(line)


def _json_or(body, default):
    try:
        return json.loads(body)
    except ValueError:
        return default


def _error_fields(body, headers):
    error = _json_or(body, {})
    return {
        "error_type": error.get("errorType") or headers.get("Lambda-Runtime-Function-Error-Type"),
        "message": error.get("errorMessage", ""),
    }


def _trace_id():
    return f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"

"""Lambda instances on this machine: a pool of them for one function.

``Function`` is one function's configuration, as Lambda holds it. ``Pool`` hands an
invocation to an idle instance or starts a cold one, up to its concurrency, and prints
Lambda's START, END and REPORT lines for every invocation.

An instance (``instance``) is one process running ``python -m awslambdaric <handler>``
(the runtime interface client AWS's own images use) with the Lambda environment
variables, and its own Runtime API server on 127.0.0.1 (``runtime_api``), as each Lambda
sandbox has. With ``Function.snapstart`` the pool first takes the version's snapshot and each
instance is restored from it (``snapstart``).
"""

import math
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .instance import Instance, Invocation
from .snapstart import RESTORE_ERROR, RESTORE_TIMEOUT, RestoredInstance, Snapshot


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
    # SnapStart: instances are restored from a snapshot of version 1, taken after its init.
    snapstart: bool = False
    restore_timeout: float = 10.0  # Lambda's limit on the after-restore hooks
    published_version: str | None = None  # a published version's number (the rehearsal's)

    @property
    def version(self):
        """What START lines and AWS_LAMBDA_FUNCTION_VERSION say: SnapStart applies to
        published versions only (the first, unless it says)."""
        return self.published_version or ("1" if self.snapstart else "$LATEST")


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
        self.snapshot: Snapshot | None = None  # with SnapStart

    # What ``submit`` makes of a payload (a subclass may carry more, e.g. its log lines).
    invocation_class = Invocation

    def submit(self, payload):
        """Start ``payload`` (bytes) on an instance; returns its ``Invocation`` at once."""
        invocation = self.invocation_class(payload)
        instance = self._acquire()
        threading.Thread(target=self._run, args=(instance, invocation), daemon=True).start()
        return invocation

    def invoke(self, payload, timeout=None):
        """Run ``payload`` and wait for its outcome."""
        invocation = self.submit(payload)
        invocation.done.wait(timeout)
        return invocation

    def take_snapshot(self):
        """SnapStart: take the version's snapshot now, as publishing it does, rather than
        for the first invocation; its error, or None."""
        with self.changed:
            snapshot = self._snapshot()
        return snapshot.wait()

    def close(self):
        with self.changed:
            instances, self.instances, self.idle = self.instances, [], []
            snapshot, self.snapshot = self.snapshot, None
        for instance in instances:
            instance.stop()
        if snapshot is not None:
            snapshot.stop()

    def _acquire(self):
        with self.changed:
            while True:
                while self.idle:
                    instance = self.idle.pop()
                    if instance.alive:
                        return instance
                    self.instances.remove(instance)
                if len(self.instances) < self.concurrency:
                    instance = self._new_instance().start()
                    self.instances.append(instance)
                    return instance
                self.changed.wait()

    def _new_instance(self):
        if self.function.snapstart:
            return RestoredInstance(self.function, self._snapshot())
        return Instance(self.function)

    def _snapshot(self):
        """The snapshot to restore from (under ``changed``): a new one if the last failed."""
        if self.snapshot is None or not self.snapshot.usable:
            if self.snapshot is not None:
                self.snapshot.stop()
            self.snapshot = Snapshot(self.function, self._print).start()
        return self.snapshot

    def _run(self, instance, invocation):
        self._print(f"START RequestId: {invocation.request_id} Version: {self.function.version}")
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
        init, restore = instance.init_duration, instance.restore_durations
        instance.init_duration = instance.restore_durations = None
        # Since August 2025 Lambda bills the init phase of on-demand instances too; with
        # SnapStart, the after-restore hooks (a snapshot's init is billed to no invocation).
        billed = math.ceil(duration + (init or 0) + (restore[1] if restore else 0))
        fields = [
            f"REPORT RequestId: {invocation.request_id}",
            f"Duration: {duration:.2f} ms",
            f"Billed Duration: {billed} ms",
            f"Memory Size: {self.function.memory_mb} MB",
            f"Max Memory Used: {instance.max_memory_mb()} MB",
        ]
        if init is not None:
            fields.append(f"Init Duration: {init:.2f} ms")
        if restore is not None:
            fields.append(f"Restore Duration: {restore[0]:.2f} ms")
            fields.append(f"Billed Restore Duration: {restore[1]} ms")
        if invocation.status in ("timeout", "crash"):
            fields.append(f"Status: {invocation.status}")
        invocation.report = "\t".join(fields)
        error_type = (invocation.error or {}).get("errorType")
        if invocation.status == "timeout" or error_type in (RESTORE_ERROR, RESTORE_TIMEOUT):
            self._print(f"{invocation.request_id} {invocation.error['errorMessage']}")
        self._print(f"END RequestId: {invocation.request_id}")
        self._print(invocation.report)

    def _print(self, line):
        with self.log_lock:
            self.log(line)

"""Lambda instances on this machine: a pool of them for one function.

``Function`` is one function's configuration, as Lambda holds it. ``Pool`` hands an
invocation to an idle instance or starts a cold one, up to its concurrency, and prints
Lambda's START, END and REPORT lines for every invocation.

An instance (``instance``) is one process running ``python -m awslambdaric <handler>``
(the runtime interface client AWS's own images use) with the Lambda environment
variables, and its own Runtime API server on 127.0.0.1 (``runtime_api``), as each Lambda
sandbox has.
"""

import math
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

from .instance import Instance, Invocation


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

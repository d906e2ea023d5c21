"""Cold starts on the local Lambda: a fresh ``manage.py runlambda --zip`` per sample, timed
from the first request (the instance process is started for it, or with ``--snapstart``
restored from the snapshot taken before the gateway listened) to its response; then more
requests on the same instance, whose REPORT lines give the warm Duration."""

import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

from deploy.tools.harness.loopback import free_port, listening
from deploy.tools.harness.processes import ROOT

REPORT = re.compile(r"^REPORT RequestId: (\S+)\tDuration: ([\d.]+) ms")
FIELD = r"\t{}: ([\d.]+) ms"


def cold_start(zip_path, handler, path, function_env, *, snapstart=False, warm_requests=0):
    """One fresh runlambda: ``{"first_response_ms", "since_runlambda_ms", "init_ms",
    "restore_ms", "billed_restore_ms", "first_duration_ms", "warm_durations_ms"}`` (the
    REPORT lines' Init, Restore and Billed Restore Duration, the first invocation's Duration
    and the next ``warm_requests``')."""
    port = free_port()
    command = [sys.executable, "manage.py", "runlambda", "--zip", str(zip_path)]
    command += ["--handler", handler, "--event", "v1", "--port", str(port)]
    command += ["--environment", "shell"]  # every variable is set below
    command += ["--concurrency", "1", *(["--snapstart"] if snapstart else [])]
    for name, value in function_env.items():
        command += ["--env", f"{name}={value}"]
    lines = []
    spawned = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        command,
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    collector = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    collector.start()
    url = f"http://127.0.0.1:{port}/dev{path}"
    try:
        deadline = time.monotonic() + 60
        while not listening("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("runlambda did not start:\n" + "".join(lines))
            time.sleep(0.02)
        started = time.perf_counter()
        _get(url)
        answered = time.perf_counter()
        for _ in range(warm_requests):
            _get(url)
        reports = _reports(lines, 1 + warm_requests)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    first = reports[0]
    return {
        "first_response_ms": (answered - started) * 1000,
        "since_runlambda_ms": (answered - spawned) * 1000,
        "init_ms": _field(first, "Init Duration"),
        "restore_ms": _field(first, "Restore Duration"),
        "billed_restore_ms": _field(first, "Billed Restore Duration"),
        "first_duration_ms": float(REPORT.match(first)[2]),
        "warm_durations_ms": [float(REPORT.match(line)[2]) for line in reports[1:]],
    }


def _get(url):
    with urllib.request.urlopen(url, timeout=30) as reply:  # noqa: S310 - loopback
        reply.read()
        if reply.status != 200:
            raise RuntimeError(f"{url} answered {reply.status}")


def _reports(lines, count, timeout=10):
    """The first ``count`` REPORT lines of the output (they follow the responses)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [line.rstrip("\n") for line in list(lines) if REPORT.match(line)]
        if len(found) >= count:
            return found[:count]
        time.sleep(0.02)
    raise RuntimeError(f"fewer than {count} REPORT lines:\n" + "".join(lines[-40:]))


def _field(report, name):
    match = re.search(FIELD.format(name), report)
    return float(match[1]) if match else None


def summary(values, digits=1):
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }

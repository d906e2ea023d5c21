"""Cold starts on the local Lambda: a fresh ``manage.py runlambda --zip`` per sample, timed
from the first request (the instance process is started for it) to its response."""

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


def cold_start(zip_path, handler, path, function_env):
    """``(first_response_ms, since_runlambda_ms, init_duration_ms)`` of one fresh runlambda."""
    port = free_port()
    command = [sys.executable, "manage.py", "runlambda", "--zip", str(zip_path)]
    command += ["--handler", handler, "--event", "v1", "--port", str(port)]
    command += ["--environment", "shell"]  # every variable is set below
    command += ["--concurrency", "1"]
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
    try:
        deadline = time.monotonic() + 60
        while not listening("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("runlambda did not start:\n" + "".join(lines))
            time.sleep(0.02)
        started = time.perf_counter()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/dev{path}", timeout=30) as reply:
            reply.read()
            status = reply.status
        answered = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        deadline = time.monotonic() + 10
        init = None
        while init is None and time.monotonic() < deadline:
            for line in list(lines):
                match = re.search(r"Init Duration: ([\d.]+) ms", line)
                if match:
                    init = float(match.group(1))
            time.sleep(0.02)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return (answered - started) * 1000, (answered - spawned) * 1000, init


def summary(values, digits=1):
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
    }

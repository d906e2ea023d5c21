"""The local SnapStart: a snapshot taken after init, and instances restored from it as forks.

A tiny handler, written here, registers its hooks with ``snapshot_restore_py`` as a real
function does; environment variables choose what its hooks do. The end-to-end cases run
``manage.py invokelambda --snapstart`` and ``runlambda --snapstart`` on the project's handler.
"""

import contextlib
import json
import math
import os
import re
import socket
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from deploy.tools.locallambda import codedir
from deploy.tools.locallambda.runtime import Function, Pool
from tests.test_local_lambda import (  # noqa: F401 - lambda_env is a fixture
    LocalLambda,
    fetch,
    invokelambda,
    lambda_env,
)

HANDLER = textwrap.dedent(
    """
    import os
    import random
    import socket
    import tempfile
    import time

    from snapshot_restore_py import register_after_restore, register_before_snapshot

    time.sleep(float(os.environ.get("INIT_SLEEP", 0)))
    INIT_PID = os.getpid()
    INIT_TOKEN = os.urandom(8).hex()  # made once, during init
    with open(os.path.join(tempfile.gettempdir(), "from-init"), "w") as written:
        written.write("abcdef")
    OPENED = open(os.path.join(tempfile.gettempdir(), "from-init"))
    CONNECTION = None
    if os.environ.get("CONNECT_TO"):
        CONNECTION = socket.create_connection(("127.0.0.1", int(os.environ["CONNECT_TO"])))


    @register_before_snapshot
    def before_snapshot():
        if os.environ.get("BEFORE_SNAPSHOT") == "raise":
            raise RuntimeError("cannot snapshot")


    @register_after_restore
    def after_restore():
        hook = os.environ.get("AFTER_RESTORE")
        if hook == "reseed":
            random.seed()
        elif hook == "raise":
            raise ValueError("no connection after restore")
        elif hook == "sleep":
            time.sleep(30)


    def handler(event, context):
        time.sleep(event.get("sleep", 0))
        if event.get("write"):
            open(os.path.join(tempfile.gettempdir(), event["write"]), "w").close()
        sent = None
        if CONNECTION is not None:
            try:
                CONNECTION.send(b"x")
                sent = "sent"
            except OSError as exc:
                sent = type(exc).__name__
        return {
            "pid": os.getpid(),
            "init_pid": INIT_PID,
            "init_token": INIT_TOKEN,
            "random": [random.random() for _ in range(3)],
            "tmp": sorted(os.listdir(tempfile.gettempdir())),
            "read": OPENED.read(1),
            "sent": sent,
            "env": {
                name: os.environ[name]
                for name in (
                    "AWS_LAMBDA_FUNCTION_VERSION",
                    "AWS_LAMBDA_INITIALIZATION_TYPE",
                    "AWS_LAMBDA_RUNTIME_API",
                    "TMPDIR",
                )
            },
        }
    """
)


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("snapstart") / "task"
    root.mkdir()
    (root / "app.py").write_text(HANDLER)
    codedir.make_read_only(root)
    yield root
    codedir.remove(root)


@contextlib.contextmanager
def snapstart_pool(
    code_dir, concurrency=2, handler="app.handler", init_timeout=10.0, **environment
):
    """A SnapStart ``Pool`` of the tiny handler, its log lines in ``pool.lines``; closed after."""
    function = Function(
        code_dir=code_dir,
        handler=handler,
        name="snapstart-test",
        memory_mb=256,
        timeout=10,
        region="us-east-1",
        environment={"PATH": os.environ["PATH"], **environment},
        init_timeout=init_timeout,
        snapstart=True,
        restore_timeout=1.0,  # AWS's is 10 s; short, for the test of it
    )
    lines: list[str] = []
    pool = Pool(function, concurrency=concurrency, log=lines.append)
    pool.lines = lines
    try:
        yield pool
    finally:
        pool.close()


def invoke_together(pool, *events):
    """Run ``events`` at the same time (each on its own instance); their invocations."""
    invocations = [pool.submit(json.dumps(event).encode()) for event in events]
    for invocation in invocations:
        assert invocation.done.wait(15)
    return invocations


def results(invocations):
    for invocation in invocations:
        assert invocation.error is None, invocation.error
    return [json.loads(invocation.result) for invocation in invocations]


def report_of(invocation, timeout=5.0):
    """Its REPORT line, written just after its outcome (``done``)."""
    deadline = time.monotonic() + timeout
    while invocation.report is None and time.monotonic() < deadline:
        time.sleep(0.01)
    return invocation.report


def gone(pid, timeout=5.0):
    """Whether process ``pid`` has ended and been reaped, waiting a bounded time."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_restored_instances_resume_the_snapshots_memory_in_processes_of_their_own(code_dir):
    with snapstart_pool(code_dir) as pool:
        first, second = results(invoke_together(pool, {"sleep": 0.2}, {"sleep": 0.2}))
    assert first["init_token"] == second["init_token"]  # init ran once, before both
    assert first["init_pid"] == second["init_pid"]
    assert len({first["pid"], second["pid"], first["init_pid"]}) == 3
    for seen in (first, second):
        assert seen["env"]["AWS_LAMBDA_FUNCTION_VERSION"] == "1"
        assert seen["env"]["AWS_LAMBDA_INITIALIZATION_TYPE"] == "snap-start"
    assert first["env"]["AWS_LAMBDA_RUNTIME_API"] != second["env"]["AWS_LAMBDA_RUNTIME_API"]
    assert first["env"]["TMPDIR"] != second["env"]["TMPDIR"]


def test_without_a_reseed_every_restored_instance_draws_the_same_random_numbers(code_dir):
    # As on AWS, where each resumes the snapshot's memory; a forked child would reseed.
    with snapstart_pool(code_dir) as pool:
        first, second = results(invoke_together(pool, {}, {}))
    assert first["pid"] != second["pid"]
    assert first["random"] == second["random"]


def test_an_after_restore_hook_that_reseeds_makes_them_differ(code_dir):
    with snapstart_pool(code_dir, AFTER_RESTORE="reseed") as pool:
        first, second = results(invoke_together(pool, {}, {}))
    assert first["random"] != second["random"]


def test_each_restored_instance_has_its_own_copy_of_the_snapshots_tmp(code_dir):
    with snapstart_pool(code_dir) as pool:
        first, second = results(invoke_together(pool, {"write": "one"}, {"write": "two"}))
    assert first["tmp"] == ["from-init", "one"]
    assert second["tmp"] == ["from-init", "two"]


def test_files_and_connections_opened_during_init_are_not_shared_between_instances(code_dir):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        with snapstart_pool(code_dir, CONNECT_TO=str(port)) as pool:
            first, second = results(invoke_together(pool, {}, {}))
    # Each reads the init-time file from the start: no offset shared with a sibling.
    assert first["read"] == second["read"] == "a"
    # A connection made during init is not there to use after a restore.
    assert first["sent"] == second["sent"] == "BrokenPipeError"


def test_the_snapshot_is_reported_once_and_the_first_report_has_the_restore(code_dir):
    with snapstart_pool(code_dir, concurrency=1) as pool:
        restored = report_of(pool.invoke(b"{}", timeout=15))
        warm = report_of(pool.invoke(b"{}", timeout=15))
        lines = list(pool.lines)
    (init_report,) = [line for line in lines if line.startswith("INIT_REPORT")]
    assert re.fullmatch(
        r"INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: success", init_report
    )
    starts = [line for line in lines if line.startswith("START")]
    assert len(starts) == 2
    assert all(line.endswith(" Version: 1") for line in starts)
    match = re.search(
        r"\tDuration: ([\d.]+) ms\tBilled Duration: (\d+) ms\t.*\tMax Memory Used: [1-9]\d* MB"
        r"\tRestore Duration: ([\d.]+) ms\tBilled Restore Duration: (\d+) ms$",
        restored,
    )
    assert match, restored
    duration, billed, restore, billed_restore = map(float, match.groups())
    assert billed == math.ceil(duration + billed_restore)  # the snapshot's init is not billed
    assert math.ceil(restore) >= billed_restore  # the hooks are part of the restore
    assert "Init Duration" not in restored
    assert "Restore Duration" not in warm
    assert "Init Duration" not in warm


def test_an_after_restore_hook_that_raises_fails_the_invocation_and_ends_the_instance(code_dir):
    with snapstart_pool(code_dir, concurrency=1, AFTER_RESTORE="raise") as pool:
        invocation = pool.submit(b"{}")
        (instance,) = pool.instances
        assert invocation.done.wait(15)
        assert invocation.error["errorType"] == "SnapStartException"
        assert "ValueError: no connection after restore" in invocation.error["errorMessage"]
        assert not instance.alive
        assert gone(instance.process.pid)


def test_after_restore_hooks_past_the_limit_end_with_snapstarttimeoutexception(code_dir):
    with snapstart_pool(code_dir, concurrency=1, AFTER_RESTORE="sleep") as pool:
        started = time.monotonic()
        invocation = pool.submit(b"{}")
        (instance,) = pool.instances
        assert invocation.done.wait(15)
        elapsed = time.monotonic() - started
        assert invocation.error["errorType"] == "SnapStartTimeoutException"
        assert invocation.status == "timeout"
        assert 1.0 <= elapsed < 5.0
        assert gone(instance.process.pid)  # killed, not left sleeping


@pytest.mark.parametrize(
    ("handler", "environment", "error_type", "message"),
    [
        ("app.handler", {"BEFORE_SNAPSHOT": "raise"}, "Runtime.BeforeSnapshotError", "cannot"),
        ("app.missing", {}, "Runtime.HandlerNotFound", "Handler 'missing' missing"),
    ],
)
def test_a_failed_snapshot_fails_every_invocation_with_its_init_error_and_is_retaken(
    code_dir, handler, environment, error_type, message
):
    with snapstart_pool(code_dir, concurrency=1, handler=handler, **environment) as pool:
        first = pool.invoke(b"{}", timeout=15)
        second = pool.invoke(b"{}", timeout=15)
        lines = list(pool.lines)
    for invocation in (first, second):
        assert invocation.error["errorType"] == error_type
        assert message in invocation.error["errorMessage"]
    reports = [line for line in lines if line.startswith("INIT_REPORT")]
    assert len(reports) == 2, lines  # the second invocation took a new snapshot
    assert all(line.endswith(f"\tStatus: error\tError Type: {error_type}") for line in reports)


def test_an_init_past_its_limit_fails_the_invocation_and_ends_the_snapshot(code_dir):
    with snapstart_pool(code_dir, concurrency=1, init_timeout=1.0, INIT_SLEEP="30") as pool:
        started = time.monotonic()
        invocation = pool.invoke(b"{}", timeout=15)
        assert time.monotonic() - started < 5.0
        assert (invocation.error["errorType"], invocation.status) == (
            "Runtime.InitTimeout",
            "timeout",
        )
        snapshot = pool.snapshot
        assert gone(snapshot.process.pid)
        (init_report,) = [line for line in pool.lines if line.startswith("INIT_REPORT")]
        assert init_report.endswith("\tPhase: init\tStatus: timeout")


def test_closing_the_pool_leaves_no_process_and_no_tmp(code_dir):
    with snapstart_pool(code_dir) as pool:
        results(invoke_together(pool, {}, {}))
        instances = list(pool.instances)
        snapshot = pool.snapshot
        pids = [instance.process.pid for instance in instances] + [snapshot.process.pid]
    assert all(gone(pid) for pid in pids)
    assert not any(Path(instance.tmp).exists() for instance in [*instances, snapshot])


def test_invokelambda_snapstart_runs_the_event_on_a_restored_instance(lambda_env):  # noqa: F811
    result = invokelambda(lambda_env, "--snapstart", "--schedule", "purge-idempotency-keys")
    assert result.returncode == 0, result.stderr + result.stdout
    output = result.stdout
    assert re.search(
        r"^INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: success$",
        output,
        re.MULTILINE,
    ), output
    assert re.search(r"^START RequestId: \S+ Version: 1$", output, re.MULTILINE)
    report = re.search(r"^REPORT RequestId: .*$", output, re.MULTILINE)
    assert report, output
    assert re.search(r"\tRestore Duration: [\d.]+ ms\tBilled Restore Duration: \d+ ms", report[0])
    assert "Init Duration" not in report[0]


def test_runlambda_snapstart_takes_the_snapshot_first_then_restores_each_instance(lambda_env):  # noqa: F811
    running = LocalLambda(lambda_env, "--snapstart", "--event", "v1", "--concurrency", "2")
    try:
        # Taken before the gateway listens, as publishing the version does.
        assert running.line(
            r"^INIT_REPORT Init Duration: [\d.]+ ms\tPhase: init\tStatus: success$"
        )
        # Two at once: two instances, each restored.
        with ThreadPoolExecutor(2) as threads:
            answers = list(
                threads.map(fetch, [f"{running.url}/dev/lambda-test/sleep?seconds=0.5"] * 2)
            )
        for status, headers, body in answers:
            assert (status, body) == (200, b"awake")
            report = running.line(rf"^REPORT RequestId: {headers['X-Request-ID']}\t")
            assert re.search(
                r"\tRestore Duration: [\d.]+ ms\tBilled Restore Duration: \d+ ms$", report
            )
            assert "Init Duration" not in report
        assert running.count("INIT_REPORT") == 1
    finally:
        running.stop()

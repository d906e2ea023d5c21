"""SnapStart on the built package: an init that makes nothing unique, and restored copies of
one snapshot of it, as ``runlambda --snapstart`` makes them (make test-package).

The zip's code with one module added, ``snapstart_probe``: it imports our handler (the init
and hooks under test), holds a database connection and an AWS client at init as a careless
init would, registers one before-snapshot hook that runs after ours and records what the
snapshot holds, and answers with what each instance made: random numbers, a uuid, a session
(in the local stack's DynamoDB) and its PostgreSQL backend.
"""

import concurrent.futures
import json
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

from apps.core import aws
from deploy.tools.harness.postgres import PostgresDatabase
from deploy.tools.harness.processes import DEPLOYED_ENV
from deploy.tools.locallambda import codedir
from deploy.tools.locallambda.runtime import Function, Pool
from tests.support.lambda_package import build_package

pytestmark = pytest.mark.package

PROBE = textwrap.dedent(
    """
    import importlib
    import os
    import random
    import time
    import uuid

    from snapshot_restore_py import register_after_restore, register_before_snapshot

    SNAPSHOT = {}


    def tcp_sockets():
        # The inodes of this process's TCP sockets (not its pipes or unix sockets).
        tcp = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as lines:
                tcp |= {line.split()[9] for line in list(lines)[1:]}
        inodes = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in tcp:
                inodes.add(target)
        return inodes


    @register_before_snapshot
    def record_snapshot():
        # Registered before the handler's hooks: it runs after them (Lambda pops the list).
        from django.db import connection

        from apps.core import aws

        SNAPSHOT.update(
            database_connected=connection.connection is not None,
            aws_clients=len(aws._clients),
            sockets=sorted(tcp_sockets() & INIT_SOCKETS),
        )


    handler_module = importlib.import_module("deploy.lambda.handler")

    from django.db import connection  # noqa: E402

    from apps.core import aws  # noqa: E402

    # A careless init: a database connection and an AWS client, opened at import.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        INIT_DATABASE_PID = cursor.fetchone()[0]
    aws.client("dynamodb").list_tables(Limit=1)
    INIT_SOCKETS = tcp_sockets()
    assert INIT_SOCKETS  # the database connection at least (moto may close its own)

    if os.environ.get("PROBE_AFTER_RESTORE") == "raise":
        register_after_restore(lambda: 1 / 0)
    elif os.environ.get("PROBE_AFTER_RESTORE") == "sleep":
        register_after_restore(time.sleep, 30)


    def handler(event, context):
        from django.conf import settings
        from django.utils.module_loading import import_string

        time.sleep(event.get("sleep", 0))
        session = import_string(settings.SESSION_ENGINE + ".SessionStore")()
        session["probe"] = 1
        session.create()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            database_pid = cursor.fetchone()[0]
        return {
            "pid": os.getpid(),
            "random": [random.random() for _ in range(3)],
            "uuid": str(uuid.uuid4()),
            "session_key": session.session_key,
            "database_pid": database_pid,
            "init_database_pid": INIT_DATABASE_PID,
            "snapshot": SNAPSHOT,
            "init_sockets_still_open": sorted(tcp_sockets() & INIT_SOCKETS),
        }
    """
)


@pytest.fixture(scope="module")
def probe_code(tmp_path_factory):
    """The built zip's code directory (read-only) with the probe module beside it."""
    package = build_package("dev")
    root = tmp_path_factory.mktemp("snapstart-package") / "task"
    with zipfile.ZipFile(package) as archive:
        archive.extractall(root)
    (root / "snapstart_probe.py").write_text(PROBE)
    codedir.make_read_only(root)
    yield root
    codedir.remove(root)


@pytest.fixture
def database(postgres_url):
    created = PostgresDatabase(postgres_url, prefix="amphibian_snapstart")
    yield created
    created.drop()


def probe_pool(code_dir, local_aws, database, **environment):
    from django.conf import settings

    function = Function(
        code_dir=code_dir,
        handler="snapstart_probe.handler",
        name="amphibian-dev",
        memory_mb=512,
        timeout=30,
        region="us-east-1",
        environment={
            "PATH": "/usr/bin:/bin",
            **DEPLOYED_ENV,
            "DJANGO_DEPLOY_TARGET": "lambda",
            "DJANGO_SETTINGS_MODULE": "project.settings.lambda",
            "DJANGO_STATIC_STORAGE": "s3",
            "STATIC_BUCKET": "amphibian-dev-static",
            "STATIC_CDN_DOMAIN": "static.dev.amphibian.example.com",
            "DATABASE_URL": database.url,
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": local_aws.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "SESSIONS_TABLE": settings.SESSIONS_TABLE,
            "TOKEN_DENYLIST_TABLE": settings.TOKEN_DENYLIST_TABLE,
            "RATE_LIMITS_TABLE": settings.RATE_LIMITS_TABLE,
            "MEDIA_BUCKET": settings.MEDIA_BUCKET,
            **environment,
        },
        snapstart=True,
        restore_timeout=2.0,  # AWS's limit is 10 s; short here, for the test of it
    )
    lines = []
    pool = Pool(function, concurrency=2, log=lines.append)
    pool.lines = lines
    return pool


def together(pool, count, sleep=0.5):
    """``count`` invocations at once, each busy long enough that each gets its own instance."""
    payload = json.dumps({"sleep": sleep}).encode()
    with concurrent.futures.ThreadPoolExecutor(count) as executor:
        return list(executor.map(lambda _: pool.invoke(payload, timeout=90), range(count)))


def test_restored_copies_of_our_snapshot_are_instances_of_their_own(
    probe_code, local_aws, database, capfd
):
    pool = probe_pool(probe_code, local_aws, database)
    try:
        assert pool.take_snapshot() is None, "\n".join(pool.lines)
        invocations = together(pool, 2)
    finally:
        pool.close()
    for invocation in invocations:
        assert invocation.error is None, (invocation.error, "\n".join(pool.lines))
    first, second = (json.loads(invocation.result) for invocation in invocations)
    assert first["pid"] != second["pid"]
    # Our before-snapshot hooks ran: the snapshot held no connection and no client.
    for seen in (first, second):
        assert seen["snapshot"] == {"database_connected": False, "aws_clients": 0, "sockets": []}
        assert seen["init_sockets_still_open"] == []
        # A connection of its own, not the one init opened (PostgreSQL says whose).
        assert seen["database_pid"] != seen["init_database_pid"]
    assert first["database_pid"] != second["database_pid"]
    # Our after-restore hook reseeded random: the snapshot's state would repeat in both.
    assert first["random"] != second["random"]
    assert first["uuid"] != second["uuid"]
    assert first["session_key"] != second["session_key"]
    # Each session is in the local stack's table: the restored instances reached AWS.
    from django.conf import settings

    from apps.sessions.backends.dynamodb import KEY_ATTRIBUTE

    for seen in (first, second):
        item = aws.client("dynamodb").get_item(
            TableName=settings.SESSIONS_TABLE,
            Key={KEY_ATTRIBUTE: {"S": seen["session_key"]}},
            ConsistentRead=True,
        )
        assert "Item" in item
    # The restore's JSON line, from our after-restore hook, once per instance (the
    # instances write to this process's standard output, as a sandbox to its log stream).
    printed = capfd.readouterr().out.splitlines()
    restores = [json.loads(line) for line in printed if '"event": "snapstart.restore"' in line]
    assert len(restores) == 2, printed
    assert all(line["function_version"] == "1" and line["hooks_ms"] >= 0 for line in restores)
    reports = [line for line in pool.lines if line.startswith("REPORT")]
    assert sum("Restore Duration:" in line for line in reports) == 2
    assert not [line for line in reports if "Init Duration" in line]


@pytest.mark.parametrize(
    ("hook", "error_type"),
    [("raise", "SnapStartException"), ("sleep", "SnapStartTimeoutException")],
)
def test_an_after_restore_hook_that_fails_or_overruns_fails_the_restore(
    probe_code, local_aws, database, hook, error_type
):
    pool = probe_pool(probe_code, local_aws, database, PROBE_AFTER_RESTORE=hook)
    try:
        invocation = pool.invoke(b"{}", timeout=60)
    finally:
        pool.close()
    assert invocation.error is not None and invocation.error["errorType"] == error_type


# Lambda's init in a fresh interpreter, as a SnapStart snapshot would capture it. Everything
# that makes a unique value (the kernel's randomness, uuids, Django's random strings) is
# watched while the handler imports; a call made from the project's code is reported. Then
# every module global of the project's modules is described: two inits must describe the
# same state, or something unique (or time-dependent) was kept from init.
INIT_PROBE = r"""
import json, os, secrets, sys, traceback, uuid
from pathlib import Path

ROOT = Path.cwd()
OURS = tuple(str(ROOT / name) for name in ("apps", "project", "deploy"))
calls = []

def watch(module, name):
    original = getattr(module, name)
    def watched(*args, **kwargs):
        stack = traceback.extract_stack()[:-1]
        ours = [i for i, f in enumerate(stack) if f.filename.startswith(OURS)]
        if ours:
            # Below our last frame: an import (a library making a value as it loads, at the
            # bottom of the stack) or a call.
            below = [f for f in stack[ours[-1] + 1:] if not f.filename.startswith("<frozen")]
            imported = any(f.filename.startswith("<frozen importlib") for f in stack[ours[-1]:])
            # Inside init's warm-up request: a value of that request, dropped with it.
            in_request = any(f.name == "_home_page" for f in stack)
            calls.append({"call": f"{module.__name__}.{name}", "request": in_request,
                          "from": f"{stack[ours[-1]].filename}:{stack[ours[-1]].lineno}",
                          "importing": below[-1].filename if imported and below else None})
        return original(*args, **kwargs)
    setattr(module, name, watched)

for module, name in ((os, "urandom"), (uuid, "uuid1"), (uuid, "uuid4"), (secrets, "token_bytes"),
                     (secrets, "token_hex"), (secrets, "token_urlsafe"), (secrets, "choice"),
                     (secrets, "randbelow")):
    watch(module, name)
import django.utils.crypto
watch(django.utils.crypto, "get_random_string")

import importlib
importlib.import_module("deploy.lambda.handler")

def describe(value, depth=0):
    if depth > 4:
        return "..."
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return [describe(item, depth + 1) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(repr(item) for item in value)
    if isinstance(value, dict):
        return {repr(k): describe(v, depth + 1) for k, v in value.items()}
    if hasattr(value, "__dict__") and not callable(value) and type(value).__module__.startswith(
        ("apps", "project", "deploy")
    ):
        return {k: describe(v, depth + 1) for k, v in vars(value).items()}
    return type(value).__qualname__

state = {}
for name, module in sorted(sys.modules.items()):
    if not str(getattr(module, "__file__", "") or "").startswith(OURS):
        continue
    for key, value in vars(module).items():
        if not key.startswith("__") and not callable(value) and not hasattr(value, "__path__"):
            state[f"{name}.{key}"] = describe(value)
print(json.dumps({"calls": calls, "state": state}))
"""


def init_once(code_dir):
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(code_dir),
        **DEPLOYED_ENV,
        "DJANGO_DEPLOY_TARGET": "lambda",
        "DJANGO_STATIC_STORAGE": "s3",
        "STATIC_BUCKET": "amphibian-dev-static",
        "STATIC_CDN_DOMAIN": "static.dev.amphibian.example.com",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing of AWS is called at init
        "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
        "AWS_LAMBDA_FUNCTION_NAME": "amphibian-dev",
        # Sets and dicts describe in one order in both processes.
        "PYTHONHASHSEED": "0",
    }
    result = subprocess.run(
        [sys.executable, "-c", INIT_PROBE],
        cwd=code_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_init_generates_nothing_unique_that_a_restore_would_reuse(probe_code):
    first, second = init_once(probe_code), init_once(probe_code)
    made_by_us = [c for c in first["calls"] if c["importing"] is None and not c["request"]]
    assert made_by_us == []
    # The warm-up request made what every request makes (a CSRF token, a CSP nonce): kept
    # nowhere, as the two inits' identical state below shows.
    assert [c for c in first["calls"] if c["request"]]
    # Made by a library as it is imported: multiprocessing's authentication key (our code
    # starts no multiprocessing manager, the only user of that key).
    imported = {
        Path(call["importing"]).relative_to(sysconfig.get_path("stdlib")).as_posix()
        for call in first["calls"]
        if call["importing"]
    }
    assert imported <= {"multiprocessing/process.py"}, imported
    differences = {
        name: (value, second["state"].get(name))
        for name, value in first["state"].items()
        if second["state"].get(name) != value
    }
    assert differences == {}
    # The probe saw the project's state (it would pass vacuously on an empty description).
    assert "deploy.lambda.handler.PACKAGE_SETTINGS" in first["state"]
    assert "apps.core.aws._clients" in first["state"]
    # The warm-up rendered the home page (so what the probe watched includes a request).
    assert first["state"]["deploy.lambda.snapstart.warmed"] == {"'home'": "'200 OK'"}

"""The emulated account's Lambda: an invoked function runs its deployed code on this machine.

moto runs function code only in Docker (``LambdaFunction._invoke_lambda``). ``install``
replaces ``LambdaFunction.invoke``, the one door every invocation goes through (the Invoke
API, S3 and EventBridge notifications, CloudFormation custom resources, Secrets Manager
rotation), with the local Lambda (``deploy.tools.locallambda``): the zip moto holds
(``code_bytes``, from ZipFile or S3Bucket/S3Key) is extracted read-only once per code
digest, and each (function, code, configuration) gets a pool of warm instances.

The function sees its deployed variables, what Lambda sets in every sandbox, and exactly
these substitutions (``local_environment``, logged once per pool):

- ``AWS_ENDPOINT_URL``: the emulator, so every AWS call of the function comes back to it;
- the execution role's credentials, assumed through the emulator's STS as Lambda does (the
  recorder tells the function's calls apart by their access key);
- the database: an RDS endpoint becomes the local PostgreSQL (``databases.substitute``);
- ``COGNITO_JWKS_URL``: the emulator's key set for the pool (moto's tokens already carry
  the real issuer, so ``COGNITO_ISSUER`` stays unset);
- ``HTTP(S)_PROXY`` on the discard port and ``NO_PROXY`` for loopback: the function can reach
  the emulator and nothing else.

Asynchronous invocations (``InvocationType=Event``, and moto's own services, which call
without headers) answer 202 at once and run in a thread, retried per the function's
event-invoke configuration; when the retries are exhausted, Lambda's destination record goes
to the OnFailure SQS queue (a success's to OnSuccess). AWS waits about one minute before the
first retry and two before the second; here retries go at once.
"""

import base64
import io
import json
import logging
import shlex
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import boto3
from botocore.config import Config

from deploy.tools.locallambda import codedir
from deploy.tools.locallambda.instance import Invocation
from deploy.tools.locallambda.runtime import Function, Pool

from . import databases

logger = logging.getLogger(__name__)

CONCURRENCY = 2
LOG_TAIL_BYTES = 4096  # LogType=Tail: the last 4 KB of the invocation's log
DEFAULT_RETRY_ATTEMPTS = 2  # Lambda's defaults for asynchronous invocations
DEFAULT_MAX_EVENT_AGE = 6 * 3600
WAIT_GRACE_SECONDS = 30  # beyond init + timeout, which the instance enforces itself
# Lambda's own AssumeRole of the execution role is signed with this key, not a principal's.
SERVICE_ACCESS_KEY = "EMULATEDLAMBDASERVICE"
DISCARD_PROXY = "http://127.0.0.1:9"  # nothing listens there: a request to the internet fails
# Variables Lambda sets in every sandbox that the local Lambda leaves out (a function may
# override these two, unlike the reserved ones the instance sets).
SANDBOX_DEFAULTS = {
    "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
    "LANG": "en_US.UTF-8",
}
SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
# Where the emulator serves ``databases.endpoints()`` to other processes (routes.py).
DATABASES_ROUTE = "/_rehearsal/databases"

_emulated: "EmulatedLambda | None" = None
_patches: list = []  # moto's LambdaFunction.invoke and LambdaResponse.invoke, while installed


def install(account):
    """Run every invocation in the emulated ``account`` (``.url``, ``.state_dir``) locally."""
    global _emulated
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse

    if _emulated is not None:
        raise RuntimeError("The emulated Lambda is installed already; uninstall() it first.")
    emulated = _emulated = EmulatedLambda(account)

    def invoke(fn, body, request_headers, response_headers):
        return emulated.invoke(fn, body, request_headers, response_headers)

    respond = LambdaResponse.invoke

    def qualified_invoke(self):
        # moto reads the query's "qualifier"; the SDKs send "Qualifier": an invocation of an
        # alias or version would run $LATEST.
        if "Qualifier" in self.querystring:
            self.querystring.setdefault("qualifier", self.querystring["Qualifier"])
        return respond(self)

    _patches[:] = [
        mock.patch.object(LambdaFunction, "invoke", invoke),
        mock.patch.object(LambdaResponse, "invoke", qualified_invoke),
    ]
    for patch in _patches:
        patch.start()


def uninstall():
    """Give moto its own invoke back and stop every instance."""
    global _emulated
    for patch in _patches:
        patch.stop()
    _patches.clear()
    if _emulated is not None:
        _emulated.close()
    _emulated = None


def submit(function_arn, payload) -> Invocation:
    """Start ``payload`` (bytes) on the function ``function_arn`` synchronously, as an API
    Gateway integration does; returns its ``Invocation`` at once."""
    from moto.awslambda.utils import get_backend

    if _emulated is None:
        raise RuntimeError("The emulated Lambda is not installed (functions.install).")
    region, account_id = function_arn.split(":")[3:5]
    fn = get_backend(account_id, region).get_function(function_arn)
    return _emulated.pool_for(fn).submit(payload)


def local_environment(function_configuration, account_url) -> dict:
    """The variables of the function ``function_configuration`` describes (the shape of
    GetFunctionConfiguration) with the emulator's substitutions, for the emulator at
    ``account_url``. Assumes the execution role through that emulator's STS."""
    variables = dict((function_configuration.get("Environment") or {}).get("Variables") or {})
    region = function_configuration["FunctionArn"].split(":")[3]
    substitutions = {
        "AWS_ENDPOINT_URL": account_url,
        **_execution_role_credentials(
            function_configuration["Role"],
            function_configuration["FunctionName"],
            account_url,
            region,
        ),
        "HTTPS_PROXY": DISCARD_PROXY,
        "HTTP_PROXY": DISCARD_PROXY,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    pool_id = variables.get("COGNITO_USER_POOL_ID")
    if pool_id:
        substitutions["COGNITO_JWKS_URL"] = f"{account_url}/{pool_id}/.well-known/jwks.json"
    return databases.substitute({**variables, **substitutions}, _database_endpoints(account_url))


def destination_record(function_arn, invocation, payload, condition, attempts) -> dict:
    """Lambda's record of an asynchronous invocation, as it sends it to a destination
    (docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html)."""
    failed = invocation.error is not None
    response = {"statusCode": 200, "executedVersion": "$LATEST"}
    if failed:
        response["functionError"] = "Unhandled"
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": invocation.request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": json.loads(payload),
        "responseContext": response,
        "responsePayload": invocation.error if failed else _json_or_none(invocation.result),
    }


class LoggedInvocation(Invocation):
    """An invocation with its log, complete once ``logged`` is set (after ``done``)."""

    def __init__(self, payload):
        super().__init__(payload)
        self.log = ""
        self.logged = threading.Event()


class FunctionPool(Pool):
    """A local Lambda pool whose invocations keep their log: Lambda's START line, what the
    function printed, then END and REPORT, as the log stream and LogType=Tail have it.

    A sandbox's stdout and stderr go to its log stream; here each instance's go to a file
    named after its Runtime API port (the launcher ``EmulatedLambda`` writes), read back per
    invocation, which is exact since an instance runs one invocation at a time.
    """

    invocation_class = LoggedInvocation

    def __init__(self, function, output_dir, on_log):
        super().__init__(function, concurrency=CONCURRENCY, log=self._platform_line)
        self.output_dir = output_dir
        self.on_log = on_log
        self._current = threading.local()  # the platform lines of this thread's invocation

    def _run(self, instance, invocation):
        self._current.offset = _size(self._output(instance))
        self._current.lines = []
        try:
            super()._run(instance, invocation)
        finally:
            invocation.logged.set()
            self.on_log(invocation.log)

    def _report(self, instance, invocation):
        # Still before the instance is handed to the next invocation (and its output).
        super()._report(instance, invocation)
        start, *end = self._current.lines or [""]
        printed = _read_from(self._output(instance), self._current.offset).splitlines()
        invocation.log = "".join(f"{line}\n" for line in [start, *printed, *end])

    def _output(self, instance):
        return self.output_dir / f"{instance.runtime_api.rpartition(':')[2]}.log"

    def _platform_line(self, line):
        logger.info("%s: %s", self.function.name, line)
        lines = getattr(self._current, "lines", None)
        if lines is not None:
            lines.append(line)


class EmulatedLambda:
    """The pools and code directories of one emulated account, and how moto's invoke runs."""

    def __init__(self, account):
        self.account = account
        self.root = Path(account.state_dir) / "lambda"
        self.output_dir = self.root / "output"
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.python = self._write_launcher()
        self.pools: dict[tuple, FunctionPool] = {}
        self.code_dirs: dict[str, Path] = {}
        self.lock = threading.Lock()

    def invoke(self, fn, body, request_headers, response_headers):
        """moto's ``LambdaFunction.invoke``: the function's result, or 202's empty body."""
        from moto.awslambda.exceptions import LambdaClientError

        payload = body.encode() if isinstance(body, str) else (body or b"")
        payload = payload or b"{}"
        try:
            json.loads(payload)
        except ValueError as exc:
            raise LambdaClientError(
                "InvalidRequestContentException", f"Could not parse request body into json: {exc}"
            ) from exc
        invocation_type = _invocation_type(request_headers)
        if invocation_type == "DryRun":
            return b""
        pool = self.pool_for(fn)
        if invocation_type == "Event":
            threading.Thread(target=self.run_event, args=(fn, pool, payload), daemon=True).start()
            return b""
        invocation = self.run(pool, payload)
        tail = invocation.log.encode()[-LOG_TAIL_BYTES:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        response_headers["x-amz-executed-version"] = str(fn.version)
        if invocation.error is not None:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({**invocation.error, "requestId": invocation.request_id}).encode()
        return invocation.result

    def run(self, pool, payload):
        """Run ``payload`` on ``pool`` and wait for its outcome and log."""
        invocation = pool.submit(payload)
        limit = pool.function.init_timeout + pool.function.timeout + WAIT_GRACE_SECONDS
        if not invocation.logged.wait(limit):
            invocation.fail("Sandbox.Timedout", f"No outcome after {limit:.0f} s", "timeout")
        return invocation

    def run_event(self, fn, pool, payload):
        """An asynchronous invocation: tried, retried, then its record sent to a destination."""
        config = fn.event_invoke_config[0].config if fn.event_invoke_config else {}
        retries = int(config.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS))
        max_age = int(config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE))
        accepted = time.monotonic()
        attempts = 0
        condition = "RetriesExhausted"
        while True:
            attempts += 1
            invocation = self.run(pool, payload)
            if invocation.error is None:
                condition = "Success"
                break
            if attempts > retries:
                break
            if time.monotonic() - accepted > max_age:
                condition = "EventAgeExceeded"
                break
            logger.info(
                "%s: attempt %s failed (%s); retrying at once (AWS waits %s)",
                fn.function_name,
                attempts,
                invocation.error.get("errorType"),
                "about 1 minute" if attempts == 1 else "about 2 minutes",
            )
        kind = "OnSuccess" if condition == "Success" else "OnFailure"
        destination = config.get("DestinationConfig", {}).get(kind, {}).get("Destination")
        if destination:
            record = destination_record(fn.function_arn, invocation, payload, condition, attempts)
            _send_to_queue(destination, record)
        elif condition != "Success":
            logger.warning(
                "%s: asynchronous invocation %s dropped (%s after %s attempts, no OnFailure "
                "destination)",
                fn.function_name,
                invocation.request_id,
                condition,
                attempts,
            )

    def pool_for(self, fn):
        """The pool for ``fn``'s current code and configuration (a new one after an update;
        the old ones idle until ``close``)."""
        key = (
            fn.function_arn,
            getattr(fn, "code_digest", None),
            fn.handler,
            fn.memory_size,
            fn.timeout,
            fn.role,
            json.dumps(fn.environment_vars, sort_keys=True),
        )
        with self.lock:
            pool = self.pools.get(key)
            if pool is None:
                pool = self.pools[key] = self._new_pool(fn)
            return pool

    def close(self):
        with self.lock:
            pools, self.pools = list(self.pools.values()), {}
            code_dirs, self.code_dirs = list(self.code_dirs.values()), {}
        for pool in pools:
            pool.close()
        for code_dir in code_dirs:
            codedir.remove(code_dir.parent)

    def _new_pool(self, fn):
        configuration = fn.get_configuration()
        environment = local_environment(configuration, self.account.url)
        _log_substitutions(fn.function_name, configuration, environment)
        function = Function(
            code_dir=self._code_dir(fn),
            handler=fn.handler,
            name=fn.function_name,
            memory_mb=int(fn.memory_size),
            timeout=float(fn.timeout),
            region=fn.region,
            environment={**SANDBOX_DEFAULTS, **environment},
            python=str(self.python),
            # An alias or a version runs that version's code, and says which it is.
            published_version=None if str(fn.version) == "$LATEST" else str(fn.version),
        )
        return FunctionPool(function, self.output_dir, on_log=lambda text: _save_log(fn, text))

    def _code_dir(self, fn):
        from moto.awslambda.exceptions import LambdaClientError

        digest = getattr(fn, "code_digest", None)
        if fn.package_type != "Zip" or not digest or not fn.code_bytes:
            raise LambdaClientError(
                "InvalidZipFileException",
                f"{fn.function_name} has no zip the emulated account can run (package type "
                f"{fn.package_type}; an S3 code location must name an object that exists).",
            )
        if digest not in self.code_dirs:
            self.code_dirs[digest] = codedir.from_zip(
                io.BytesIO(fn.code_bytes), self.root / "code" / digest
            )
        return self.code_dirs[digest]

    def _write_launcher(self):
        """The interpreter each instance runs: Python with its output sent to its file."""
        launcher = self.root / "python"
        output = shlex.quote(str(self.output_dir))
        launcher.write_text(
            "#!/bin/sh\n"
            f'exec {shlex.quote(sys.executable)} "$@" '
            f'>>{output}/"${{AWS_LAMBDA_RUNTIME_API##*:}}.log" 2>&1\n'
        )
        launcher.chmod(0o755)
        return launcher


def _invocation_type(request_headers):
    # moto's own services (S3 and EventBridge notifications, CloudFormation custom
    # resources) call with a bare {}: AWS invokes all of them asynchronously.
    if isinstance(request_headers, dict) and not request_headers:
        return "Event"
    return request_headers.get("X-Amz-Invocation-Type") or "RequestResponse"


def _execution_role_credentials(role_arn, function_name, account_url, region):
    sts = boto3.client(
        "sts",
        endpoint_url=account_url,
        region_name=region,
        aws_access_key_id=SERVICE_ACCESS_KEY,
        aws_secret_access_key=SERVICE_ACCESS_KEY,
        config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}),
    )
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=function_name[:64])[
        "Credentials"
    ]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


def _database_endpoints(account_url):
    """None (this process's own mapping) in the emulator's process; elsewhere (the e2e
    target's runlambda) the mapping the emulator serves at ``DATABASES_ROUTE``."""
    if _emulated is not None and _emulated.account.url == account_url:
        return None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only
    try:
        with opener.open(f"{account_url}{DATABASES_ROUTE}", timeout=10) as response:
            return json.loads(response.read())
    except (OSError, ValueError) as exc:
        logger.warning(
            "The emulator at %s did not say which local databases stand for its RDS "
            "endpoints (%s); DATABASE_HOST and DATABASE_URL are left as deployed",
            account_url,
            exc,
        )
        return {}


def _log_substitutions(name, configuration, environment):
    deployed = (configuration.get("Environment") or {}).get("Variables") or {}
    changed = sorted(key for key, value in environment.items() if deployed.get(key) != value)
    shown = [
        f"{key}=(set)" if key in SECRET_VARIABLES else f"{key}={environment[key]}"
        for key in changed
    ]
    logger.info("%s runs locally; the emulator substitutes %s", name, ", ".join(shown))


def _send_to_queue(destination, record):
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.models import sqs_backends

    parts = destination.split(":")
    if parts[2] != "sqs":
        logger.warning("Destination %s: only SQS queues are emulated; record dropped", destination)
        return
    region, account_id, queue = parts[3], parts[4], parts[5]
    try:
        sqs_backends[account_id][region].send_message(queue, json.dumps(record))
    except QueueDoesNotExist:
        # Lambda counts a DestinationDeliveryFailures metric and drops the record.
        logger.warning("Destination %s does not exist; record dropped", destination)


def _save_log(fn, text):
    """The invocation's log into CloudWatch Logs (``/aws/lambda/<name>``), one stream each."""
    fn.logs_backend.ensure_log_group(fn.logs_group_name)
    fn.save_logs(text)


def _size(path):
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _read_from(path, offset):
    try:
        with path.open("rb") as file:
            file.seek(offset)
            return file.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _json_or_none(body):
    try:
        return json.loads(body) if body else None
    except ValueError:
        return body.decode("utf-8", errors="replace")

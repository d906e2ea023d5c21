"""Bytes through the function for a 50 MB upload on the lambda target, counted on the wire.

    make bench-upload      (.venv/bin/python bench/upload_bytes.py [--megabytes 50])

The local AWS stack (``manage.py localaws``) and the source tree in the local Lambda
(``manage.py runlambda --source --event v2 --stage dev``, a fresh PostgreSQL database on
127.0.0.1:5432) run as child processes. Counting TCP proxies on loopback stand in front of
the local API Gateway (all the client exchanges with the function), of S3 for the client
(the presigned POST goes there: its signature covers the policy, not the host), and of S3
for the function (``AWS_ENDPOINT_URL_S3``: its HEAD and 64 KB sniff on completion, and the
background checksum task, which reads the object once, S3 to function).

The local Cognito's demo user signs in (InitiateAuth) and calls the API with the Bearer
token. The direct path (presigned POST from the app, the file straight to S3, completion
call) must carry no file bytes through the function. Then the no-JavaScript form gets the
same file, and an 8 MB one: the gateway refuses both with 413 (API Gateway's 10 MB request
limit; Lambda's 6 MB payload limit for the base64 event) and the function is not invoked.
Loopback only, every wait bounded, every child stopped; writes
bench/results/upload_bytes.json.
"""

import argparse
import binascii
import contextlib
import http.client
import json
import os
import random
import shlex
import struct
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.byte_counting import CHUNK, CountingProxy, post_until_answered, wait_for  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.upload_function import STAGE, LocalLambda, sign_in  # noqa: E402
from deploy.tools.harness.browser import Browser, multipart  # noqa: E402
from deploy.tools.harness.localstack import LocalAWSProcess  # noqa: E402
from deploy.tools.harness.loopback import listening  # noqa: E402
from deploy.tools.harness.postgres import POSTGRES_URL, PostgresDatabase  # noqa: E402

MB = 1000 * 1000
# Passes API Gateway's 10 MB request limit; its base64 event does not pass Lambda's 6 MB.
PAYLOAD_LIMIT_PROBE_BYTES = 8 * MB
# Function invocations for one direct upload: start, complete, and the background checksum.
DIRECT_INVOCATIONS = 3


def png_file(size):
    """``size`` bytes the app accepts as image/png: a real signature and IHDR (4000 x 3000,
    under the pixel limit), then random bytes: incompressible, and no image to decode."""
    header = struct.pack(">IIBBBBB", 4000, 3000, 8, 2, 0, 0, 0)
    start = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(header)) + b"IHDR" + header
    start += struct.pack(">I", binascii.crc32(b"IHDR" + header))
    return start + random.Random(0).randbytes(size - len(start))  # noqa: S311 - test data


def direct_upload(data, auth, function, gateway, client_s3, function_s3):
    """Presigned POST from the app, the file straight to S3, completion; bytes of each leg."""
    browser = Browser(gateway.url, host="127.0.0.1")
    invoked = function.lines("START RequestId:")
    flow_start, function_s3_start = gateway.counts(), function_s3.counts()
    calls = {}

    before = gateway.counts()
    declaration = {"name": "photo.png", "size": len(data), "content_type": "image/png"}
    started = browser.post(
        f"/{STAGE}/api/files/", json.dumps(declaration).encode(), "application/json", **auth
    )
    calls["POST /api/files/ (declare, get the presigned POST)"] = {
        "status": started.status,
        **gateway.since(before),
    }
    if started.status != 201:
        raise SystemExit(f"starting the upload: {started.status} {started.text[:500]}")
    upload, stored = started.json()["upload"], started.json()["file"]

    before, s3_before = gateway.counts(), client_s3.counts()
    body, content_type = multipart(upload["fields"], "file", "photo.png", data)
    connection = http.client.HTTPConnection("127.0.0.1", client_s3.port, timeout=300)
    try:
        path = urllib.parse.urlsplit(upload["url"]).path or "/"
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        s3_response = connection.getresponse()
        s3_status, s3_answer = s3_response.status, s3_response.read()
    finally:
        connection.close()
    if s3_status not in (200, 201, 204):
        raise SystemExit(f"S3 refused the presigned POST: {s3_status} {s3_answer[:500]}")
    to_s3 = {"status": s3_status, **client_s3.since(s3_before)}
    during_s3_upload = gateway.since(before)

    before = gateway.counts()
    complete_url = stored["complete_url"]
    if not complete_url.startswith(f"/{STAGE}/"):
        complete_url = f"/{STAGE}{complete_url}"
    completed = browser.post(complete_url, b"", "application/json", **auth)
    calls["POST /api/files/<id>/complete"] = {"status": completed.status, **gateway.since(before)}
    status = completed.json().get("file", {}).get("status") if completed.status == 200 else None
    if status != "ready":
        raise SystemExit(f"completion: {completed.status} {completed.text[:500]}")
    through_function = gateway.since(flow_start)

    # The checksum task runs as a third, asynchronous invocation; wait until it reports.
    wait_for(
        lambda: function.lines("REPORT RequestId:") - invoked >= DIRECT_INVOCATIONS,
        180,
        "the background checksum invocation to finish",
    )
    function_bytes = through_function["to"] + through_function["from"]
    return {
        "file_bytes": len(data),
        "file_status": status,
        "calls_through_function": calls,
        "function_bytes": function_bytes,
        "function_bytes_during_s3_upload": during_s3_upload["to"] + during_s3_upload["from"],
        "client_to_s3": to_s3,
        "function_invocations": function.lines("START RequestId:") - invoked,
        # Inside AWS on a deployment (S3 to Lambda in-region), not through API Gateway.
        "function_s3_bytes_incl_background_checksum": function_s3.since(function_s3_start),
    }


def fallback_form(data, auth, function, gateway):
    """The no-JavaScript form (through the function by design) with files over its limits."""
    rows = {}
    for payload in (data, data[:PAYLOAD_LIMIT_PROBE_BYTES]):
        body, content_type = multipart({}, "file", "photo.png", payload)
        before, invoked = gateway.counts(), function.lines("START RequestId:")
        status, answer, sent = post_until_answered(
            gateway.port,
            f"/{STAGE}/en/files/upload",
            {"Content-Type": content_type, **auth["headers"]},
            body,
        )
        took = gateway.since(before)
        rows[f"{len(payload) // MB} MB"] = {
            "file_bytes": len(payload),
            "request_body_bytes": len(body),
            "status": status,
            "answer": answer,
            "body_bytes_sent_by_client": sent,
            "bytes_to_gateway": took["to"],
            "bytes_from_gateway": took["from"],
            "function_invocations": function.lines("START RequestId:") - invoked,
        }
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--output", type=Path, default=record.RESULTS_DIR / "upload_bytes.json")
    args = parser.parse_args()
    if not listening("127.0.0.1", 5432):
        raise SystemExit("PostgreSQL is not listening on 127.0.0.1:5432 (trust auth needed)")
    began = time.monotonic()
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings.test"
    import django

    django.setup()
    data = png_file(args.megabytes * MB)

    with (
        tempfile.TemporaryDirectory(prefix="amphibian-bench-upload-") as scratch,
        contextlib.ExitStack() as cleanup,
    ):
        scratch = Path(scratch)
        print("starting the local AWS stack and the local Lambda...", flush=True)
        stack = LocalAWSProcess(scratch / "localaws").start()
        cleanup.callback(stack.stop)
        stack.outputs = json.loads((stack.state_dir / "outputs.json").read_text())
        database = PostgresDatabase(POSTGRES_URL, prefix="amphibian_bench")
        cleanup.callback(database.drop)
        client_s3, function_s3 = CountingProxy(stack.port), CountingProxy(stack.port)
        cleanup.callback(client_s3.close)
        cleanup.callback(function_s3.close)
        function = LocalLambda(stack, database.url, function_s3, scratch)
        gateway = CountingProxy(function.port)
        cleanup.callback(gateway.close)
        cleanup.callback(function.stop)
        function.start()

        auth = {"headers": {"Authorization": f"Bearer {sign_in(stack)}"}}
        print(f"direct upload of {len(data)} bytes...", flush=True)
        direct = direct_upload(data, auth, function, gateway, client_s3, function_s3)
        print("the form with the same file...", flush=True)
        fallback = fallback_form(data, auth, function, gateway)

    file_bytes = direct["file_bytes"]
    result = {
        "benchmark": "bytes through the function for a direct upload (local Lambda, loopback)",
        "command": shlex.join(["python", "bench/upload_bytes.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d"),
        "machine": describe(("django", "boto3", "moto")),
        "duration_s": round(time.monotonic() - began),
        "setup": {
            "file": f"{file_bytes} bytes: PNG signature and header, then random bytes",
            "function": "manage.py runlambda --source --event v2 --stage dev, PostgreSQL",
            "auth": "Bearer access token of the local Cognito's demo user",
            "counted": "TCP bytes both ways, HTTP headers included, by proxies on loopback",
        },
        "direct_upload": direct,
        "fallback_form": fallback,
        "ratios": {
            "function_bytes_to_file_bytes": round(direct["function_bytes"] / file_bytes, 6),
            "client_to_s3_bytes_to_file_bytes": round(
                direct["client_to_s3"]["to"] / file_bytes, 4
            ),
        },
        "goals": {
            "no_file_bytes_through_function": direct["function_bytes_during_s3_upload"] == 0
            and direct["function_bytes"] < CHUNK,
            "form_over_limits_refused_413_without_invoking": all(
                row["status"] == 413 and row["function_invocations"] == 0
                for row in fallback.values()
            ),
        },
    }
    record.write(args.output, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

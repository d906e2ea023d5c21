"""Warm handler overhead: the same REST v1 event for ``/healthz`` through our handler,
apig-wsgi's and Zappa's, each in its own interpreter (the package's venv, the source tree)."""

import json
import subprocess
from pathlib import Path

from bench.lambda_packages import BENCH_DIR, PACKAGE_PYTHON, run
from deploy.tools.harness.processes import ROOT

APIG_WSGI_DIR = BENCH_DIR / "apig-wsgi"
APIG_WSGI = "apig-wsgi==2.20.0"
# What ``zappa package dev`` writes for our stage (the keys Zappa's handler reads).
ZAPPA_SETTINGS_PY = """\
EXCEPTION_HANDLER = None
DEBUG = False
LOG_LEVEL = "INFO"
BINARY_SUPPORT = True
CONTEXT_HEADER_MAPPINGS = {}
DOMAIN = None
BASE_PATH = None
ENVIRONMENT_VARIABLES = {}
API_STAGE = "dev"
PROJECT_NAME = "amphibian"
SETTINGS_FILE = None
DJANGO_SETTINGS = "project.settings.lambda"
AWS_EVENT_MAPPING = {}
AWS_BOT_EVENT_MAPPING = {}
COGNITO_TRIGGER_MAPPING = {}
ASYNC_RESPONSE_TABLE = ""
ADDITIONAL_TEXT_MIMETYPES = []
"""
WARM_PROBE = """
import io, json, sys, time

variant, count, warmup, event_file, out = sys.argv[1:6]
event = json.load(open(event_file))


class Context:
    function_name = "amphibian-dev"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:amphibian-dev"
    memory_limit_in_mb = "512"
    aws_request_id = "bench"
    log_group_name = "/aws/lambda/amphibian-dev"
    log_stream_name = "bench"

    def get_remaining_time_in_millis(self):
        return 60000


if variant == "ours":
    import importlib
    handler = importlib.import_module("deploy.lambda.handler").lambda_handler
elif variant == "apig-wsgi":
    import apig_wsgi
    from project.wsgi import application
    handler = apig_wsgi.make_lambda_handler(application)
else:
    from zappa.handler import lambda_handler as handler
context = Context()

def call():
    return handler(event, context)["statusCode"]

for _ in range(int(warmup)):
    status = call()
    if status != 200:
        raise SystemExit(f"{variant}: /healthz answered {status}")
times = []
clock = time.perf_counter_ns
for _ in range(int(count)):
    started = clock()
    call()
    times.append((clock() - started) / 1000)
json.dump(times, open(out, "w"))
"""
WARM_VARIANTS = ("ours", "apig-wsgi", "zappa")


def ensure_apig_wsgi():
    """apig-wsgi in its own --target directory: not in the package venv, which Zappa zips."""
    if not list(APIG_WSGI_DIR.glob("apig_wsgi-*.dist-info")):
        pip = [PACKAGE_PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run([*pip, "--no-deps", "--target", str(APIG_WSGI_DIR), APIG_WSGI])


def healthz_event(scratch):
    event = json.loads((ROOT / "tests" / "lambda_events" / "rest_v1.json").read_text())
    event["path"] = "/healthz"
    event["requestContext"]["path"] = "/dev/healthz"
    event["pathParameters"] = {"proxy": "healthz"}
    event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None
    path = Path(scratch) / "event.json"
    path.write_text(json.dumps(event))
    return path


def warm_sample(variant, env, event_file, count, warmup, scratch):
    out = Path(scratch) / f"{variant}.json"
    run(
        [PACKAGE_PYTHON, "-c", WARM_PROBE, variant, str(count), str(warmup), event_file, out],
        env=env,
        stdout=subprocess.DEVNULL,  # the access log: a line per request, the same for all
        stderr=subprocess.PIPE,
    )
    return json.loads(out.read_text())

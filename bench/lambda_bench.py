"""Lambda target: package size, cold start and warm handler overhead, ours vs stock Zappa.

    make bench-lambda      (.venv/bin/python bench/lambda_bench.py [--cold-starts 10]
                            [--invocations 2000] [--rounds 5])

One run, loopback only, variants interleaved so machine noise hits them alike; writes
bench/results/lambda.json and prints a table.

- package size: zipped / unzipped MiB of ours (``deploy/lambda/package.py``, rebuilt every
  run: it has no up-to-date check) with its biggest top-level entries, and of a reference
  made the stock way: ``startproject`` + one ``/hello`` view, default zappa_settings.json,
  ``zappa package dev`` in var/bench/reference (venv with only Django and Zappa, pinned).
- cold start: a fresh ``manage.py runlambda --zip`` per sample; once it listens, the time
  from sending the first request (the instance process is started for it) to its
  response: ``/dev/healthz`` for ours, ``/dev/hello`` for the reference (Zappa's
  ``handler.lambda_handler``). Also the REPORT line's Init Duration. Median, min, max.
- warm overhead: one interpreter per variant and round (var/package/venv, the source tree),
  the same REST v1 event for ``/healthz`` invoked ``--invocations`` times after a warm-up;
  median and p95 per call in us, pooled over the rounds. The app and view are the same behind
  every handler, so the differences are the handlers' own per-request cost.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.stats import median_p95_us  # noqa: E402
from tests.fixtures import DEPLOYED_ENV  # noqa: E402

PACKAGE = ROOT / "var" / "package" / "amphibian-dev.zip"
PACKAGE_PYTHON = ROOT / "var" / "package" / "venv" / "bin" / "python"
BENCH_DIR = ROOT / "var" / "bench"
REFERENCE_DIR = BENCH_DIR / "reference"
REFERENCE_ZIP = REFERENCE_DIR / "reference-dev.zip"
APIG_WSGI_DIR = BENCH_DIR / "apig-wsgi"
APIG_WSGI = "apig-wsgi==2.20.0"
MIB = 1024 * 1024
SIZE_GOAL = 12 * 1000 * 1000  # "12 MB"
API_HOST = "abcdef1234.execute-api.us-east-1.amazonaws.com"  # tests/lambda_events/rest_v1.json

# The lambda target's variables, for a function that answers /healthz and contacts
# nothing: AWS calls would fail fast on :9.
FUNCTION_ENV = {
    **DEPLOYED_ENV,
    "DJANGO_DEPLOY_TARGET": "lambda",
    "DJANGO_ALLOWED_HOSTS": f"127.0.0.1,{API_HOST}",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    # As the dev stage: static files on the CDN, the manifest in the package.
    "DJANGO_STATIC_STORAGE": "s3",
    "STATIC_BUCKET": "amphibian-dev-static",
    "STATIC_CDN_DOMAIN": "static.dev.amphibian.example.com",
}
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
REFERENCE_URLS = """\
from django.contrib import admin
from django.http import HttpResponse
from django.urls import path


def hello(request):
    return HttpResponse("Hello, world")


urlpatterns = [path("admin/", admin.site.urls), path("hello", hello)]
"""
# What ``zappa init`` writes (its defaults, DEFAULT_EXCLUDES included), bucket a placeholder.
REFERENCE_STAGES = {
    "dev": {
        "django_settings": "reference.settings",
        "runtime": "python3.11",
        "s3_bucket": "reference-zappa-deployments-placeholder",
        "aws_region": "us-east-1",
        "project_name": "reference",
        "exclude": ["boto3", "dateutil", "botocore", "s3transfer", "concurrent"],
    }
}
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


def run(command, **kwargs):
    kwargs.setdefault("cwd", ROOT)
    return subprocess.run(command, check=True, timeout=900, **kwargs)  # noqa: S603


# --- package size --------------------------------------------------------------------------


def build_ours():
    run([sys.executable, "deploy/lambda/package.py", "--stage", "dev"], capture_output=True)
    return PACKAGE


def pinned(lock_file, name):
    match = re.search(rf"^{name}==(\S+)", (ROOT / lock_file).read_text(), re.M)
    return match.group(1)


def build_reference(django_version, zappa_version):
    """The stock way: startproject, a hello view, default zappa_settings.json, zappa package."""
    venv = REFERENCE_DIR / "venv"
    python = venv / "bin" / "python"
    wanted = f"{django_version} {zappa_version}"
    versions = "from importlib.metadata import version; print(version('django'), version('zappa'))"
    installed = ""
    if python.exists():
        probe = subprocess.run([python, "-c", versions], capture_output=True, text=True)  # noqa: S603
        installed = probe.stdout.strip()
    if installed != wanted:
        run([sys.executable, "-m", "venv", "--clear", str(venv)])
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run([*pip, f"django=={django_version}", f"zappa=={zappa_version}"])
    project = REFERENCE_DIR / "reference"
    if not project.exists():
        run([venv / "bin" / "django-admin", "startproject", "reference"], cwd=REFERENCE_DIR)
    (project / "reference" / "urls.py").write_text(REFERENCE_URLS)
    settings = project / "reference" / "settings.py"
    if 'ALLOWED_HOSTS = ["*"]' not in settings.read_text():
        settings.write_text(settings.read_text() + '\nALLOWED_HOSTS = ["*"]\n')
    (project / "zappa_settings.json").write_text(json.dumps(REFERENCE_STAGES, indent=4) + "\n")
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "AWS_DEFAULT_REGION": "us-east-1"}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH"):
        env.pop(name, None)
    REFERENCE_ZIP.unlink(missing_ok=True)
    zappa = [venv / "bin" / "zappa", "package", "dev", "-o", str(REFERENCE_ZIP)]
    run(zappa, cwd=project, env=env, capture_output=True)
    return REFERENCE_ZIP


def package_size(path, top=8):
    """Sizes in MiB, and the ``top`` biggest top-level entries by compressed size."""
    by_entry = defaultdict(lambda: [0, 0])
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            entry = by_entry[info.filename.split("/")[0]]
            entry[0] += info.compress_size
            entry[1] += info.file_size
    biggest = sorted(by_entry.items(), key=lambda item: -item[1][0])[:top]
    return {
        "zipped_mib": round(path.stat().st_size / MIB, 2),
        "unzipped_mib": round(sum(size for _, size in by_entry.values()) / MIB, 2),
        "biggest_zipped_mib": {name: round(sizes[0] / MIB, 2) for name, sizes in biggest},
    }


# --- cold start ----------------------------------------------------------------------------


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port):
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def cold_start(zip_path, handler, path, function_env):
    """``(first_response_ms, since_runlambda_ms, init_duration_ms)`` of one fresh runlambda."""
    port = free_port()
    command = [sys.executable, "manage.py", "runlambda", "--zip", str(zip_path)]
    command += ["--handler", handler, "--event", "v1", "--port", str(port)]
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
        while not listening(port):
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


# --- warm handler overhead -----------------------------------------------------------------


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


# --- the run -------------------------------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold-starts", type=int, default=10)
    parser.add_argument("--invocations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    began = time.monotonic()

    print("building our package and the reference...", flush=True)
    ours_zip = build_ours()
    reference_zip = build_reference(
        pinned("requirements/runtime.txt", "django"), pinned("requirements/dev.txt", "zappa")
    )
    ensure_apig_wsgi()
    sizes = {"ours": package_size(ours_zip), "reference": package_size(reference_zip)}

    scratch = tempfile.mkdtemp(prefix="amphibian-bench-lambda-")
    function_env = {**FUNCTION_ENV, "DATABASE_URL": f"sqlite:///{scratch}/db.sqlite3"}
    cold_variants = {
        "ours": (ours_zip, "deploy.lambda.handler.lambda_handler", "/healthz", function_env),
        "reference": (reference_zip, "handler.lambda_handler", "/hello", {}),
    }
    cold = {name: [] for name in cold_variants}
    print(f"cold starts: {options.cold_starts} per package...", flush=True)
    for sample in range(options.cold_starts):
        order = list(cold_variants) if sample % 2 == 0 else list(cold_variants)[::-1]
        for name in order:
            cold[name].append(cold_start(*cold_variants[name]))

    settings_dir = Path(scratch) / "zappa-settings"
    settings_dir.mkdir()
    (settings_dir / "zappa_settings.py").write_text(ZAPPA_SETTINGS_PY)
    warm_env = {
        **function_env,
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join(map(str, (ROOT, settings_dir, APIG_WSGI_DIR))),
    }
    event_file = healthz_event(scratch)
    warm = {name: [] for name in WARM_VARIANTS}
    print(f"warm: {options.rounds} rounds of {options.invocations} per handler...", flush=True)
    for round_ in range(options.rounds):
        shift = round_ % len(WARM_VARIANTS)
        for name in WARM_VARIANTS[shift:] + WARM_VARIANTS[:shift]:
            warm[name] += warm_sample(
                name, warm_env, event_file, options.invocations, options.warmup, scratch
            )

    cold_rows = {
        name: {
            "samples": len(samples),
            "first_response_ms": summary([s[0] for s in samples]),
            "runlambda_start_to_first_response_ms": summary([s[1] for s in samples]),
            "init_duration_ms": summary([s[2] for s in samples if s[2] is not None]),
        }
        for name, samples in cold.items()
    }
    # The same app and view behind each handler: the differences are the handlers' own cost.
    warm_rows = {
        name: {"invocations": len(samples), **median_p95_us(samples)}
        for name, samples in warm.items()
    }

    def ratio(a, b):
        return round(a / b, 2) if b else None

    ours_cold = cold_rows["ours"]["first_response_ms"]["median"]
    reference_cold = cold_rows["reference"]["first_response_ms"]["median"]
    warm_median = {name: warm_rows[name]["median_us"] for name in WARM_VARIANTS}
    ratios = {
        "cold_start_ours_to_reference": ratio(ours_cold, reference_cold),
        "init_duration_ours_to_reference": ratio(
            cold_rows["ours"]["init_duration_ms"]["median"],
            cold_rows["reference"]["init_duration_ms"]["median"],
        ),
        "warm_ours_to_apig_wsgi": ratio(warm_median["ours"], warm_median["apig-wsgi"]),
        "warm_ours_to_zappa": ratio(warm_median["ours"], warm_median["zappa"]),
        "zipped_ours_to_reference": ratio(
            sizes["ours"]["zipped_mib"], sizes["reference"]["zipped_mib"]
        ),
    }
    goals = {
        "zipped_size_at_most_12_MB": ours_zip.stat().st_size <= SIZE_GOAL,
        "cold_start_at_most_0.8x_reference": ratios["cold_start_ours_to_reference"] <= 0.8,
        "warm_at_most_apig_wsgi": warm_median["ours"] <= warm_median["apig-wsgi"],
    }
    command = "python bench/lambda_bench.py"
    command += f" --cold-starts {options.cold_starts} --invocations {options.invocations}"
    command += f" --warmup {options.warmup} --rounds {options.rounds}"
    result = {
        "benchmark": "lambda target: package size, cold start, warm handler overhead",
        "command": command,
        "date": time.strftime("%Y-%m-%d"),
        "machine": describe(("django", "zappa")),
        "apig_wsgi": APIG_WSGI.split("==")[1],
        "duration_s": round(time.monotonic() - began),
        "package_size": sizes,
        "cold_start": cold_rows,
        "warm_healthz": warm_rows,
        "ratios": ratios,
        "goals": goals,
    }
    record.write(record.RESULTS_DIR / "lambda.json", result)
    print_table(result)


def print_table(result):
    sizes, cold, warm = result["package_size"], result["cold_start"], result["warm_healthz"]
    print(f"\n{'package':<11}{'zipped MiB':>12}{'unzipped MiB':>14}")
    for name, row in sizes.items():
        print(f"{name:<11}{row['zipped_mib']:>12}{row['unzipped_mib']:>14}")
    print(f"\n{'cold start':<11}{'first resp. ms (min-max)':>28}{'init ms':>10}")
    for name, row in cold.items():
        first = row["first_response_ms"]
        span = f"{first['median']} ({first['min']}-{first['max']})"
        print(f"{name:<11}{span:>28}{row['init_duration_ms']['median']:>10}")
    print(f"\n{'warm':<11}{'median us':>11}{'p95 us':>10}")
    for name, row in warm.items():
        print(f"{name:<11}{row['median_us']:>11}{row['p95_us']:>10}")
    print("\nratios:", json.dumps(result["ratios"]))
    print("goals:", json.dumps(result["goals"]))


if __name__ == "__main__":
    main()

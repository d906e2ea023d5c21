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
  response: the home page ``/dev/en/`` for ours, ``/dev/hello`` for the reference (Zappa's
  ``handler.lambda_handler``). Also the REPORT line's Init Duration. Median, min, max.
- restore: the same with ``runlambda --snapstart`` (ours): the snapshot is taken before the
  gateway listens, so the first request starts a copy of it (a fork that runs the
  after-restore hooks); its REPORT line's Restore Duration.
- first request vs warm: ``--warm-requests`` more requests on the same instance after the
  first; the first invocation's REPORT Duration against their median, after init and after a
  restore: the warm-up in init should leave the first request nothing extra to do.
- warm overhead: one interpreter per variant and round (var/package/venv, the source tree),
  the same REST v1 event for ``/healthz`` invoked ``--invocations`` times after a warm-up;
  median and p95 per call in us, pooled over the rounds. The app and view are the same behind
  every handler, so the differences are the handlers' own per-request cost.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.lambda_cold import cold_start, summary  # noqa: E402
from bench.lambda_packages import build_ours, build_reference, package_size, pinned  # noqa: E402
from bench.lambda_warm import (  # noqa: E402
    APIG_WSGI,
    APIG_WSGI_DIR,
    WARM_VARIANTS,
    ZAPPA_SETTINGS_PY,
    ensure_apig_wsgi,
    healthz_event,
    warm_sample,
)
from bench.machine import describe  # noqa: E402
from bench.stats import median_p95_us  # noqa: E402
from deploy.tools.harness.processes import DEPLOYED_ENV  # noqa: E402

SIZE_GOAL = 12 * 1000 * 1000  # "12 MB"
API_HOST = "abcdef1234.execute-api.us-east-1.amazonaws.com"  # tests/lambda_events/rest_v1.json

# The lambda target's variables, for a function that answers /healthz and contacts
# nothing: AWS calls would fail fast on :9.
FUNCTION_ENV = {
    **DEPLOYED_ENV,
    "DJANGO_DEPLOY_TARGET": "lambda",
    "DJANGO_ALLOWED_HOSTS": f"127.0.0.1,{API_HOST}",
    "CANONICAL_HOST": "",  # redirects stay on the loopback host asked for
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "AWS_REGION": "us-east-1",
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    # As the dev stage: static files on the CDN, the manifest in the package.
    "DJANGO_STATIC_STORAGE": "s3",
    "STATIC_BUCKET": "amphibian-dev-static",
    "STATIC_CDN_DOMAIN": "static.dev.amphibian.example.com",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold-starts", type=int, default=10)
    parser.add_argument("--invocations", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warm-requests", type=int, default=20)
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
    ours = (ours_zip, "deploy.lambda.handler.lambda_handler", "/en/", function_env)
    cold_variants = {
        "ours": (ours, {}),
        "ours_restored": (ours, {"snapstart": True}),
        "reference": ((reference_zip, "handler.lambda_handler", "/hello", {}), {}),
    }
    cold = {name: [] for name in cold_variants}
    print(f"cold starts: {options.cold_starts} per variant...", flush=True)
    for sample in range(options.cold_starts):
        shift = sample % len(cold_variants)
        names = list(cold_variants)
        for name in names[shift:] + names[:shift]:
            arguments, flags = cold_variants[name]
            cold[name].append(cold_start(*arguments, warm_requests=options.warm_requests, **flags))

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

    def summarised(samples, key):
        values = [s[key] for s in samples if s[key] is not None]
        return summary(values) if values else None

    cold_rows = {
        name: {
            "samples": len(samples),
            "first_response_ms": summarised(samples, "first_response_ms"),
            "runlambda_start_to_first_response_ms": summarised(samples, "since_runlambda_ms"),
            "init_duration_ms": summarised(samples, "init_ms"),
            "restore_duration_ms": summarised(samples, "restore_ms"),
            # The after-restore hooks' time, which Lambda bills as duration.
            "billed_restore_duration_ms": summarised(samples, "billed_restore_ms"),
            "first_request_duration_ms": summarised(samples, "first_duration_ms"),
            # Every warm request of every sample: the first's yardstick.
            "warm_request_duration_ms": summary(
                [d for s in samples for d in s["warm_durations_ms"]], 2
            ),
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
    restored = cold_rows["ours_restored"]["first_response_ms"]["median"]
    reference_cold = cold_rows["reference"]["first_response_ms"]["median"]

    def first_to_warm(name):
        row = cold_rows[name]
        return ratio(
            row["first_request_duration_ms"]["median"], row["warm_request_duration_ms"]["median"]
        )

    warm_median = {name: warm_rows[name]["median_us"] for name in WARM_VARIANTS}
    ratios = {
        "cold_start_ours_to_reference": ratio(ours_cold, reference_cold),
        "restored_first_response_to_reference_cold_start": ratio(restored, reference_cold),
        "restored_first_response_to_ours_cold_start": ratio(restored, ours_cold),
        "first_request_to_warm_after_init": first_to_warm("ours"),
        "first_request_to_warm_after_restore": first_to_warm("ours_restored"),
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
        "restored_first_response_at_most_0.1x_reference_cold_start": (
            ratios["restored_first_response_to_reference_cold_start"] <= 0.1
        ),
        "first_request_after_restore_at_most_2x_warm": (
            ratios["first_request_to_warm_after_restore"] <= 2
        ),
        "first_request_after_init_at_most_2x_warm": (
            ratios["first_request_to_warm_after_init"] <= 2
        ),
        "warm_at_most_apig_wsgi": warm_median["ours"] <= warm_median["apig-wsgi"],
    }
    command = "python bench/lambda_bench.py"
    command += f" --cold-starts {options.cold_starts} --invocations {options.invocations}"
    command += f" --warmup {options.warmup} --rounds {options.rounds}"
    command += f" --warm-requests {options.warm_requests}"
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
    print(
        f"\n{'cold start':<15}{'first resp. ms (min-max)':>28}{'init ms':>10}{'restore ms':>12}"
        f"{'1st req ms':>12}{'warm ms':>10}"
    )
    for name, row in cold.items():
        first = row["first_response_ms"]
        span = f"{first['median']} ({first['min']}-{first['max']})"
        init, restore = row["init_duration_ms"], row["restore_duration_ms"]
        print(
            f"{name:<15}{span:>28}{(init or {}).get('median', '-'):>10}"
            f"{(restore or {}).get('median', '-'):>12}"
            f"{row['first_request_duration_ms']['median']:>12}"
            f"{row['warm_request_duration_ms']['median']:>10}"
        )
    print(f"\n{'warm':<11}{'median us':>11}{'p95 us':>10}")
    for name, row in warm.items():
        print(f"{name:<11}{row['median_us']:>11}{row['p95_us']:>10}")
    print("\nratios:", json.dumps(result["ratios"]))
    print("goals:", json.dumps(result["goals"]))


if __name__ == "__main__":
    main()

"""Session engines side by side: this project's DynamoDB engine vs Django's db and cache engines.

Each request goes through the whole Django stack (test client, the project's middleware) to
one small view, all engines interleaved in a shuffled order, so drift hits them alike:

    .venv/bin/python bench/sessions_bench.py               # writes bench/results/sessions.json
    .venv/bin/python bench/sessions_bench.py --requests 100 --output /tmp/sessions.json

Scenarios: ``anonymous`` (no cookie; the view looks at the session), ``read`` (a session,
read only) and ``write`` (a session, modified). Reported per engine and scenario: latency
p50/p95, DynamoDB calls and SQL queries per request, and the DynamoDB engine's ratios.

Loopback only, seconds not minutes. moto's server runs as a child process on a free
127.0.0.1 port (its own process, so it does not share this one's GIL); the db engine uses
the test settings' in-memory SQLite, the cache engine Django's local-memory cache. These are
local-stack numbers: real DynamoDB costs a network round trip per call (single-digit ms
in-region) where moto costs its own processing time, and the in-process engines pay no
network at all, unlike PostgreSQL or Redis would.
"""

import argparse
import datetime
import logging
import os
import random
import shlex
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from django.http import JsonResponse
from django.urls import path

ROOT = Path(__file__).resolve().parent.parent
ENGINES = {
    "dynamodb": "apps.sessions.backends.dynamodb",
    "db": "django.contrib.sessions.backends.db",
    "cache": "django.contrib.sessions.backends.cache",
}
SCENARIOS = {"anonymous": "/counter", "read": "/counter", "write": "/counter?write=1"}
WARMUP_REQUESTS = 20


def counter(request):
    """The benchmarked view: read the session's counter, and bump it when asked to."""
    count = request.session.get("count", 0)
    if request.GET.get("write"):
        request.session["count"] = count + 1
    return JsonResponse({"count": count})


# This script is its own URLconf (ROOT_URLCONF = "__main__").
urlpatterns = [path("counter", counter)]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(port, timeout=30):
    process = subprocess.Popen(  # noqa: S603 - a fixed argv, nothing from outside
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"moto's server did not listen on 127.0.0.1:{port} within {timeout}s")


class Counts:
    """DynamoDB calls (botocore events) and SQL queries (execute wrapper), as running totals."""

    def __init__(self):
        self.dynamodb = Counter()
        self.sql = 0

    def record_call(self, model, **kwargs):
        self.dynamodb[model.name] += 1

    def record_query(self, execute, sql, params, many, context):
        self.sql += 1
        return execute(sql, params, many, context)

    def snapshot(self):
        return Counter(self.dynamodb), self.sql


def run(requests):
    from django.db import connection
    from django.test import Client, override_settings

    from apps.core import aws

    counts = Counts()
    aws.client("dynamodb").meta.events.register(
        "before-parameter-build.dynamodb.*", counts.record_call
    )
    clients = {}
    for engine, engine_path in ENGINES.items():
        with override_settings(SESSION_ENGINE=engine_path):
            for scenario, url in SCENARIOS.items():
                client = clients[engine, scenario] = Client()
                if scenario != "anonymous":
                    client.get(SCENARIOS["write"])  # a session with a cookie
                for _ in range(WARMUP_REQUESTS):
                    client.get(url)

    samples = {key: [] for key in clients}
    calls = {key: Counter() for key in clients}
    queries = dict.fromkeys(clients, 0)
    cases = list(clients)
    shuffle = random.Random(0).shuffle  # noqa: S311 - an order, not a secret
    with connection.execute_wrapper(counts.record_query):
        for _ in range(requests):
            # A new order each round, so whatever follows a slow case (a GC pass, cold
            # caches) falls on every case alike.
            shuffle(cases)
            for engine, scenario in cases:
                client = clients[engine, scenario]
                with override_settings(SESSION_ENGINE=ENGINES[engine]):
                    dynamodb_before, sql_before = counts.snapshot()
                    started = time.perf_counter()
                    response = client.get(SCENARIOS[scenario])
                    samples[engine, scenario].append(time.perf_counter() - started)
                    dynamodb_after, sql_after = counts.snapshot()
                if response.status_code != 200:
                    raise SystemExit(f"{engine} {scenario}: HTTP {response.status_code}")
                calls[engine, scenario].update(dynamodb_after - dynamodb_before)
                queries[engine, scenario] += sql_after - sql_before
    return {
        engine: {
            scenario: summary(
                samples[engine, scenario], calls[engine, scenario], queries[engine, scenario]
            )
            for scenario in SCENARIOS
        }
        for engine in ENGINES
    }


def raw_getitem_latency(requests):
    """One GetItem through the same client, no Django: what the local stack costs per call."""
    from django.conf import settings

    from apps.core import aws
    from apps.sessions.backends.dynamodb import SessionStore

    client = aws.client("dynamodb")
    key = SessionStore()._key(SessionStore()._get_new_session_key())
    seconds = []
    for _ in range(requests):
        started = time.perf_counter()
        client.get_item(TableName=settings.SESSIONS_TABLE, Key=key, ConsistentRead=True)
        seconds.append(time.perf_counter() - started)
    return latency(seconds)


def latency(seconds):
    centiles = statistics.quantiles([s * 1000 for s in seconds], n=100, method="inclusive")
    return {
        "p50_ms": round(centiles[49], 3),
        "p95_ms": round(centiles[94], 3),
        "mean_ms": round(statistics.fmean(seconds) * 1000, 3),
    }


def summary(seconds, calls, queries):
    return {
        **latency(seconds),
        "dynamodb_calls_per_request": {
            operation: round(total / len(seconds), 3) for operation, total in sorted(calls.items())
        },
        "sql_queries_per_request": round(queries / len(seconds), 3),
    }


def ratios(results):
    return {
        scenario: {
            f"dynamodb/{other}_{stat}": round(
                results["dynamodb"][scenario][stat] / results[other][scenario][stat], 2
            )
            for other in ("db", "cache")
            for stat in ("p50_ms", "p95_ms")
        }
        for scenario in SCENARIOS
    }


def session_cost(results):
    """p50 of a session read or write above the same request without a session."""
    return {
        engine: {
            scenario: round(
                by_scenario[scenario]["p50_ms"] - by_scenario["anonymous"]["p50_ms"], 3
            )
            for scenario in ("read", "write")
        }
        for engine, by_scenario in results.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per case")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "results" / "sessions.json"
    )
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from bench import record
    from bench.machine import describe

    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings.test"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import override_settings

    from apps.core import aws
    from apps.sessions.backends.dynamodb import TABLE

    # The access log would print a line per request; errors still show.
    logging.disable(logging.INFO)
    port = free_port()
    moto = start_moto(port)
    try:
        with override_settings(
            AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            AWS_ENDPOINT_URLS={},
            ROOT_URLCONF=__name__,
        ):
            TABLE.ensure(aws.client("dynamodb"), settings.SESSIONS_TABLE)
            # Every app's tables: the view needs only the sessions', but the apps' post_migrate
            # handlers (the staff groups) run after any migrate and need theirs.
            call_command("migrate", verbosity=0)
            started = time.monotonic()
            results = run(args.requests)
            raw_getitem = raw_getitem_latency(args.requests)
            elapsed = time.monotonic() - started
    finally:
        moto.terminate()
        moto.wait(timeout=10)

    executable = Path(sys.executable)
    report = {
        "command": shlex.join(
            [
                str(executable.relative_to(ROOT)) if executable.is_relative_to(ROOT) else "python",
                *sys.argv,
            ]
        ),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": describe(("django", "boto3", "moto")),
        "setup": {
            "requests_per_case": args.requests,
            "warmup_requests_per_case": WARMUP_REQUESTS,
            "seconds": round(elapsed, 1),
            "stack": "django.test.Client through project.settings.test's MIDDLEWARE",
            "dynamodb": "moto server, child process on 127.0.0.1, strongly consistent reads",
            "db": "SQLite in memory (project.settings.test)",
            "cache": "LocMemCache (Django's default cache)",
        },
        "results": results,
        # Subtract calls x this from the DynamoDB rows and add real round trips to estimate
        # a deployment; the rest is the engine's own cost (boto3 serialising, signing, parsing).
        "raw_getitem_on_local_stack": raw_getitem,
        "ratios": ratios(results),
        "session_cost_p50_ms": session_cost(results),
    }
    record.write(args.output, report)
    for engine, by_scenario in results.items():
        for scenario, result in by_scenario.items():
            print(
                f"{engine:9} {scenario:10} p50 {result['p50_ms']:7.3f} ms  "
                f"p95 {result['p95_ms']:7.3f} ms  dynamodb {result['dynamodb_calls_per_request']}"
                f"  sql {result['sql_queries_per_request']}"
            )
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()

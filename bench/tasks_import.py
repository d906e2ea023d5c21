"""Cold-start cost of enqueueing on Lambda: Zappa's async module vs ours.

Each sample is a fresh interpreter that sets up Django for the lambda target and imports
one module; both variants run interleaved in one run, so noise hits them alike. Reports
the median import time and whether boto3 was loaded.

    .venv/bin/python bench/tasks_import.py [--runs 15]
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.machine import describe  # noqa: E402
from deploy.tools.harness.processes import DEPLOYED_ENV  # noqa: E402

ENV = {
    **DEPLOYED_ENV,
    "DJANGO_DEPLOY_TARGET": "lambda",
    "DATABASE_URL": "sqlite://:memory:",
    "PATH": "/usr/bin:/bin",
}
# By name: "lambda" is a keyword, so ``import deploy.lambda.tasks`` would not parse.
PROBE = """
import importlib, sys, time
import project.targets; project.targets.configure()
import django; django.setup()
started = time.perf_counter()
importlib.import_module("{module}")
elapsed = time.perf_counter() - started
print(elapsed * 1000, "boto3" in sys.modules)
"""
VARIANTS = {
    "zappa.asynchronous": "zappa.asynchronous",
    "amphibian lambda backend": "deploy.lambda.tasks",
}


def sample(module):
    output = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=ROOT,
        env={**ENV, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(output[0]), output[1] == "True"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    times = {name: [] for name in VARIANTS}
    loads_boto3 = {}
    for _ in range(runs):
        for name, module in VARIANTS.items():
            elapsed, boto3 = sample(module)
            times[name].append(elapsed)
            loads_boto3[name] = boto3
    rows = {
        name: {
            # Our backend is imported by Django's set-up already: hundredths of a ms.
            "median_ms": round(statistics.median(values), 3),
            "min_ms": round(min(values), 3),
            "imports_boto3": loads_boto3[name],
        }
        for name, values in times.items()
    }
    ours = statistics.median(times["amphibian lambda backend"])
    result = {
        "benchmark": "import cost of the task enqueue path on the lambda target",
        "command": f"{Path(sys.executable).name} bench/tasks_import.py --runs {runs}",
        "date": time.strftime("%Y-%m-%d"),
        "machine": describe(),
        "runs": runs,
        "results": rows,
        "ratio_zappa_to_ours": round(statistics.median(times["zappa.asynchronous"]) / ours),
    }
    record.write(record.RESULTS_DIR / "tasks_import.json", result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

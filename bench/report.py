"""bench/README.md from bench/results/*.json: one table row per side-by-side comparison.

    python bench/report.py          (the last step of ``make bench``)

Each row names its numbers by their place in a result file, so the table can only show
what a benchmark recorded (tests/test_bench_report.py checks it on the committed results).
"""

import json
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.jwt_timing import (  # noqa: E402
    OURS,
    OURS_PACKAGED,
    OURS_REPEATED,
    OURS_SIGNATURE,
    PYJWT,
    PYJWT_SIGNATURE,
)
from bench.record import RESULTS_DIR  # noqa: E402

README = RESULTS_DIR.parent / "README.md"
# Written by ``manage.py costmodel``, not by a benchmark: linked when present.
COST_MODEL = ("costmodel.txt", "costmodel.png")


@dataclass(frozen=True)
class Row:
    """A comparison as it appears in the table; ``*_path`` say where its numbers come from."""

    result: str  # the file's stem: bench/results/<result>.json
    comparison: str
    ours: object
    alternative: object
    ratio: object
    goal: str
    met: object
    ours_path: tuple
    alternative_path: tuple | None
    ratio_path: tuple | None
    met_path: tuple | None


def pick(document, path):
    for key in path:
        document = document[key]
    return document


def ratio_of(ours, alternative):
    """ours / alternative: two decimals, or two significant digits below 0.1."""
    value = ours / alternative
    return round(value, 2) if value >= 0.1 else float(f"{value:.2g}")


def comparison(result, what, ours, alternative=None, ratio=None, goal="", met=None):
    """A ``Row`` of ``result`` (the loaded JSON, with ``name``), numbers taken at the paths.

    Without a recorded ratio, it is ours / alternative, computed here.
    """
    ours_value = pick(result, ours)
    alternative_value = pick(result, alternative) if alternative else None
    if ratio:
        ratio_value = pick(result, ratio)
    elif alternative_value:
        ratio_value = ratio_of(ours_value, alternative_value)
    else:
        ratio_value = None
    return Row(
        result=result["name"],
        comparison=what,
        ours=ours_value,
        alternative=alternative_value,
        ratio=ratio_value,
        goal=goal,
        met=pick(result, met) if met else None,
        ours_path=ours,
        alternative_path=alternative,
        ratio_path=ratio,
        met_path=met,
    )


# --- one function per result file, in the table's order ------------------------------------


def lambda_rows(r):
    yield comparison(
        r,
        "Lambda package, zipped MiB: ours vs a stock Zappa package (startproject + one view)",
        ("package_size", "ours", "zipped_mib"),
        ("package_size", "reference", "zipped_mib"),
        ("ratios", "zipped_ours_to_reference"),
        "at most 12 MB",
        ("goals", "zipped_size_at_most_12_MB"),
    )
    yield comparison(
        r,
        "Lambda cold start, first response ms (median): ours (home page) vs the stock Zappa "
        "package (/hello)",
        ("cold_start", "ours", "first_response_ms", "median"),
        ("cold_start", "reference", "first_response_ms", "median"),
        ("ratios", "cold_start_ours_to_reference"),
        "at most 0.8 x the reference",
        ("goals", "cold_start_at_most_0.8x_reference"),
    )
    yield comparison(
        r,
        "Lambda init duration ms (median, REPORT line): ours vs the stock Zappa package",
        ("cold_start", "ours", "init_duration_ms", "median"),
        ("cold_start", "reference", "init_duration_ms", "median"),
        ("ratios", "init_duration_ours_to_reference"),
    )
    yield comparison(
        r,
        "SnapStart, first response ms (median) after a local restore (runlambda --snapstart) "
        "vs the stock Zappa package's cold start",
        ("cold_start", "ours_restored", "first_response_ms", "median"),
        ("cold_start", "reference", "first_response_ms", "median"),
        ("ratios", "restored_first_response_to_reference_cold_start"),
        "at most 0.1 x the reference",
        ("goals", "restored_first_response_at_most_0.1x_reference_cold_start"),
    )
    yield comparison(
        r,
        "SnapStart, first response ms (median): after a local restore vs our cold start",
        ("cold_start", "ours_restored", "first_response_ms", "median"),
        ("cold_start", "ours", "first_response_ms", "median"),
        ("ratios", "restored_first_response_to_ours_cold_start"),
    )
    yield comparison(
        r,
        "SnapStart, first request ms (REPORT Duration, median) after a restore vs the warm "
        "median (home page)",
        ("cold_start", "ours_restored", "first_request_duration_ms", "median"),
        ("cold_start", "ours_restored", "warm_request_duration_ms", "median"),
        ("ratios", "first_request_to_warm_after_restore"),
        "at most 2 x warm",
        ("goals", "first_request_after_restore_at_most_2x_warm"),
    )
    yield comparison(
        r,
        "First request ms (REPORT Duration, median) after init vs the warm median (home page)",
        ("cold_start", "ours", "first_request_duration_ms", "median"),
        ("cold_start", "ours", "warm_request_duration_ms", "median"),
        ("ratios", "first_request_to_warm_after_init"),
        "at most 2 x warm",
        ("goals", "first_request_after_init_at_most_2x_warm"),
    )
    yield comparison(
        r,
        "Warm handler, /healthz us per invocation (median): our handler vs apig-wsgi",
        ("warm_healthz", "ours", "median_us"),
        ("warm_healthz", "apig-wsgi", "median_us"),
        ("ratios", "warm_ours_to_apig_wsgi"),
        "at most apig-wsgi's",
        ("goals", "warm_at_most_apig_wsgi"),
    )
    yield comparison(
        r,
        "Warm handler, /healthz us per invocation (median): our handler vs Zappa's",
        ("warm_healthz", "ours", "median_us"),
        ("warm_healthz", "zappa", "median_us"),
        ("ratios", "warm_ours_to_zappa"),
    )


def server_load_rows(r):
    yield comparison(
        r,
        "gunicorn /healthz requests/s (higher is better): full middleware stack vs a bare "
        "Django view",
        ("results", "amphibian /healthz", "requests_per_second"),
        ("results", "bare django /healthz", "requests_per_second"),
        ("amphibian_healthz_share_of_bare",),
    )


def sessions_rows(r):
    for scenario in ("read", "write"):
        for other, label in (("db", "Django's db engine"), ("cache", "Django's cache engine")):
            yield comparison(
                r,
                f"Session {scenario}, request p50 ms: our DynamoDB engine (local stack) vs "
                f"{label}",
                ("results", "dynamodb", scenario, "p50_ms"),
                ("results", other, scenario, "p50_ms"),
                ("ratios", scenario, f"dynamodb/{other}_p50_ms"),
            )


def tasks_import_rows(r):
    yield comparison(
        r,
        "Task enqueue path import ms (median), lambda target: ours vs zappa.asynchronous",
        ("results", "amphibian lambda backend", "median_ms"),
        ("results", "zappa.asynchronous", "median_ms"),
    )


def jwt_rows(r):
    yield comparison(
        r,
        "JWT verification us per token (median), first sight: verify_token vs PyJWT "
        "jwt.decode with a cryptography key, same checks",
        ("verification", OURS, "median_us"),
        ("verification", PYJWT, "median_us"),
        ("ratios", "verify_token_median_ours_to_pyjwt"),
    )
    yield comparison(
        r,
        "JWT verification us per token (median), a token seen before (an API client's next "
        "request; our signature check is cached) vs PyJWT as above",
        ("verification", OURS_REPEATED, "median_us"),
        ("verification", PYJWT, "median_us"),
        ("ratios", "verify_token_repeated_median_ours_to_pyjwt"),
    )
    yield comparison(
        r,
        f"RS256 signature step us (median): {OURS_SIGNATURE.removeprefix('ours: ')} (pure "
        f"Python) vs {PYJWT_SIGNATURE}",
        ("signature_step", OURS_SIGNATURE, "median_us"),
        ("signature_step", PYJWT_SIGNATURE, "median_us"),
        ("ratios", "signature_median_ours_to_pyjwt"),
    )
    yield comparison(
        r,
        "JWT path on a cold process, import + first verification ms (median): ours without "
        "cryptography (as packaged) vs PyJWT + cryptography",
        ("cold", OURS_PACKAGED, "import_and_first_verification_ms"),
        ("cold", PYJWT, "import_and_first_verification_ms"),
        ("ratios", "cold_import_and_first_verification_packaged_ours_to_pyjwt"),
        "verifies without cryptography",
        ("goals", "ours_verifies_without_cryptography"),
    )
    for scenario, row in r["jwks_fetches"].items():
        yield comparison(
            r,
            f"JWKS fetches per run (most in {row['runs']} runs), {row['threads']} threads x "
            f"{row['tokens']} tokens: {scenario}",
            ("jwks_fetches", scenario, "max_fetches"),
            goal=f"exactly {row['expected_fetches']} in every run",
            met=("jwks_fetches", scenario, "as_expected"),
        )


def upload_bytes_rows(r):
    megabytes = r["direct_upload"]["file_bytes"] // 1000**2
    yield comparison(
        r,
        f"Bytes through the function for a {megabytes} MB direct upload (both ways, headers "
        "included) vs the file's size",
        ("direct_upload", "function_bytes"),
        ("direct_upload", "file_bytes"),
        ("ratios", "function_bytes_to_file_bytes"),
        "no file bytes through the function",
        ("goals", "no_file_bytes_through_function"),
    )
    yield comparison(
        r,
        "Bytes S3 to function for the same file's background checksum (in-region, not "
        "through API Gateway) vs the file's size",
        ("direct_upload", "function_s3_bytes_incl_background_checksum", "from"),
        ("direct_upload", "file_bytes"),
    )
    for size in r["fallback_form"]:
        yield comparison(
            r,
            f"HTTP status, {size} file through the no-JavaScript form on Lambda (over the "
            "gateway's limits)",
            ("fallback_form", size, "status"),
            goal="413, function not invoked",
            met=("goals", "form_over_limits_refused_413_without_invoking"),
        )


ROWS = {
    "lambda": lambda_rows,
    "server_load": server_load_rows,
    "sessions": sessions_rows,
    "tasks_import": tasks_import_rows,
    "jwt": jwt_rows,
    "upload_bytes": upload_bytes_rows,
}


# --- rendering -----------------------------------------------------------------------------


def load(results_dir=RESULTS_DIR):
    """``{stem: result}`` of every JSON file, each with its ``name``."""
    return {
        path.stem: {**json.loads(path.read_text()), "name": path.stem}
        for path in sorted(Path(results_dir).glob("*.json"))
    }


def rows(results):
    return [row for name, build in ROWS.items() if name in results for row in build(results[name])]


def number(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def machine(result):
    """CPU, cores and Python; older results spelled the first two cpu_model and nproc."""
    described = result.get("machine", {})
    cpu = described.get("cpu", described.get("cpu_model", "?"))
    cores = described.get("cores", described.get("nproc", "?"))
    return f"{cpu}, {cores} cores, Python {described.get('python', '?')}"


def cell(text):
    return str(text).replace("|", "\\|")


def cost_model_files(results_dir=RESULTS_DIR):
    return [name for name in COST_MODEL if (Path(results_dir) / name).exists()]


def render(results, cost_model=()):
    lines = [
        "<!-- Generated by bench/report.py from bench/results/*.json. Do not edit by hand. -->",
        "# Benchmarks",
        "",
        "Generated from `bench/results/*.json` by `make bench` (every benchmark, then",
        "`python bench/report.py`); regenerate with `python bench/report.py` alone. Do not edit",
        "this file by hand: change a benchmark, run it, and regenerate.",
        "",
        "Absolute numbers vary between machines, so every comparison is measured side by side",
        "in one run (variants interleaved) and the ratio, ours / alternative, is the number to",
        "carry to another machine. Below 1 is smaller or faster, except requests/s, where it is",
        "the share of the alternative's throughput. Each row gives the command that produced it",
        "and when its result was written.",
        "",
        "| Comparison | Ours | Alternative | Ratio | Goal | Met | Machine | Command | Written |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows(results):
        result = results[row.result]
        fields = [
            row.comparison,
            number(row.ours),
            number(row.alternative),
            number(row.ratio),
            row.goal,
            number(row.met),
            machine(result),
            f"`{result['command']}`",
            result.get("written", result.get("date", "")),
        ]
        lines.append("| " + " | ".join(cell(field) for field in fields) + " |")
    lines += ["", "Results, with every number behind the table:", ""]
    lines += [f"- [{name}.json](results/{name}.json)" for name in results]
    if cost_model:
        links = ", ".join(f"[{name}](results/{name})" for name in cost_model)
        lines += ["", f"Cost model (`manage.py costmodel`): {links}."]
    return "\n".join(lines) + "\n"


def main():
    README.write_text(render(load(), cost_model_files()))
    print(f"wrote {README.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

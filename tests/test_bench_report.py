"""bench/report.py on the committed results: the table shows exactly what the JSON recorded.

Runs no benchmark; it reads bench/results/*.json only.
"""

import json

import pytest

from bench import report
from bench.record import RESULTS_DIR


@pytest.fixture(scope="module")
def results():
    return report.load()


@pytest.fixture(scope="module")
def rows(results):
    return report.rows(results)


def raw(name):
    return json.loads((RESULTS_DIR / f"{name}.json").read_text())


def row_about(rows, *words):
    matches = [row for row in rows if all(word in row.comparison for word in words)]
    assert len(matches) == 1, [row.comparison for row in matches]
    return matches[0]


def test_every_result_with_rows_is_in_the_table(results, rows):
    assert {row.result for row in rows} == set(report.ROWS) & set(results)
    assert {"lambda", "server_load", "sessions", "tasks_import", "jwt", "upload_bytes"} <= set(
        results
    )


def test_each_rows_numbers_are_the_json_values(rows):
    for row in rows:
        data = raw(row.result)
        assert row.ours == report.pick(data, row.ours_path), row.comparison
        if row.alternative_path:
            assert row.alternative == report.pick(data, row.alternative_path), row.comparison
        if row.ratio_path:
            assert row.ratio == report.pick(data, row.ratio_path), row.comparison
        if row.met_path:
            assert row.met == report.pick(data, row.met_path), row.comparison


def test_ratios_are_ours_over_the_alternative(rows):
    # A recorded ratio the other way round (alternative / ours) would read as its opposite.
    for row in rows:
        if row.alternative is not None:
            expected = row.ours / row.alternative
            assert row.ratio == pytest.approx(expected, rel=0.01, abs=0.006), row.comparison


def test_rows_take_the_numbers_the_benchmarks_name(rows):
    lambda_ = raw("lambda")
    cold = row_about(rows, "Lambda cold start")
    assert (cold.ours, cold.alternative, cold.ratio) == (
        lambda_["cold_start"]["ours"]["first_response_ms"]["median"],
        lambda_["cold_start"]["reference"]["first_response_ms"]["median"],
        lambda_["ratios"]["cold_start_ours_to_reference"],
    )
    apig = row_about(rows, "Warm handler", "apig-wsgi")
    assert apig.ratio == lambda_["ratios"]["warm_ours_to_apig_wsgi"]

    server = raw("server_load")["results"]
    stack = row_about(rows, "gunicorn")
    assert stack.ours == server["amphibian /healthz"]["requests_per_second"]
    assert stack.alternative == server["bare django /healthz"]["requests_per_second"]

    sessions = raw("sessions")
    write_vs_cache = row_about(rows, "Session write", "cache engine")
    assert write_vs_cache.ours == sessions["results"]["dynamodb"]["write"]["p50_ms"]
    assert write_vs_cache.ratio == sessions["ratios"]["write"]["dynamodb/cache_p50_ms"]

    tasks = raw("tasks_import")["results"]
    enqueue = row_about(rows, "Task enqueue")
    assert enqueue.ours == tasks["amphibian lambda backend"]["median_ms"]
    assert enqueue.alternative == tasks["zappa.asynchronous"]["median_ms"]

    jwt = raw("jwt")
    verification = row_about(rows, "JWT verification", "first sight")
    assert verification.ratio == jwt["ratios"]["verify_token_median_ours_to_pyjwt"]
    fetch_rows = [row for row in rows if row.comparison.startswith("JWKS fetches")]
    assert [row.ours for row in fetch_rows] == [
        scenario["max_fetches"] for scenario in jwt["jwks_fetches"].values()
    ]

    upload = raw("upload_bytes")
    direct = row_about(rows, "Bytes through the function")
    assert direct.ours == upload["direct_upload"]["function_bytes"]
    assert direct.alternative == upload["direct_upload"]["file_bytes"]
    assert direct.met is upload["goals"]["no_file_bytes_through_function"]


def test_rendered_table_has_one_line_per_row_with_its_numbers(results, rows):
    table = [line for line in report.render(results).splitlines() if line.startswith("| ")]
    lines = table[1:]  # after the header
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        assert cells[0] == row.comparison
        assert cells[1:4] == [report.number(row.ours), report.number(row.alternative),
                              report.number(row.ratio)]  # fmt: skip
        assert cells[6] == report.machine(results[row.result])
        assert cells[7] == f"`{results[row.result]['command']}`"
        assert "?" not in cells[6]


def test_committed_readme_is_the_generated_one(results):
    expected = report.render(results, report.cost_model_files())
    assert report.README.read_text() == expected, (
        "bench/README.md is stale or edited by hand: run `python bench/report.py`"
    )

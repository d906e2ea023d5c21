"""The cost model (deploy/tools/costs) and ``manage.py costmodel``: costs computed by hand,
break-evens where the curves cross, the command's outputs and its refusals.

The model's tests use their own round prices, so updating prices.json never breaks them.
"""

import copy
import io
import json
import re
import shlex
import sys

import pytest
from django.core.management import CommandError, call_command

from deploy.tools.costs import idle, model, report
from deploy.tools.costs.prices import DEFAULT_PRICES, PricesError, load_prices
from deploy.tools.costs.report import volume
from deploy.tools.harness.processes import ROOT, run_python, subprocess_env
from tests.support.cloudformation import load_parameters, load_template

PRICES = {
    "as_of": "2030-01-01",
    "sources": ["https://aws.amazon.com/lambda/pricing/"],
    "lambda": {
        "usd_per_million_requests": 0.2,
        "usd_per_gb_second": {
            "x86_64": [{"up_to": 1000, "usd": 0.00002}, {"up_to": None, "usd": 0.00001}],
            "arm64": [{"up_to": None, "usd": 0.000016}],
        },
        "free_tier": {"requests": 1_000_000, "gb_seconds": 400_000},
        "snapstart": {"cache_usd_per_gb_second": 0.000001, "restore_usd_per_gb": 0.0001},
    },
    "api_gateway": {
        "rest_v1_usd_per_million_requests": [
            {"up_to": 333, "usd": 3.5},
            {"up_to": 1000, "usd": 2.8},
            {"up_to": None, "usd": 2.38},
        ],
        "http_v2_usd_per_million_requests": [
            {"up_to": 300, "usd": 1.0},
            {"up_to": None, "usd": 0.9},
        ],
    },
    "cloudwatch_logs": {"usd_per_gb_ingested": 0.5, "lambda_platform_bytes_per_invocation": 300},
    "ec2": {
        "instances": {
            "m.large": {"vcpu": 2, "memory_gib": 8, "usd_per_hour": 0.1},
            "t.small": {"vcpu": 2, "memory_gib": 2, "usd_per_hour": 0.02, "baseline_cpu": 0.2},
        },
        "burstable_surplus_usd_per_vcpu_hour": 0.04,
    },
    "alb": {
        "usd_per_hour": 0.02,
        "usd_per_lcu_hour": 0.01,
        "lcu_new_connections_per_second": 25,
        "lcu_processed_gb_per_hour": 1,
    },
    "fargate": {
        "task": {"vcpu": 1, "memory_gb": 2},
        "x86_64": {"usd_per_vcpu_hour": 0.04, "usd_per_gb_hour": 0.005},
        "arm64": {"usd_per_vcpu_hour": 0.03, "usd_per_gb_hour": 0.004},
    },
    "rds": {
        "instances": {
            "db.t4g.micro": {"vcpu": 2, "usd_per_hour": 0.02},
            "db.large": {"vcpu": 4, "usd_per_hour": 0.1},
            "db.tiny": {"vcpu": 1, "usd_per_hour": 0.01},
        },
        "gp3_usd_per_gb_month": 0.1,
        "proxy_usd_per_vcpu_hour": 0.01,
        "proxy_min_vcpus": 2,
    },
    "vpc": {
        "nat_gateway_usd_per_hour": 0.05,
        "nat_gateway_usd_per_gb": 0.05,
        "interface_endpoint_usd_per_hour": 0.01,
        "interface_endpoint_usd_per_gb": 0.01,
        "public_ipv4_usd_per_hour": 0.005,
    },
    "waf": {"web_acl_usd_per_month": 5, "rule_usd_per_month": 1, "usd_per_million_requests": 0.6},
    "cloudwatch": {"alarm_usd_per_metric_month": 0.1, "dashboard_usd_per_month": 3},
    "secrets_manager": {"secret_usd_per_month": 0.4},
    "kms": {"key_usd_per_month": 1},
}
MONTH = model.SECONDS_PER_MONTH  # requests a month at 1 request/s


# The warm-duration examples: no cold start at all.
WARM = model.ColdStarts(init_ms=0, per_month=0)


def workload(**overrides):
    values = {
        "duration_ms": 15,
        "memory_mb": 1024,
        "arch": "x86_64",
        "server_rps": 400,
        "server_cores": 2,
    }
    return model.Workload(**{**values, **overrides})


# The fleet examples: 50 req/s per vCPU, half of it used, peaks twice the average.
FLEET_TRAFFIC = model.Traffic(peak_to_average=2, utilisation=0.5, min_instances=2, response_kb=30)


def test_lambda_bills_each_request_rounded_up_to_the_millisecond():
    # 1e6 x 13 ms x 1 GB = 13,000 GB-s: 1,000 at 0.00002 + 12,000 at 0.00001 = 0.14;
    # requests 0.20; START/END/REPORT lines 1e6 x 300 B = 0.3 GB at 0.50 = 0.15.
    assert model.lambda_cost(1e6, workload(duration_ms=12.3), PRICES, WARM) == pytest.approx(0.49)
    assert model.lambda_cost(1e6, workload(duration_ms=13), PRICES, WARM) == pytest.approx(0.49)
    # Half the memory: 6,500 GB-s = 0.02 + 5,500 x 0.00001 = 0.075.
    assert model.lambda_cost(1e6, workload(duration_ms=13, memory_mb=512), PRICES, WARM) == (
        pytest.approx(0.425)
    )


def test_lambda_on_arm64_uses_its_own_duration_price():
    # 1e6 x 10 ms x 2 GB = 20,000 GB-s at 0.000016 = 0.32, + 0.20 + 0.15.
    arm = workload(duration_ms=10, memory_mb=2048, arch="arm64")
    cost = model.lambda_cost(1e6, arm, PRICES, WARM)
    assert cost == pytest.approx(0.67)


def test_the_free_tier_comes_off_only_when_asked():
    # 2e6 x 100 ms x 1 GB = 200,000 GB-s, all free; 1e6 requests billed; logs are never free.
    free = workload(duration_ms=100, free_tier=True)
    assert model.lambda_cost(2e6, free, PRICES, WARM) == pytest.approx(0.2 + 0.3)
    # Without it: 0.40 + (0.02 + 199,000 x 0.00001) + 0.30.
    assert model.lambda_cost(2e6, workload(duration_ms=100), PRICES, WARM) == pytest.approx(2.71)


# Cold starts: 2 GB on arm64 (one duration tier at 0.000016), so every GB-second is priced alike.
ARM_2GB = {"duration_ms": 10, "memory_mb": 2048, "arch": "arm64"}


def test_on_demand_bills_each_cold_starts_init_at_the_duration_price():
    cold = model.ColdStarts(init_ms=250, per_month=1000)
    warm = model.lambda_cost(1e6, workload(**ARM_2GB), PRICES, WARM)
    # 1,000 cold starts x 0.25 s x 2 GB x 0.000016.
    assert model.lambda_cost(1e6, workload(**ARM_2GB), PRICES, cold) - warm == pytest.approx(
        1000 * 0.25 * 2 * 0.000016
    )
    # The INIT's GB-seconds come off the free tier like the handler's: 1e6 requests and
    # 20,500 GB-s are all free, only the log lines (0.3 GB) are billed.
    free = workload(**ARM_2GB, free_tier=True)
    assert model.lambda_cost(1e6, free, PRICES, cold) == pytest.approx(0.3 * 0.5)


def test_a_month_has_no_more_cold_starts_than_requests():
    cold = model.ColdStarts(init_ms=250, per_month=1000)
    assert cold.count(400) == 400
    assert cold.count(1e6) == 1000
    # 400 requests, each one a cold start: 400 x (10 + 250) ms x 2 GB.
    usd = model.lambda_cost(400, workload(**ARM_2GB), PRICES, cold)
    assert usd == pytest.approx(400 * 0.26 * 2 * 0.000016 + 400 * 0.2e-6 + 400 * 300e-9 * 0.5)


def test_snapstart_bills_its_cache_all_month_and_each_restore_per_gb():
    cold = model.ColdStarts(init_ms=250, restore_ms=40, per_month=1000, cached_versions=2)
    # Cache: 2 versions x 2 GB x every second of the month x 0.000001.
    cache = 2 * 2 * MONTH * 0.000001
    assert model.snapstart_cost(0, workload(**ARM_2GB), PRICES, cold) == pytest.approx(cache)
    # Restores: 1,000 x 2 GB x 0.0001 on top.
    assert model.snapstart_cost(1e6, workload(**ARM_2GB), PRICES, cold) == pytest.approx(
        cache + 1000 * 2 * 0.0001
    )
    # The function itself bills the billed restore duration in place of the INIT.
    usd = model.lambda_cost(1e6, workload(**ARM_2GB), PRICES, cold, snapstart=True)
    warm = model.lambda_cost(1e6, workload(**ARM_2GB), PRICES, WARM)
    assert usd - warm == pytest.approx(cache + 1000 * 2 * 0.0001 + 1000 * 0.04 * 2 * 0.000016)


def test_without_cold_starts_on_demand_is_the_cheaper_by_the_cache():
    cold = model.ColdStarts(init_ms=250, per_month=0)
    options = {
        option.name: option
        for option in model.options(workload(**ARM_2GB), model.Traffic(), PRICES, cold)
    }
    for api in ("REST v1", "HTTP v2"):
        on_demand, snapstart = options[f"Lambda+{api}"], options[f"SnapStart+{api}"]
        for requests in (1e5, 1e8):
            assert snapstart.cost(requests) - on_demand.cost(requests) == pytest.approx(
                2 * MONTH * 0.000001
            )


def test_snapstart_is_the_cheaper_at_many_cold_starts_only_when_init_outweighs_a_restore():
    # A restore (0.0001 per GB) plus 100 ms costs what 6.35 s of INIT does (0.000016 per GB-s).
    assert model.init_break_even_ms(
        workload(**ARM_2GB), model.ColdStarts(init_ms=0), PRICES
    ) == pytest.approx(6350)

    def costs(init_ms, per_month):
        cold = model.ColdStarts(init_ms=init_ms, restore_ms=100, per_month=per_month)
        options = model.options(workload(**ARM_2GB), model.Traffic(), PRICES, cold)
        by_name = {option.name: option.cost(1e9) for option in options}
        return by_name["Lambda+HTTP v2"], by_name["SnapStart+HTTP v2"]

    # A 10 s INIT (a JVM's): 1e6 cold starts save 1e6 x 2 GB x (10 - 6.35) s x 0.000016 = 116.8,
    # far above the cache (5.26); at 1,000 they save 0.12, below it.
    on_demand, snapstart = costs(10_000, 1e6)
    assert on_demand - snapstart == pytest.approx(116.8 - 2 * MONTH * 0.000001)
    on_demand, snapstart = costs(10_000, 1e3)
    assert snapstart > on_demand
    # Our INIT (a quarter of a second) is cheaper than any restore: more cold starts only widen it.
    few, many = costs(250, 1e3), costs(250, 1e6)
    assert many[1] - many[0] > few[1] - few[0] > 0


def test_api_gateway_tiers():
    assert model.api_gateway_cost(100e6, "rest_v1", PRICES) == pytest.approx(350)
    # 500 million crosses REST's first tier: 333 x 3.50 + 167 x 2.80.
    assert model.api_gateway_cost(500e6, "rest_v1", PRICES) == pytest.approx(1633.1)
    # and HTTP's: 300 x 1.00 + 200 x 0.90.
    assert model.api_gateway_cost(500e6, "http_v2", PRICES) == pytest.approx(480)
    assert model.api_gateway_cost(0, "http_v2", PRICES) == 0


@pytest.mark.parametrize(
    ("average_rps", "instances"),
    [
        (60, 3),  # peak 120 / (100 x 0.5) = 2.4: rounded up
        (75, 3),  # peak 150 / 50 = 3 exactly
        (75.01, 4),
        (1, 2),  # the minimum for availability
    ],
)
def test_fleet_size_covers_the_peak_at_the_target_utilisation(average_rps, instances):
    assert model.fleet_size(average_rps * MONTH, 100, FLEET_TRAFFIC) == instances


def test_an_exact_fit_buys_no_instance_for_floating_point_noise():
    traffic = model.Traffic(peak_to_average=3, utilisation=0.6)
    # 11 instances of 117.71 req/s at 60% make 11.000000000000002 without rounding.
    requests = 11 * 117.71 * 0.6 / 3 * MONTH
    assert model.fleet_size(requests, 117.71, traffic) == 11
    assert model.fleet_size(requests * 1.0001, 117.71, traffic) == 12


def test_a_fleet_of_one_is_allowed_when_asked():
    traffic = model.Traffic(peak_to_average=2, utilisation=0.5, min_instances=1)
    assert model.fleet_size(1 * MONTH, 100, traffic) == 1


def test_server_cost_is_the_fleet_plus_the_load_balancer():
    # m.large: 2 vCPU x 50 req/s = 100 req/s; 60 req/s average -> 3 instances (above).
    usd, instances = model.server_cost(
        60 * MONTH, 2, 0.1, workload(server_rps=100), FLEET_TRAFFIC, PRICES
    )
    assert instances == 3
    # ALB: 60 req/s x 3600 s x 30 kB = 6.48 GB/h = 6.48 LCU (connections: 60 / 25 = 2.4).
    alb = 730 * (0.02 + 6.48 * 0.01)
    assert usd == pytest.approx(730 * 3 * 0.1 + alb)


def test_the_load_balancer_counts_connections_when_responses_are_small():
    traffic = model.Traffic(response_kb=1)
    # 0.216 GB/h of bytes, but 60 new connections/s = 2.4 LCU.
    assert model.alb_cost(60 * MONTH, traffic, PRICES) == pytest.approx(730 * (0.02 + 0.024))


def test_burstable_instances_pay_for_cpu_above_their_baseline():
    traffic = model.Traffic(peak_to_average=1, utilisation=1, min_instances=2, response_kb=30)
    # 60 req/s on 2 x 100 req/s: 30% CPU, 10 points above the baseline on 2 x 2 vCPU.
    usd, instances = model.server_cost(
        60 * MONTH, 2, 0.02, workload(server_rps=100), traffic, PRICES, baseline_cpu=0.2
    )
    assert instances == 2
    surplus = 0.1 * 2 * 2 * 0.04
    assert usd == pytest.approx(
        730 * (2 * 0.02 + surplus) + model.alb_cost(60 * MONTH, traffic, PRICES)
    )
    # At the baseline nothing is added.
    usd, _ = model.server_cost(
        40 * MONTH, 2, 0.02, workload(server_rps=100), traffic, PRICES, baseline_cpu=0.2
    )
    assert usd == pytest.approx(730 * 2 * 0.02 + model.alb_cost(40 * MONTH, traffic, PRICES))


def test_options_cover_both_apis_every_instance_type_and_fargate_per_arch():
    options = model.options(workload(), model.Traffic(), PRICES, WARM)
    assert [(option.name, option.kind) for option in options] == [
        ("Lambda+REST v1", "lambda"),
        ("Lambda+HTTP v2", "lambda"),
        ("SnapStart+REST v1", "snapstart"),
        ("SnapStart+HTTP v2", "snapstart"),
        ("m.large", "server"),
        ("t.small", "server"),
        ("Fargate x86", "server"),
        ("Fargate arm", "server"),
    ]
    fargate_arm = options[-1]
    # 1 vCPU x 0.03 + 2 GB x 0.004 an hour per task, 2 tasks at low traffic.
    alb = model.alb_cost(1e5, model.Traffic(), PRICES)
    assert fargate_arm.monthly(1e5) == (pytest.approx(730 * 2 * 0.038 + alb), 2)
    http, snapstart_http = options[1], options[3]
    assert snapstart_http.label == "Lambda 1024 MB x86_64 SnapStart + API Gateway HTTP v2"
    assert http.monthly(1e6) == (
        pytest.approx(model.lambda_cost(1e6, workload(), PRICES, WARM) + 1.0),
        None,
    )


def test_break_even_of_straight_lines_is_where_they_meet():
    assert model.break_even(lambda n: n * 1e-6, lambda n: 100.0, 1e5, 1e10) == pytest.approx(1e8)


def test_break_even_is_the_last_crossing_when_a_step_puts_the_server_above_again():
    def server(n):
        return 100.0 if n < 2e8 else 300.0

    # Lambda passes 100 at 1e8, the server steps to 300 at 2e8, Lambda passes it at 3e8.
    assert model.break_even(lambda n: n * 1e-6, server, 1e5, 1e10) == pytest.approx(3e8)


def test_no_break_even_when_one_side_is_cheaper_throughout():
    assert model.break_even(lambda n: n * 1e-6, lambda n: 1e9, 1e5, 1e10) is None
    assert model.break_even(lambda n: n * 1e-6, lambda n: 0.0, 1e5, 1e10) is None


def test_break_even_of_lambda_and_a_fleet_is_where_their_costs_cross():
    traffic = model.Traffic()
    options = {option.name: option for option in model.options(workload(), traffic, PRICES, WARM)}
    http, server = options["Lambda+HTTP v2"], options["m.large"]
    found = model.break_even(http.cost, server.cost, 1e5, 1e10)
    # By hand, with the minimum 2 instances (400 req/s each, far above the peak):
    # server = 730 x (2 x 0.1 + 0.02) + 730 x 0.01 LCU-hours x 0.108 GB/h per req/s x N / MONTH;
    # Lambda + HTTP = N x (0.2e-6 + 0.015 GB-s x 1e-5 + 300e-9 GB x 0.5 + 1e-6) + 0.01
    # (the first 1,000 GB-s cost 0.00001 more each).
    lambda_per_request = 0.2e-6 + 0.015 * 1e-5 + 300e-9 * 0.5 + 1e-6
    alb_per_request = 730 * 0.01 * 0.108 / MONTH
    expected = (730 * 0.22 - 0.01) / (lambda_per_request - alb_per_request)
    assert found == pytest.approx(expected, rel=1e-6)
    assert server.monthly(found)[1] == 2
    for name, option in options.items():
        if option.kind != "server":
            continue
        for function in (options["Lambda+REST v1"], http):
            crossing = model.break_even(function.cost, option.cost, 1e5, 1e10)
            assert crossing is not None, name
            assert function.cost(crossing) == pytest.approx(option.cost(crossing), rel=0.01)
            assert function.cost(crossing * 0.99) < option.cost(crossing * 0.99)
            assert function.cost(crossing * 1.01) > option.cost(crossing * 1.01)


def test_the_committed_price_file_is_complete_and_dated():
    prices = load_prices(DEFAULT_PRICES)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", prices["as_of"])
    assert all(
        source.startswith(("https://aws.amazon.com/", "https://docs.aws.amazon.com/"))
        for source in prices["sources"]
    )
    # The us-east-1 SnapStart prices the model was written against (AWS's pricing page).
    assert prices["lambda"]["snapstart"] == {
        "cache_usd_per_gb_second": 0.0000015046,
        "restore_usd_per_gb": 0.0001397998,
    }
    assert {"t4g.small", "m7g.large", "m7i.large"} <= set(prices["ec2"]["instances"])
    # The template's default database class and instance type have prices.
    parameters = load_template()["Parameters"]
    assert parameters["DatabaseInstanceClass"]["Default"] in prices["rds"]["instances"]
    assert parameters["Ec2InstanceType"]["Default"] in prices["ec2"]["instances"]


def write_prices(path, prices):
    path.write_text(json.dumps(prices))
    return path


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: p.pop("alb"), r"alb\.usd_per_hour is missing"),
        (lambda p: p.pop("as_of"), r"as_of .* is missing"),
        (lambda p: p["ec2"]["instances"]["m.large"].pop("vcpu"), r"m\.large\.vcpu is missing"),
        (lambda p: p["lambda"].update(usd_per_million_requests="0.2"), r"is not a number"),
        (
            lambda p: p["api_gateway"]["http_v2_usd_per_million_requests"][-1].update(up_to=900),
            r"http_v2_usd_per_million_requests: the last tier needs up_to null",
        ),
        (
            lambda p: p["api_gateway"]["rest_v1_usd_per_million_requests"][1].update(up_to=100),
            r"up_to must increase",
        ),
        (lambda p: p["alb"].update(lcu_processed_gb_per_hour=0), r"must be > 0"),
        (lambda p: p["rds"].pop("instances"), r"rds\.instances has no instance types"),
        (
            lambda p: p["rds"]["instances"]["db.t4g.micro"].pop("vcpu"),
            r"db\.t4g\.micro\.vcpu is missing",
        ),
        (lambda p: p["vpc"].pop("public_ipv4_usd_per_hour"), r"vpc\.public_ipv4_usd_per_hour"),
        (
            lambda p: p["lambda"]["snapstart"].pop("restore_usd_per_gb"),
            r"lambda\.snapstart\.restore_usd_per_gb is missing",
        ),
    ],
)
def test_an_incomplete_price_file_is_named_on_load(tmp_path, damage, reason):
    prices = copy.deepcopy(PRICES)
    damage(prices)
    with pytest.raises(PricesError, match=reason):
        load_prices(write_prices(tmp_path / "prices.json", prices))


def test_a_price_file_that_is_not_json_or_absent(tmp_path):
    (tmp_path / "prices.json").write_text("{not json")
    with pytest.raises(PricesError, match="not valid JSON"):
        load_prices(tmp_path / "prices.json")
    with pytest.raises(PricesError, match="Cannot read"):
        load_prices(tmp_path / "absent.json")


# Every input as a flag: the command needs no file but the prices.
ALL_FLAGS = [
    "--duration-ms", "15", "--init-duration-ms", "250", "--memory-mb", "1024", "--arch", "x86_64",
    "--server-rps", "400", "--server-cores", "2",
]  # fmt: skip
# What the command builds from ALL_FLAGS: the restore duration assumed, the default cold starts.
ALL_FLAGS_COLD_STARTS = model.ColdStarts(init_ms=250)


def costmodel(*args):
    out = io.StringIO()
    call_command("costmodel", *args, stdout=out)
    return out.getvalue()


def test_command_writes_the_chart_and_the_table(tmp_path):
    prices = write_prices(tmp_path / "prices.json", PRICES)
    output = tmp_path / "out"
    printed = costmodel(*ALL_FLAGS, "--prices", str(prices), "--output", str(output))

    png = (output / "costmodel.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 30_000
    text = (output / "costmodel.txt").read_text()
    assert text in printed
    assert "as of 2030-01-01 (not yet checked against" in text
    compared = model.options(workload(), model.Traffic(), PRICES, ALL_FLAGS_COLD_STARTS)
    options = {option.name: option for option in compared}
    # The 1e8 row: every option's cost, servers with their fleet size.
    row = next(line for line in text.splitlines() if line.lstrip().startswith("1e8 "))
    m_large = options["m.large"].cost(1e8)
    assert re.search(rf"\s{m_large:.0f} \(2\)\s", row), row
    assert row.split()[3:7] == [
        report._usd(options[name].cost(1e8))
        for name in ("Lambda+REST v1", "Lambda+HTTP v2", "SnapStart+REST v1", "SnapStart+HTTP v2")
    ]
    # One break-even line per server option and Lambda option, at the model's crossing.
    for server in ("m.large", "t.small", "Fargate x86", "Fargate arm"):
        for api in ("Lambda+REST v1", "Lambda+HTTP v2", "SnapStart+REST v1", "SnapStart+HTTP v2"):
            crossing = model.break_even(options[api].cost, options[server].cost, 1e5, 1e10)
            assert re.search(
                rf"^  {re.escape(server)} +vs {re.escape(api)}: {volume(crossing)} requests/month",
                text,
                re.MULTILINE,
            )
    assert re.search(r"^  --server-rps +400 +flag$", text, re.MULTILINE)
    # The idle section: each world's total at the choices of the stage (--stage, default
    # prod: deploy/aws/parameters/prod.json).
    stage = json.loads((ROOT / "deploy/aws/parameters/prod.json").read_text())
    totals = [
        report._usd(
            sum(
                idle.idle_costs(PRICES, world, idle.Infrastructure.from_parameters(stage)).values()
            )
        )
        for world in idle.WORLDS
    ]
    assert re.search(rf"^  total +{totals[0]} +{totals[1]}$", text, re.MULTILINE), text
    assert re.search(r"^  --utilisation +0\.6 +default$", text, re.MULTILINE)


def test_command_defaults_come_from_the_bench_results_and_zappa_settings(tmp_path):
    text = costmodel("--duration-ms", "15", "--output", str(tmp_path))
    bench = json.loads((ROOT / "bench/results/server_load.json").read_text())
    rps = bench["results"]["amphibian home page /en/"]["requests_per_second"]
    stage = json.loads((ROOT / "zappa_settings.json").read_text())["prod"]
    assert re.search(
        rf"--server-rps +{rps:g} +bench/results/server_load.json, amphibian home page", text
    )
    assert re.search(
        rf"--server-cores +{bench['machine']['cores']:g} +bench/results/server_load.json", text
    )
    assert re.search(
        rf"--memory-mb +{stage['memory_size']} +zappa_settings.json, stage prod", text
    )
    assert re.search(r"--prices +deploy/tools/costs/prices.json +as of \d{4}-\d{2}-\d{2}", text)
    cold = json.loads((ROOT / "bench/results/lambda.json").read_text())["cold_start"]["ours"]
    init = cold["init_duration_ms"]["median"]
    assert re.search(
        rf"--init-duration-ms +{init:g} +bench/results/lambda.json, median Init", text
    )
    restored = json.loads((ROOT / "bench/results/lambda.json").read_text())["cold_start"].get(
        "ours_restored", {}
    )
    restore = (restored.get("billed_restore_duration_ms") or {}).get("median")
    if restore is None:
        shown = rf"{model.ASSUMED_RESTORE_MS:g} +assumed: bench/results/lambda.json has no"
    else:
        shown = rf"{restore:g} +bench/results/lambda.json, median Billed Restore Duration"
    assert re.search(rf"--restore-duration-ms +{shown}", text)
    assert re.search(rf"--cold-starts +{model.DEFAULT_COLD_STARTS:g} +default", text)
    assert (tmp_path / "costmodel.png").exists()


LAMBDA_OPTIONS = ("Lambda+REST v1", "Lambda+HTTP v2", "SnapStart+REST v1", "SnapStart+HTTP v2")


def test_cold_start_flags_reach_the_model_and_the_report(tmp_path):
    prices = write_prices(tmp_path / "prices.json", PRICES)
    flags = ["--restore-duration-ms", "60", "--cold-starts", "50000", "--cached-versions", "2"]
    text = costmodel(*ALL_FLAGS, *flags, "--prices", str(prices), "--output", str(tmp_path))
    for flag, value in (
        ("--init-duration-ms", "250"),
        ("--restore-duration-ms", "60"),
        ("--cold-starts", "50000"),
        ("--cached-versions", "2"),
    ):
        assert re.search(rf"^  {flag} +{value} +flag$", text, re.MULTILINE), flag
    cold = model.ColdStarts(init_ms=250, restore_ms=60, per_month=50_000, cached_versions=2)
    options = {o.name: o for o in model.options(workload(), model.Traffic(), PRICES, cold)}
    # The 1e8 row: its cold starts, then each Lambda option's cost.
    row = next(line for line in text.splitlines() if line.lstrip().startswith("1e8 "))
    costs = [report._usd(options[name].cost(1e8)) for name in LAMBDA_OPTIONS]
    assert row.split()[2:7] == ["5e4", *costs]
    # 250 ms x 1 GB x 0.00002 = 0.005 per 1,000 on demand; 0.1 + 0.0012 with SnapStart.
    assert (
        "  per 1,000 cold starts: 0.005 USD on demand (INIT 250 ms), 0.101 USD with SnapStart "
        "(1 GB restored, 60 ms billed restore), at the first duration tier;"
    ) in text
    assert f"  the cache of 2 versions of 1 GB: {2 * MONTH * 0.000001:.2f} USD a month." in text
    # 0.0001 per GB restored is 5 s of INIT at 0.00002 per GB-s, plus the 60 ms.
    assert (
        "  SnapStart never pays for its cache here: a restore is the cheaper only in place of an "
        "INIT over 5,060 ms."
    ) in text
    for api in ("REST v1", "HTTP v2"):
        assert re.search(
            rf"^  SnapStart\+{api} +vs Lambda\+{api}: none, Lambda\+{api} is cheaper up to 1e10$",
            text,
            re.MULTILINE,
        )
    assert "--cold-starts 50000 --cached-versions 2" in text.splitlines()[0]


def test_a_long_init_makes_snapstart_the_cheaper_above_a_volume(tmp_path):
    prices = write_prices(tmp_path / "prices.json", PRICES)
    flags = ["--init-duration-ms", "20000", "--restore-duration-ms", "60", "--from", "1e3"]
    flags += ["--cold-starts", "1e6"]
    text = costmodel(*ALL_FLAGS, *flags, "--prices", str(prices), "--output", str(tmp_path))
    cold = model.ColdStarts(init_ms=20_000, restore_ms=60, per_month=1e6)
    on_demand, snapstart = model.cold_start_costs(workload(), cold, PRICES)
    cache = model.snapstart_cost(0, workload(), PRICES, cold)
    assert (
        f"  SnapStart pays for its cache above {cache / (on_demand - snapstart):,.0f} cold starts "
        "a month (a restore is the cheaper only in place of an INIT over 5,060 ms)."
    ) in text
    options = {o.name: o for o in model.options(workload(), model.Traffic(), PRICES, cold)}
    for api in ("REST v1", "HTTP v2"):
        function, snapstart_option = options[f"Lambda+{api}"], options[f"SnapStart+{api}"]
        crossing = model.break_even(function.cost, snapstart_option.cost, 1e3, 1e10)
        assert crossing is not None
        assert snapstart_option.cost(crossing * 1.01) < function.cost(crossing * 1.01)
        assert re.search(
            rf"^  SnapStart\+{api} +vs Lambda\+{api}: {volume(crossing)} requests/month",
            text,
            re.MULTILINE,
        )


def test_the_report_heads_with_the_command_that_writes_it_again(tmp_path):
    prices = write_prices(tmp_path / "prices.json", PRICES)
    output = tmp_path / "out"
    first = costmodel(
        *ALL_FLAGS, "--cold-starts", "0", "--free-tier", "--prices", str(prices),
        "--output", str(output),
    )  # fmt: skip
    command = re.fullmatch(r"Written by `(.*)`\.", first.splitlines()[0])
    assert command, first.splitlines()[0]
    words = shlex.split(command.group(1))
    assert words[:3] == ["python", "manage.py", "costmodel"]
    assert "--free-tier" in words
    assert costmodel(*words[3:]) == first
    # No cold start is a month the model prices (a function kept warm).
    row = next(line for line in first.splitlines() if line.lstrip().startswith("1e8 "))
    assert row.split()[2] == "0"


def test_a_recorded_restore_duration_is_read_and_a_missing_init_is_named(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    flags = [
        "--duration-ms", "15", "--memory-mb", "1024", "--arch", "x86_64",
        "--server-rps", "400", "--server-cores", "2", "--output", str(tmp_path),
    ]  # fmt: skip
    with pytest.raises(
        CommandError, match=r"lambda\.json is missing: run `make bench-lambda`, or pass --init"
    ):
        costmodel(*flags)
    bench = tmp_path / "bench/results/lambda.json"
    bench.parent.mkdir(parents=True)
    bench.write_text(json.dumps({"cold_start": {"ours": {}}}))
    with pytest.raises(CommandError, match=r"no cold_start\.ours\.init_duration_ms\.median"):
        costmodel(*flags)
    timings = {
        "ours": {"init_duration_ms": {"median": 300.5}},
        "ours_restored": {"billed_restore_duration_ms": {"median": 42.5}},
    }
    bench.write_text(json.dumps({"cold_start": timings}))
    text = costmodel(*flags)
    assert re.search(r"^  --init-duration-ms +300\.5 +bench/results/lambda", text, re.MULTILINE)
    assert re.search(
        r"^  --restore-duration-ms +42\.5 +bench/results/lambda.json, median Billed Restore "
        r"Duration \(local runtime\)$",
        text,
        re.MULTILINE,
    )


def test_flags_replace_missing_bench_files(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    text = costmodel(*ALL_FLAGS, "--output", str(tmp_path), "--from", "1e6", "--to", "1e8")
    rows = [line.split()[0] for line in text.splitlines() if re.match(r"\s+1e\d ", line)]
    assert rows == ["1e6", "1e7", "1e8"]


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--duration-ms", "0"], r"--duration-ms must be a number > 0, got 0\.0 \(flag\)"),
        (["--memory-mb", "-512"], r"--memory-mb must be a number > 0"),
        (["--server-rps", "0"], r"--server-rps must be a number > 0"),
        (["--server-cores", "-2"], r"--server-cores must be a number > 0"),
        (["--min-instances", "0"], r"--min-instances must be a number > 0"),
        (["--response-kb", "-1"], r"--response-kb must be a number > 0"),
        (["--utilisation", "1.5"], r"--utilisation is a share of capacity, at most 1"),
        (["--peak-to-average", "0.5"], r"--peak-to-average is at least 1"),
        (["--from", "1e9", "--to", "1e8"], r"--from \(1e\+09\) must be below --to"),
        (["--init-duration-ms", "0"], r"--init-duration-ms must be a number > 0"),
        (["--restore-duration-ms", "-5"], r"--restore-duration-ms must be a number > 0"),
        (["--cold-starts", "-1"], r"--cold-starts must be a number >= 0, got -1\.0 \(flag\)"),
        (["--cached-versions", "0"], r"--cached-versions must be a number > 0, got 0 \(flag\)"),
    ],
)
def test_bad_numbers_are_refused_with_the_reason(tmp_path, args, reason):
    with pytest.raises(CommandError, match=reason):
        costmodel(*ALL_FLAGS, *args, "--output", str(tmp_path))
    assert not (tmp_path / "costmodel.txt").exists()


def test_without_a_duration_it_is_estimated_from_the_server_benchmark(tmp_path):
    text = costmodel("--output", str(tmp_path))
    bench = json.loads((ROOT / "bench/results/server_load.json").read_text())
    rps = bench["results"]["amphibian home page /en/"]["requests_per_second"]
    memory = json.loads((ROOT / "zappa_settings.json").read_text())["prod"]["memory_size"]
    # cores / rps seconds of CPU per page, at memory/1769 of a vCPU.
    expected = bench["machine"]["cores"] / rps * 1000 / (memory / 1769)
    assert re.search(
        rf"^  --duration-ms +{round(expected, 1):g} +server CPU per page at {memory}/1769",
        text,
        re.MULTILINE,
    )


def test_the_duration_estimate_uses_at_most_one_vcpu():
    assert model.duration_from_server(100, 2, 1769) == pytest.approx(20)
    assert model.duration_from_server(100, 2, 884.5) == pytest.approx(40)
    assert model.duration_from_server(100, 2, 10240) == pytest.approx(20)


def test_missing_bench_files_without_flags_are_named(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    with pytest.raises(CommandError, match=r"zappa_settings\.json is missing: pass --memory-mb"):
        costmodel("--duration-ms", "15", "--output", str(tmp_path))
    with pytest.raises(
        CommandError, match=r"server_load\.json is missing: run `make bench-server`, or pass"
    ):
        costmodel("--duration-ms", "15", "--memory-mb", "512", "--arch", "arm64")


def test_a_bench_file_without_the_page_result_is_named(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    (tmp_path / "bench/results").mkdir(parents=True)
    (tmp_path / "bench/results/server_load.json").write_text(json.dumps({"results": {}}))
    with pytest.raises(CommandError, match=r"no 'amphibian home page /en/' requests_per_second"):
        costmodel("--duration-ms", "15", "--memory-mb", "512", "--arch", "arm64")


def test_an_unknown_zappa_stage_is_named(tmp_path):
    with pytest.raises(CommandError, match=r"no stage 'staging'"):
        costmodel("--duration-ms", "15", "--stage", "staging", "--output", str(tmp_path))


def test_an_incomplete_price_file_is_a_command_error(tmp_path):
    prices = copy.deepcopy(PRICES)
    del prices["fargate"]["arm64"]
    path = write_prices(tmp_path / "prices.json", prices)
    with pytest.raises(CommandError, match=r"fargate\.arm64\.usd_per_vcpu_hour is missing"):
        costmodel(*ALL_FLAGS, "--prices", str(path), "--output", str(tmp_path))


def test_without_matplotlib_the_table_is_still_written(monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(CommandError, match=r"pip install matplotlib`, or run this from the dev"):
        costmodel(*ALL_FLAGS, "--output", str(tmp_path))
    assert "Break-even" in (tmp_path / "costmodel.txt").read_text()
    assert not (tmp_path / "costmodel.png").exists()


def test_the_command_does_not_import_matplotlib():
    result = run_python(
        "import sys, django; django.setup(); "
        "import deploy.tools.management.commands.costmodel; "
        "print('matplotlib' in sys.modules)",
        subprocess_env(DJANGO_SETTINGS_MODULE="project.settings.test"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


# The idle infrastructure (deploy/tools/costs/idle.py), with the round prices above.
HOURS = model.HOURS_PER_MONTH


def test_the_lambda_worlds_idle_cost_by_hand():
    costs = idle.idle_costs(PRICES, "lambda", idle.Infrastructure())
    assert costs == pytest.approx(
        {
            "database instance": 0.02 * HOURS,
            "database storage": 20 * 0.1,
            "database secret": 0.4,
            # 2 vCPUs at 0.01 an hour.
            "database proxy": 2 * 0.01 * HOURS,
            "NAT gateway": 0.05 * HOURS,
            "NAT public IPv4": 0.005 * HOURS,
            "alarms": 12 * 0.1,
            "dashboard": 3,
            "alarm topic key": 1,
        }
    )


def test_the_proxy_bills_at_least_two_vcpus_and_multi_az_doubles_the_database():
    tiny = idle.idle_costs(PRICES, "lambda", idle.Infrastructure(database_class="db.tiny"))
    assert tiny["database proxy"] == pytest.approx(2 * 0.01 * HOURS)
    large = idle.Infrastructure(database_class="db.large", database_multi_az=True)
    costs = idle.idle_costs(PRICES, "lambda", large)
    assert costs["database proxy"] == pytest.approx(4 * 0.01 * HOURS)
    assert costs["database instance"] == pytest.approx(2 * 0.1 * HOURS)
    assert costs["database storage"] == pytest.approx(2 * 20 * 0.1)


def test_the_server_world_pays_the_load_balancer_and_its_fleet_but_no_proxy():
    fargate = idle.idle_costs(PRICES, "server", idle.Infrastructure())
    assert "database proxy" not in fargate
    assert fargate["load balancer"] == pytest.approx(0.02 * HOURS)
    assert fargate["load balancer public IPv4"] == pytest.approx(2 * 0.005 * HOURS)
    # Two tasks of 0.5 vCPU x 0.04 + 1 GB x 0.005 (x86_64).
    assert fargate["Fargate tasks (2)"] == pytest.approx(2 * (0.5 * 0.04 + 0.005) * HOURS)
    assert fargate["alarms"] == pytest.approx(11 * 0.1)
    ec2 = idle.Infrastructure(server="t.small", server_count=3)
    assert idle.idle_costs(PRICES, "server", ec2)["EC2 t.small (3)"] == pytest.approx(
        3 * 0.02 * HOURS
    )


def test_endpoints_replace_the_nat_gateway_per_world_and_az():
    endpoints = idle.Infrastructure(egress="endpoints")
    lambda_costs = idle.idle_costs(PRICES, "lambda", endpoints)
    assert "NAT gateway" not in lambda_costs
    # ssm, secretsmanager, lambda in 2 AZs.
    assert lambda_costs["interface endpoints"] == pytest.approx(3 * 2 * 0.01 * HOURS)
    # ssm, secretsmanager, logs, ecr.api, ecr.dkr.
    server = idle.idle_costs(PRICES, "server", endpoints)["interface endpoints"]
    assert server == pytest.approx(5 * 2 * 0.01 * HOURS)


def test_prod_adds_the_web_acl_and_a_rest_apis_alarms():
    prod = idle.Infrastructure(waf=True, rest_api=True)
    costs = idle.idle_costs(PRICES, "lambda", prod)
    assert costs["web ACL"] == pytest.approx(5 + 4 * 1)
    assert costs["alarms"] == pytest.approx((12 + 3) * 0.1)
    # The REST API's alarms are the function world's.
    assert idle.idle_costs(PRICES, "server", prod)["alarms"] == pytest.approx(11 * 0.1)


@pytest.mark.parametrize(
    ("world", "infrastructure", "reason"),
    [
        ("batch", idle.Infrastructure(), r"world must be one of"),
        ("lambda", idle.Infrastructure(database_class="db.huge"), r"No price for the database"),
        (
            "server",
            idle.Infrastructure(server="x9.mega"),
            r"No price for the instance type 'x9\.mega'",
        ),
        (
            "server",
            idle.Infrastructure(server="t.small", egress="endpoints"),
            r"EC2 instances need egress nat",
        ),
        (
            "lambda",
            idle.Infrastructure(egress="vpn"),
            r"egress must be nat or endpoints",
        ),
    ],
)
def test_choices_without_a_price_are_refused_with_the_reason(world, infrastructure, reason):
    with pytest.raises(idle.IdleCostError, match=reason):
        idle.idle_costs(PRICES, world, infrastructure)


def test_the_infrastructure_defaults_are_the_templates():
    template = load_template()
    parameters = template["Parameters"]
    defaults = idle.Infrastructure()
    assert defaults.database_class == parameters["DatabaseInstanceClass"]["Default"]
    assert str(defaults.database_multi_az).lower() == parameters["DatabaseMultiAz"]["Default"]
    assert defaults.egress == parameters["PrivateEgress"]["Default"]
    assert defaults.server_count == parameters["DesiredCount"]["Default"]
    database = template["Resources"]["Database"]["Properties"]
    assert defaults.database_storage_gb == int(database["AllocatedStorage"])
    task = template["Resources"]["TaskDefinition"]["Properties"]
    assert (defaults.task_vcpu, defaults.task_memory_gb) == (
        int(task["Cpu"]) / 1024,
        int(task["Memory"]) / 1024,
    )


def test_a_stages_parameter_file_sets_its_infrastructure():
    prod = idle.Infrastructure.from_parameters(load_parameters("prod"))
    assert (prod.database_multi_az, prod.waf, prod.rest_api) == (True, True, True)
    assert (prod.server, prod.server_count) == ("fargate", 2)
    dev = idle.Infrastructure.from_parameters(load_parameters("dev"))
    assert (dev.database_multi_az, dev.waf, dev.rest_api) == (False, False, False)
    ec2 = idle.Infrastructure.from_parameters(
        {"EnableEc2": "true", "Ec2InstanceType": "t.small", "Ec2DesiredCapacity": "3"}
    )
    assert (ec2.server, ec2.server_count) == ("t.small", 3)


def alarm_metrics(alarm, condition_true):
    """Metrics an alarm reads (what CloudWatch bills), with ``condition_true`` deciding !If."""
    properties = alarm["Properties"]
    if "Metrics" not in properties:
        return 1
    count = 0
    for metric in properties["Metrics"]:
        if "Fn::If" in metric:
            condition, then, _ = metric["Fn::If"]
            metric = then if condition_true(condition) else {}
        count += "MetricStat" in metric
    return count


def test_the_alarm_and_endpoint_counts_are_the_templates():
    template = load_template()
    alarms = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }

    def namespaces(alarm):
        return {
            m["MetricStat"]["Metric"]["Namespace"]
            for m in alarm["Properties"].get("Metrics", [])
            if "MetricStat" in m
        } | {alarm["Properties"].get("Namespace")}

    def metrics(condition, data_only=False):
        """Metrics of the alarms behind ``condition``; the ALB's counted for ECS targets."""
        return sum(
            alarm_metrics(alarm, lambda name: name == "CreateEcs")
            for alarm in alarms.values()
            if alarm.get("Condition") == condition
            and (not data_only or namespaces(alarm) & {"AWS/DynamoDB", "AWS/RDS"})
        )

    assert metrics(None) == idle.ALARM_METRICS["lambda"]
    assert metrics("IsRestApi") == idle.REST_API_ALARM_METRICS
    # The servers' world: the tables' and database's alarms, and the ALB's.
    server = metrics(None, data_only=True) + metrics("HasLoadBalancer")
    assert server == idle.ALARM_METRICS["server"]
    rules = template["Resources"]["WebAcl"]["Properties"]["Rules"]
    assert len(rules) == idle.WAF_RULES
    services = {}
    for resource in template["Resources"].values():
        properties = resource.get("Properties", {})
        if properties.get("VpcEndpointType") == "Interface":
            service = properties["ServiceName"]["Fn::Sub"].split("${AWS::Region}.")[1]
            services.setdefault(resource["Condition"], set()).add(service)
    assert services["UseEndpoints"] == set(idle.ENDPOINTS["lambda"])
    assert services["UseEndpoints"] | services["UseEndpointsForEcs"] >= set(
        idle.ENDPOINTS["server"]
    )

"""Load the price file and check it has every price the model reads, so a hand edit that drops
or mistypes one is named on load instead of failing halfway through a chart."""

import json
from pathlib import Path

DEFAULT_PRICES = Path(__file__).with_name("prices.json")
ARCHITECTURES = ("x86_64", "arm64")

NUMBERS = (
    "lambda.usd_per_million_requests",
    "lambda.free_tier.requests",
    "lambda.free_tier.gb_seconds",
    "lambda.snapstart.cache_usd_per_gb_second",
    "lambda.snapstart.restore_usd_per_gb",
    "cloudwatch_logs.usd_per_gb_ingested",
    "cloudwatch_logs.lambda_platform_bytes_per_invocation",
    "ec2.burstable_surplus_usd_per_vcpu_hour",
    "alb.usd_per_hour",
    "alb.usd_per_lcu_hour",
    "alb.lcu_new_connections_per_second",
    "alb.lcu_processed_gb_per_hour",
    "fargate.task.vcpu",
    "fargate.task.memory_gb",
    *(f"fargate.{arch}.usd_per_{unit}_hour" for arch in ARCHITECTURES for unit in ("vcpu", "gb")),
    # The idle infrastructure (idle.py).
    "rds.gp3_usd_per_gb_month",
    "rds.proxy_usd_per_vcpu_hour",
    "rds.proxy_min_vcpus",
    "vpc.nat_gateway_usd_per_hour",
    "vpc.nat_gateway_usd_per_gb",
    "vpc.interface_endpoint_usd_per_hour",
    "vpc.interface_endpoint_usd_per_gb",
    "vpc.public_ipv4_usd_per_hour",
    "waf.web_acl_usd_per_month",
    "waf.rule_usd_per_month",
    "waf.usd_per_million_requests",
    "cloudwatch.alarm_usd_per_metric_month",
    "cloudwatch.dashboard_usd_per_month",
    "secrets_manager.secret_usd_per_month",
    "kms.key_usd_per_month",
)
TIERS = (
    *(f"lambda.usd_per_gb_second.{arch}" for arch in ARCHITECTURES),
    "api_gateway.rest_v1_usd_per_million_requests",
    "api_gateway.http_v2_usd_per_million_requests",
)
INSTANCE_NUMBERS = ("vcpu", "memory_gib", "usd_per_hour")
DATABASE_NUMBERS = ("vcpu", "usd_per_hour")
# Capacities and divisors: zero would mean an option that serves nothing or a division by zero.
POSITIVE = {
    "alb.lcu_new_connections_per_second",
    "alb.lcu_processed_gb_per_hour",
    "fargate.task.vcpu",
    "fargate.task.memory_gb",
}


class PricesError(ValueError):
    """The price file is missing, not JSON, or lacks a price the model needs."""


def load_prices(path=DEFAULT_PRICES):
    """The price file at ``path`` as a dict, after checking every key the model reads."""
    try:
        prices = json.loads(Path(path).read_text())
    except OSError as exc:
        raise PricesError(f"Cannot read the price file {path}: {exc.strerror}.") from None
    except ValueError as exc:
        raise PricesError(f"The price file {path} is not valid JSON: {exc}.") from None
    if not isinstance(prices, dict):
        raise PricesError(f"The price file {path} must hold a JSON object.")
    problems = _problems(prices)
    if problems:
        raise PricesError(f"The price file {path} is incomplete: {'; '.join(problems)}.")
    return prices


def _problems(prices):
    problems = []
    if not isinstance(prices.get("as_of"), str):
        problems.append("as_of (the date the prices were copied) is missing")
    if not prices.get("sources"):
        problems.append("sources (the pricing pages) is missing")
    for name in NUMBERS:
        problems += _number(_lookup(prices, name), name, positive=name in POSITIVE)
    for name in TIERS:
        problems += _tiers(_lookup(prices, name), name)
    problems += _instances(prices, "rds.instances", DATABASE_NUMBERS)
    instances = _lookup(prices, "ec2.instances")
    problems += _instances(prices, "ec2.instances", INSTANCE_NUMBERS)
    for instance_type, instance in (instances or {}).items():
        if isinstance(instance, dict) and "baseline_cpu" in instance:
            problems += _number(
                instance["baseline_cpu"], f"ec2.instances.{instance_type}.baseline_cpu"
            )
    return problems


def _instances(prices, name, numbers):
    """Problems of the ``{type: {number: value}}`` table at ``name`` (each number > 0)."""
    instances = _lookup(prices, name)
    if not isinstance(instances, dict) or not instances:
        return [f"{name} has no instance types"]
    problems = []
    for instance_type, instance in instances.items():
        prefix = f"{name}.{instance_type}"
        if not isinstance(instance, dict):
            problems.append(f"{prefix} is not an object")
            continue
        for key in numbers:
            problems += _number(instance.get(key), f"{prefix}.{key}", positive=True)
    return problems


def _lookup(prices, dotted):
    value = prices
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _number(value, name, positive=False):
    if value is None:
        return [f"{name} is missing"]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{name} is not a number"]
    if value < 0 or (positive and value == 0):
        return [f"{name} must be {'> 0' if positive else '>= 0'}"]
    return []


def _tiers(tiers, name):
    if not isinstance(tiers, list) or not tiers:
        return [f"{name} is missing (a list of {{up_to, usd}} tiers)"]
    problems = []
    for index, tier in enumerate(tiers):
        if not isinstance(tier, dict):
            return [f"{name}[{index}] is not an object"]
        problems += _number(tier.get("usd"), f"{name}[{index}].usd")
    bounds = [tier.get("up_to") for tier in tiers]
    if bounds[-1] is not None:
        problems.append(f"{name}: the last tier needs up_to null")
    limits = bounds[:-1]
    if any(isinstance(b, bool) or not isinstance(b, int | float) for b in limits):
        problems.append(f"{name}: every tier but the last needs a numeric up_to")
    elif any(b <= a for a, b in zip([0, *limits], limits, strict=False)):
        problems.append(f"{name}: up_to must increase from tier to tier")
    return problems

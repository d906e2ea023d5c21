"""Monthly cost of each deploy option at a given number of requests a month, and break-even.

Pure functions of numbers and the price dict (``prices.load_prices``). Assumptions:

- A month is 730 hours, as on AWS's pricing pages; traffic is spread over it with an average
  rate and a peak of ``peak_to_average`` times that.
- Lambda bills every request at the measured warm duration, measured at ``memory_mb``; without
  one, it is derived from the server benchmark (``duration_from_server``). Each cold start adds,
  on demand, its INIT phase at the same GB-second price (billed since 1 August 2025, managed
  runtimes included); with SnapStart, a restore per GB of memory and the billed restore duration
  instead, plus the cache of every published version kept all month (``ColdStarts``).
- A server fleet is static, sized for the peak at the target utilisation, with at least
  ``min_instances``: one instance serves the benchmark's requests/s per core times its vCPUs
  (a vCPU of any family, Graviton or x86, counts as one of the benchmark machine's cores).
- Costs every option shares (data transfer out, the database, DynamoDB, S3) are left out.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

HOURS_PER_MONTH = 730
# Lambda allocates CPU in proportion to memory: one full vCPU at 1,769 MB (AWS's figure).
MB_PER_LAMBDA_VCPU = 1769
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
GB = 1e9
# Cold starts follow execution environments, not requests: a page of a few ms needs a handful of
# environments even at 1e9 requests a month, so a share of requests would invent millions of
# cold starts at the top of the range. The default, one every 5 minutes around the clock, is the
# most a lone environment restarts if Lambda reclaims it after each 5-minute idle gap (AWS
# publishes neither that timeout nor an environment's lifetime); pass CloudWatch's count once
# there is traffic.
DEFAULT_COLD_STARTS = SECONDS_PER_MONTH / 300
# SnapStart's Billed Restore Duration (the runtime's load and the after-restore hooks) until
# bench/results/lambda.json records one. Assumed, not measured.
ASSUMED_RESTORE_MS = 100.0


@dataclass(frozen=True)
class Workload:
    """What one request costs, measured: on Lambda and on the benchmarked server."""

    duration_ms: float
    memory_mb: float
    arch: str
    server_rps: float
    server_cores: float
    free_tier: bool = False

    @property
    def rps_per_vcpu(self):
        return self.server_rps / self.server_cores


@dataclass(frozen=True)
class Traffic:
    """How requests arrive over a month, and the headroom a server fleet keeps."""

    peak_to_average: float = 3.0
    utilisation: float = 0.6
    min_instances: int = 2
    response_kb: float = 30.0


@dataclass(frozen=True)
class ColdStarts:
    """New execution environments a month and what starting one costs, on demand (the REPORT
    line's Init Duration) or restored from a SnapStart snapshot (its Billed Restore Duration)."""

    init_ms: float
    restore_ms: float = ASSUMED_RESTORE_MS
    per_month: float = DEFAULT_COLD_STARTS
    cached_versions: int = 1  # the live alias's version; older ones are pruned

    def count(self, requests):
        """Cold starts in a month of ``requests``: each one serves a request, so never more."""
        return min(requests, self.per_month)


@dataclass(frozen=True)
class Option:
    """One way to run the site. ``monthly(requests)`` is ``(usd, instances)``, with
    ``instances`` ``None`` for Lambda."""

    name: str
    label: str
    kind: str  # "lambda" (on demand), "snapstart" or "server"
    monthly: Callable[[float], tuple[float, int | None]]

    def cost(self, requests):
        return self.monthly(requests)[0]


def average_rps(requests):
    return requests / SECONDS_PER_MONTH


def tiered(quantity, tiers):
    """Cost of ``quantity`` under marginal tiers ``[{"up_to": cumulative or None, "usd": x}]``."""
    cost, floor = 0.0, 0.0
    for tier in tiers:
        ceiling = math.inf if tier["up_to"] is None else tier["up_to"]
        if quantity <= floor:
            break
        cost += (min(quantity, ceiling) - floor) * tier["usd"]
        floor = ceiling
    return cost


def lambda_cost(requests, workload, prices, cold_starts, snapstart=False):
    """The function's own monthly cost: requests, GB-seconds and its platform log lines, and
    with ``snapstart`` the snapshot's cache and restores (``snapstart_cost``).

    Each invocation is billed its duration rounded up to 1 ms at ``memory_mb / 1024`` GB, and
    each cold start its INIT phase (on demand) or its billed restore duration (SnapStart) at the
    same tiered price. Lambda writes START/END/REPORT lines for every invocation into CloudWatch
    Logs; the app's own log lines are left out, as a server fleet ships the same ones. With
    ``free_tier`` the monthly always-free grant comes off the requests and GB-seconds first.
    """
    rates = prices["lambda"]
    start_ms = cold_starts.restore_ms if snapstart else cold_starts.init_ms
    cold = cold_starts.count(requests)
    billed_ms = requests * math.ceil(workload.duration_ms) + cold * math.ceil(start_ms)
    gb_seconds = billed_ms / 1000 * workload.memory_mb / 1024
    billed_requests = requests
    if workload.free_tier:
        billed_requests = max(0.0, requests - rates["free_tier"]["requests"])
        gb_seconds = max(0.0, gb_seconds - rates["free_tier"]["gb_seconds"])
    logs = prices["cloudwatch_logs"]
    log_gb = requests * logs["lambda_platform_bytes_per_invocation"] / GB
    usd = (
        billed_requests / 1e6 * rates["usd_per_million_requests"]
        + tiered(gb_seconds, rates["usd_per_gb_second"][workload.arch])
        + log_gb * logs["usd_per_gb_ingested"]
    )
    if snapstart:
        usd += snapstart_cost(requests, workload, prices, cold_starts)
    return usd


def snapstart_cost(requests, workload, prices, cold_starts):
    """SnapStart's own charges a month: every cached version's snapshot, per GB of memory for
    every second of the month, and each restore per GB of memory; no free tier.

    A version is billed at least 3 hours of cache; versions cached all month are far above it.
    """
    rates = prices["lambda"]["snapstart"]
    memory_gb = workload.memory_mb / 1024
    cache = cold_starts.cached_versions * memory_gb * SECONDS_PER_MONTH
    restored_gb = cold_starts.count(requests) * memory_gb
    return cache * rates["cache_usd_per_gb_second"] + restored_gb * rates["restore_usd_per_gb"]


def cold_start_costs(workload, cold_starts, prices):
    """``(on_demand, snapstart)``: USD that one cold start adds, at the first duration tier.

    On demand it is the INIT phase's GB-seconds; with SnapStart, the restore of the function's
    memory and the billed restore duration's GB-seconds.
    """
    memory_gb = workload.memory_mb / 1024
    usd_per_gb_second = prices["lambda"]["usd_per_gb_second"][workload.arch][0]["usd"]

    def duration(ms):
        return math.ceil(ms) / 1000 * memory_gb * usd_per_gb_second

    restore = memory_gb * prices["lambda"]["snapstart"]["restore_usd_per_gb"]
    return duration(cold_starts.init_ms), restore + duration(cold_starts.restore_ms)


def init_break_even_ms(workload, cold_starts, prices):
    """The INIT phase (ms) that costs what one SnapStart restore and its billed restore duration
    cost, at the first duration tier: SnapStart saves on a cold start only above it. Memory
    cancels out, as both are billed per GB."""
    usd_per_gb_second = prices["lambda"]["usd_per_gb_second"][workload.arch][0]["usd"]
    restore = prices["lambda"]["snapstart"]["restore_usd_per_gb"]
    return restore / usd_per_gb_second * 1000 + math.ceil(cold_starts.restore_ms)


def api_gateway_cost(requests, api, prices):
    """API Gateway's monthly cost for ``api`` "rest_v1" or "http_v2", tiered per million."""
    return tiered(requests / 1e6, prices["api_gateway"][f"{api}_usd_per_million_requests"])


def fleet_size(requests, capacity_rps, traffic):
    """Instances (or tasks) that serve the month's peak at ``traffic.utilisation`` of
    ``capacity_rps`` each, and never fewer than ``traffic.min_instances`` (availability)."""
    peak_rps = average_rps(requests) * traffic.peak_to_average
    # Rounded first so that an exact fit does not buy an instance for floating-point noise.
    needed = math.ceil(round(peak_rps / (capacity_rps * traffic.utilisation), 9))
    return max(traffic.min_instances, needed)


def alb_cost(requests, traffic, prices):
    """An Application Load Balancer's monthly cost: its hours plus LCU-hours.

    LCUs are the larger of two dimensions at the average rate: new connections (each request
    counted as a new one, an upper bound without keep-alive) and processed bytes
    (``response_kb`` per request). LCU-hours grow linearly with traffic, so the average rate
    gives the month's total whatever the peak.
    """
    alb = prices["alb"]
    rate = average_rps(requests)
    processed_gb_per_hour = rate * 3600 * traffic.response_kb * 1000 / GB
    lcus = max(
        rate / alb["lcu_new_connections_per_second"],
        processed_gb_per_hour / alb["lcu_processed_gb_per_hour"],
    )
    return HOURS_PER_MONTH * (alb["usd_per_hour"] + lcus * alb["usd_per_lcu_hour"])


def server_cost(requests, vcpu, usd_per_hour, workload, traffic, prices, baseline_cpu=None):
    """A fleet of one instance (or task) size behind an ALB: ``(usd_per_month, instances)``.

    A burstable instance (``baseline_cpu`` set) runs in unlimited mode: the vCPU-hours its fleet
    uses above the baseline at the average rate are billed on top of its hourly price.
    """
    capacity_rps = workload.rps_per_vcpu * vcpu
    instances = fleet_size(requests, capacity_rps, traffic)
    hourly = instances * usd_per_hour
    if baseline_cpu is not None:
        average_cpu = average_rps(requests) / (instances * capacity_rps)
        surplus_vcpus = max(0.0, average_cpu - baseline_cpu) * instances * vcpu
        hourly += surplus_vcpus * prices["ec2"]["burstable_surplus_usd_per_vcpu_hour"]
    return HOURS_PER_MONTH * hourly + alb_cost(requests, traffic, prices), instances


def options(workload, traffic, prices, cold_starts):
    """Every option compared: Lambda on demand and with SnapStart behind each API Gateway, each
    EC2 type, Fargate per arch."""
    found = [
        Option(
            name=f"{name}+{api_name}",
            label=f"Lambda {workload.memory_mb:g} MB {workload.arch} {mode} + API Gateway "
            f"{api_name}",
            kind=kind,
            monthly=partial(
                _lambda_monthly,
                api=api,
                workload=workload,
                prices=prices,
                cold_starts=cold_starts,
                snapstart=kind == "snapstart",
            ),
        )
        for kind, name, mode in (
            ("lambda", "Lambda", "on demand"),
            ("snapstart", "SnapStart", "SnapStart"),
        )
        for api, api_name in (("rest_v1", "REST v1"), ("http_v2", "HTTP v2"))
    ]
    fleet = partial(server_cost, workload=workload, traffic=traffic, prices=prices)
    for instance_type, spec in prices["ec2"]["instances"].items():
        found.append(
            Option(
                name=instance_type,
                label=f"EC2 {instance_type} ({spec['vcpu']} vCPU, {spec['memory_gib']} GiB) + ALB",
                kind="server",
                monthly=partial(
                    fleet,
                    vcpu=spec["vcpu"],
                    usd_per_hour=spec["usd_per_hour"],
                    baseline_cpu=spec.get("baseline_cpu"),
                ),
            )
        )
    task = prices["fargate"]["task"]
    for arch, short in (("x86_64", "x86"), ("arm64", "arm")):
        rate = prices["fargate"][arch]
        found.append(
            Option(
                name=f"Fargate {short}",
                label=f"Fargate {arch} ({task['vcpu']:g} vCPU, {task['memory_gb']:g} GB) + ALB",
                kind="server",
                monthly=partial(
                    fleet,
                    vcpu=task["vcpu"],
                    usd_per_hour=task["vcpu"] * rate["usd_per_vcpu_hour"]
                    + task["memory_gb"] * rate["usd_per_gb_hour"],
                ),
            )
        )
    return found


def _lambda_monthly(requests, api, workload, prices, cold_starts, snapstart):
    usd = lambda_cost(requests, workload, prices, cold_starts, snapstart)
    return usd + api_gateway_cost(requests, api, prices), None


def break_even(lambda_cost, server_cost, low, high, points_per_decade=50):
    """Requests a month above which ``server_cost`` stays below ``lambda_cost`` up to ``high``.

    ``None`` when Lambda is still the cheaper at ``high``, or never the cheaper in the range.
    Server costs are steps (one more instance) and Lambda's are piecewise linear, so the curves
    may cross more than once near the break-even: the last crossing is found on a log grid,
    then narrowed by bisection.
    """
    steps = max(1, math.ceil(math.log10(high / low) * points_per_decade))
    grid = [low * (high / low) ** (i / steps) for i in range(steps + 1)]
    cheaper = [i for i, n in enumerate(grid) if lambda_cost(n) < server_cost(n)]
    if not cheaper or cheaper[-1] == steps:
        return None
    below, above = grid[cheaper[-1]], grid[cheaper[-1] + 1]
    while above / below - 1 > 1e-9:
        middle = math.sqrt(below * above)
        if lambda_cost(middle) < server_cost(middle):
            below = middle
        else:
            above = middle
    return above


def duration_from_server(server_rps, server_cores, memory_mb):
    """A page's warm Lambda duration (ms) estimated from the server benchmark.

    At saturation every core is busy, so one request costs ``cores / rps`` seconds of CPU;
    a function gets ``memory_mb / 1769`` of a vCPU, and one request uses at most one.
    """
    cpu_ms = server_cores / server_rps * 1000
    return cpu_ms / min(memory_mb / MB_PER_LAMBDA_VCPU, 1.0)

"""What each world's infrastructure from deploy/aws/amphibian.yaml costs a month before the
first request: the database, the network's egress, the load balancer and fleet, the alarms.

``idle_costs(prices, world, infrastructure)`` itemises it for "lambda" or "server". Only what
a stack bills by the hour or the month is here; per-request and per-GB charges are the
traffic model's (``model``), and what both worlds share at no fixed cost (DynamoDB on demand,
S3, CloudFront, Cognito's free tier) is left out.
"""

from dataclasses import dataclass

from deploy.tools.costs.model import HOURS_PER_MONTH

WORLDS = ("lambda", "server")

# Interface endpoints each world calls (PrivateEgress endpoints; see the template's comment).
ENDPOINTS = {
    "lambda": ("ssm", "secretsmanager", "lambda"),
    "server": ("ssm", "secretsmanager", "logs", "ecr.api", "ecr.dkr"),
}
# Metrics the template's alarms read, per world (a metric-math alarm pays for each).
# tests/test_costs.py counts them in the template.
ALARM_METRICS = {
    # function errors, throttles, concurrency; failed-invocations queue; 6 table throttle
    # metrics; database CPU and connections.
    "lambda": 12,
    # 6 table throttle metrics; database CPU and connections; ALB unhealthy targets (ECS),
    # ELB and target 5xx.
    "server": 11,
}
# The REST API's 5xx rate (two metrics) and p99 latency; an HTTP API has no alarms.
REST_API_ALARM_METRICS = 3
# The prod web ACL: a rate-based rule and three managed rule groups.
WAF_RULES = 4
FARGATE_ARCH = "x86_64"  # the task definition sets no runtime platform


@dataclass(frozen=True)
class Infrastructure:
    """The template's choices that set the idle bill; the defaults are its parameters'."""

    database_class: str = "db.t4g.micro"
    database_multi_az: bool = False
    database_storage_gb: float = 20
    egress: str = "nat"  # PrivateEgress: "nat" or "endpoints"
    availability_zones: int = 2
    waf: bool = False  # prod only
    rest_api: bool = False  # ApiKind rest: the API alarms
    server: str = "fargate"  # "fargate" or an EC2 instance type of the price file
    server_count: int = 2  # DesiredCount or Ec2DesiredCapacity
    task_vcpu: float = 0.5  # the task definition's Cpu 512
    task_memory_gb: float = 1.0  # and Memory 1024

    @classmethod
    def from_parameters(cls, parameters):
        """The choices of a stage's deploy/aws/parameters/<stage>.json (the template's defaults
        for what it leaves out); the server world is ECS's when the file enables both."""
        defaults = cls()
        ec2 = parameters.get("EnableEc2") == "true" and parameters.get("EnableEcs") != "true"
        return cls(
            database_class=parameters.get("DatabaseInstanceClass", defaults.database_class),
            database_multi_az=parameters.get("DatabaseMultiAz") == "true",
            egress=parameters.get("PrivateEgress", defaults.egress),
            waf=parameters.get("Stage") == "prod",
            rest_api=parameters.get("ApiKind") == "rest",
            server=parameters.get("Ec2InstanceType", "t3.small") if ec2 else "fargate",
            server_count=int(
                parameters.get("Ec2DesiredCapacity", 2)
                if ec2
                else parameters.get("DesiredCount", defaults.server_count)
            ),
        )


class IdleCostError(ValueError):
    """A choice the price file or the template cannot price."""


def idle_costs(prices, world, infrastructure):
    """``{item: usd_per_month}`` of ``world``'s fixed infrastructure, in a stable order."""
    if world not in WORLDS:
        raise IdleCostError(f"world must be one of {', '.join(WORLDS)}, got {world!r}.")
    rds = prices["rds"]
    instance = rds["instances"].get(infrastructure.database_class)
    if instance is None:
        raise IdleCostError(
            f"No price for the database class {infrastructure.database_class!r}; "
            f"the price file has {', '.join(sorted(rds['instances']))}."
        )
    copies = 2 if infrastructure.database_multi_az else 1
    costs = {
        "database instance": copies * instance["usd_per_hour"] * HOURS_PER_MONTH,
        "database storage": copies
        * infrastructure.database_storage_gb
        * rds["gp3_usd_per_gb_month"],
        "database secret": prices["secrets_manager"]["secret_usd_per_month"],
    }
    if world == "lambda":
        # Billed per vCPU of the instance behind it, with a floor.
        vcpus = max(instance["vcpu"], rds["proxy_min_vcpus"])
        costs["database proxy"] = vcpus * rds["proxy_usd_per_vcpu_hour"] * HOURS_PER_MONTH
    costs.update(_egress(prices, world, infrastructure))
    if world == "server":
        costs.update(_servers(prices, infrastructure))
    cloudwatch = prices["cloudwatch"]
    metrics = ALARM_METRICS[world]
    if world == "lambda" and infrastructure.rest_api:
        metrics += REST_API_ALARM_METRICS
    costs["alarms"] = metrics * cloudwatch["alarm_usd_per_metric_month"]
    costs["dashboard"] = cloudwatch["dashboard_usd_per_month"]
    costs["alarm topic key"] = prices["kms"]["key_usd_per_month"]
    if infrastructure.waf:
        waf = prices["waf"]
        costs["web ACL"] = waf["web_acl_usd_per_month"] + WAF_RULES * waf["rule_usd_per_month"]
    return costs


def _egress(prices, world, infrastructure):
    vpc = prices["vpc"]
    if infrastructure.egress == "nat":
        return {
            "NAT gateway": vpc["nat_gateway_usd_per_hour"] * HOURS_PER_MONTH,
            "NAT public IPv4": vpc["public_ipv4_usd_per_hour"] * HOURS_PER_MONTH,
        }
    if infrastructure.egress != "endpoints":
        raise IdleCostError(f"egress must be nat or endpoints, got {infrastructure.egress!r}.")
    if world == "server" and infrastructure.server != "fargate":
        raise IdleCostError("EC2 instances need egress nat (cloud-init downloads packages).")
    count = len(ENDPOINTS[world]) * infrastructure.availability_zones
    return {
        "interface endpoints": count * vpc["interface_endpoint_usd_per_hour"] * HOURS_PER_MONTH
    }


def _servers(prices, infrastructure):
    """The ALB (hours and its public addresses, one per AZ) and the fleet at its desired count."""
    costs = {
        "load balancer": prices["alb"]["usd_per_hour"] * HOURS_PER_MONTH,
        "load balancer public IPv4": infrastructure.availability_zones
        * prices["vpc"]["public_ipv4_usd_per_hour"]
        * HOURS_PER_MONTH,
    }
    if infrastructure.server == "fargate":
        rate = prices["fargate"][FARGATE_ARCH]
        hourly = (
            infrastructure.task_vcpu * rate["usd_per_vcpu_hour"]
            + infrastructure.task_memory_gb * rate["usd_per_gb_hour"]
        )
        label = f"Fargate tasks ({infrastructure.server_count})"
    else:
        spec = prices["ec2"]["instances"].get(infrastructure.server)
        if spec is None:
            raise IdleCostError(
                f"No price for the instance type {infrastructure.server!r}; "
                f"the price file has {', '.join(sorted(prices['ec2']['instances']))}."
            )
        hourly = spec["usd_per_hour"]
        label = f"EC2 {infrastructure.server} ({infrastructure.server_count})"
    costs[label] = infrastructure.server_count * hourly * HOURS_PER_MONTH
    return costs

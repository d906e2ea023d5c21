"""``manage.py costmodel``: monthly cost of Lambda + API Gateway (REST v1, HTTP v2), on demand and
with SnapStart, against EC2 fleets and Fargate over a range of requests a month, with the
break-even volumes.

    manage.py costmodel                                   # everything from the files below
    manage.py costmodel --duration-ms 40 --memory-mb 512 --arch arm64 --peak-to-average 5
    manage.py costmodel --duration-ms 15 --server-rps 120 --server-cores 2 --from 1e6 --to 1e9
    manage.py costmodel --cold-starts 50000 --restore-duration-ms 60 --cached-versions 2

Defaults: server throughput and cores from bench/results/server_load.json, the Init Duration
(and SnapStart's restore duration, once recorded) from bench/results/lambda.json, Lambda memory
and architecture from a stage of zappa_settings.json, prices from deploy/tools/costs/prices.json;
the Lambda duration estimated from the server's CPU time per page (model.duration_from_server).
Writes costmodel.txt (also printed, headed by the command line that wrote it) and costmodel.png
to ``--output`` (default var/costmodel/).
"""

import json
import shlex
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deploy.tools.costs import idle, model, report
from deploy.tools.costs.prices import ARCHITECTURES, DEFAULT_PRICES, PricesError, load_prices

SERVER_BENCH = Path("bench/results/server_load.json")
# A real page through the whole middleware stack and a template: /healthz would flatter servers.
SERVER_BENCH_RESULT = "amphibian home page /en/"
LAMBDA_BENCH = Path("bench/results/lambda.json")
# Medians of our handler's cold starts: the REPORT line's Init Duration, and, restored from a
# local SnapStart snapshot (runlambda --snapstart), its Billed Restore Duration.
INIT_RESULT = ("cold_start", "ours", "init_duration_ms", "median")
RESTORE_RESULT = ("cold_start", "ours_restored", "billed_restore_duration_ms", "median")
# Zappa's own defaults for a stage that does not set them.
ZAPPA_DEFAULTS = {"memory_size": 512, "architecture": "x86_64"}
TRAFFIC_DEFAULTS = model.Traffic()
LOW, HIGH = 1e5, 1e10


class Command(BaseCommand):
    help = "Monthly cost of Lambda + API Gateway vs EC2 vs Fargate, with break-even volumes."

    def add_arguments(self, parser):
        lambda_group = parser.add_argument_group("Lambda (measured)")
        lambda_group.add_argument(
            "--duration-ms",
            type=float,
            help="Warm duration of one page request (a REPORT line's Duration). Default: "
            "the server benchmark's CPU time per page at the function's share of a vCPU.",
        )
        lambda_group.add_argument(
            "--init-duration-ms",
            type=float,
            help="A cold start's INIT phase (a REPORT line's Init Duration), billed on demand. "
            f"Default: {LAMBDA_BENCH}.",
        )
        lambda_group.add_argument(
            "--restore-duration-ms",
            type=float,
            help="SnapStart's Billed Restore Duration (runtime load and after-restore hooks). "
            f"Default: {LAMBDA_BENCH} if it records one, else {model.ASSUMED_RESTORE_MS:g} "
            "(assumed).",
        )
        lambda_group.add_argument(
            "--cold-starts",
            type=float,
            help="Cold starts a month, at every volume (never more than its requests). Default: "
            f"{model.DEFAULT_COLD_STARTS:g}, one every 5 minutes around the clock; they follow "
            "execution environments, not requests.",
        )
        lambda_group.add_argument(
            "--cached-versions",
            type=int,
            help="Published versions whose SnapStart snapshot stays cached all month "
            "(default 1: the live alias's; older versions are pruned).",
        )
        lambda_group.add_argument(
            "--memory-mb", type=float, help="Function memory (default: the Zappa stage's)."
        )
        lambda_group.add_argument(
            "--arch", choices=ARCHITECTURES, help="Function architecture (default: the stage's)."
        )
        lambda_group.add_argument(
            "--stage", default="prod", help="zappa_settings.json stage for the defaults."
        )
        lambda_group.add_argument(
            "--free-tier", action="store_true", help="Subtract Lambda's monthly free tier."
        )
        server = parser.add_argument_group("Servers (measured)")
        server.add_argument(
            "--server-rps",
            type=float,
            help=f"Requests/s that saturate the benchmarked server (default: {SERVER_BENCH}).",
        )
        server.add_argument(
            "--server-cores", type=float, help="That server's cores (default: its machine)."
        )
        traffic = parser.add_argument_group("Traffic profile")
        traffic.add_argument("--peak-to-average", type=float, help="Peak rate / average rate.")
        traffic.add_argument(
            "--utilisation", type=float, help="Share of capacity a fleet runs at, at the peak."
        )
        traffic.add_argument("--min-instances", type=int, help="Smallest fleet (availability).")
        traffic.add_argument(
            "--response-kb", type=float, help="Bytes through the ALB per request."
        )
        traffic.add_argument("--from", dest="low", type=float, help=f"Requests/month ({LOW:g}).")
        traffic.add_argument("--to", dest="high", type=float, help=f"Requests/month ({HIGH:g}).")
        parser.add_argument("--prices", type=Path, default=DEFAULT_PRICES, help="Price file.")
        parser.add_argument(
            "--output", type=Path, help="Directory for costmodel.png and .txt (var/costmodel/)."
        )

    def handle(self, *args, **options):
        root = Path(settings.BASE_DIR)
        try:
            prices = load_prices(options["prices"])
        except PricesError as exc:
            raise CommandError(str(exc)) from None
        inputs = resolve_inputs(options, root)
        value = {flag: item[0] for flag, item in inputs.items()}
        workload = model.Workload(
            duration_ms=value["--duration-ms"],
            memory_mb=value["--memory-mb"],
            arch=value["--arch"],
            server_rps=value["--server-rps"],
            server_cores=value["--server-cores"],
            free_tier=value["--free-tier"],
        )
        traffic = model.Traffic(
            peak_to_average=value["--peak-to-average"],
            utilisation=value["--utilisation"],
            min_instances=value["--min-instances"],
            response_kb=value["--response-kb"],
        )
        low, high = value["--from"], value["--to"]
        cold_starts = model.ColdStarts(
            init_ms=value["--init-duration-ms"],
            restore_ms=value["--restore-duration-ms"],
            per_month=value["--cold-starts"],
            cached_versions=value["--cached-versions"],
        )
        compared = model.options(workload, traffic, prices, cold_starts)
        found = report.crossings(compared, low, high)
        prices_path = _shown(Path(options["prices"]), root)
        rows = [(flag, _shown_value(flag, item[0]), item[1]) for flag, item in inputs.items()]
        rows.append(("--prices", prices_path, f"as of {prices['as_of']}"))
        # The fixed cost of each world's stack at the stage's choices (deploy/aws/parameters).
        stage_file = root / "deploy" / "aws" / "parameters" / f"{options['stage']}.json"
        infrastructure = (
            idle.Infrastructure.from_parameters(json.loads(stage_file.read_text()))
            if stage_file.exists()
            else idle.Infrastructure()
        )
        text = report.text_report(
            compared,
            found,
            low,
            high,
            rows,
            prices,
            workload,
            cold_starts,
            infrastructure,
            command=_command_line(options, inputs, root),
        )

        output = options["output"] or root / "var" / "costmodel"
        output.mkdir(parents=True, exist_ok=True)
        (output / "costmodel.txt").write_text(text)
        self.stdout.write(text)
        self.stdout.write(f"wrote {output / 'costmodel.txt'}")
        subtitle = (
            f"Lambda {workload.duration_ms:g} ms per request at {workload.memory_mb:g} MB "
            f"{workload.arch}; servers {workload.rps_per_vcpu:.0f} req/s per vCPU, peak "
            f"{traffic.peak_to_average:g}x average, {traffic.utilisation:.0%} utilisation, "
            f"at least {traffic.min_instances} instances\n{cold_starts.per_month:g} cold starts/"
            f"month: INIT {cold_starts.init_ms:g} ms on demand; SnapStart "
            f"{cold_starts.restore_ms:g} ms restore, {cold_starts.cached_versions} cached "
            f"version{'s' if cold_starts.cached_versions != 1 else ''}; break-evens marked for "
            "on demand"
        )
        try:
            report.draw_chart(
                output / "costmodel.png", compared, found, low, high, prices, subtitle
            )
        except ImportError:
            raise CommandError(
                "matplotlib is not installed, so no chart was drawn (the table is in "
                f"{output / 'costmodel.txt'}). It is a development dependency: "
                "`pip install matplotlib`, or run this from the dev venv (.venv)."
            ) from None
        self.stdout.write(f"wrote {output / 'costmodel.png'}")


def resolve_inputs(options, root):
    """``{flag: (value, source)}``: each flag's value if given, else its file's or the default."""
    inputs = {}

    def pick(flag, key, fallback, source):
        inputs[flag] = (options[key], "flag") if options[key] is not None else (fallback, source)

    stage = {}
    if options["memory_mb"] is None or options["arch"] is None:
        stage = _zappa_stage(root, options["stage"])
    source = f"zappa_settings.json, stage {options['stage']}"
    pick(
        "--memory-mb", "memory_mb", stage.get("memory_size", ZAPPA_DEFAULTS["memory_size"]), source
    )
    pick("--arch", "arch", stage.get("architecture", ZAPPA_DEFAULTS["architecture"]), source)

    rps = cores = None
    if options["server_rps"] is None or options["server_cores"] is None:
        rps, cores = _server_bench(root)
    pick("--server-rps", "server_rps", rps, f"{SERVER_BENCH}, {SERVER_BENCH_RESULT}")
    pick("--server-cores", "server_cores", cores, f"{SERVER_BENCH}, machine")
    if options["duration_ms"] is not None:
        inputs["--duration-ms"] = (options["duration_ms"], "flag")
    else:
        _check_numbers(inputs)  # the ones the estimate divides by
        memory = inputs["--memory-mb"][0]
        estimate = model.duration_from_server(
            inputs["--server-rps"][0], inputs["--server-cores"][0], memory
        )
        inputs["--duration-ms"] = (
            round(estimate, 1),
            f"server CPU per page at {memory:g}/{model.MB_PER_LAMBDA_VCPU} of a vCPU",
        )
    inputs.update(_cold_start_inputs(options, root))
    # The report lists the Lambda inputs first.
    lambda_flags = (
        "--duration-ms",
        "--init-duration-ms",
        "--restore-duration-ms",
        "--cold-starts",
        "--cached-versions",
    )
    inputs = {**{flag: inputs.pop(flag) for flag in lambda_flags}, **inputs}

    for flag, key in (
        ("--peak-to-average", "peak_to_average"),
        ("--utilisation", "utilisation"),
        ("--min-instances", "min_instances"),
        ("--response-kb", "response_kb"),
    ):
        pick(flag, key, getattr(TRAFFIC_DEFAULTS, key), "default")
    inputs["--free-tier"] = (options["free_tier"], "flag" if options["free_tier"] else "default")
    pick("--from", "low", LOW, "default")
    pick("--to", "high", HIGH, "default")
    _check_numbers(inputs)
    _check_ranges(inputs)
    return inputs


def _cold_start_inputs(options, root):
    """The cold-start inputs: durations from the Lambda bench unless given, counts by default."""
    bench = {}
    if options["init_duration_ms"] is None:
        bench = _read_json(
            root / LAMBDA_BENCH, "run `make bench-lambda`, or pass --init-duration-ms"
        )
    elif (root / LAMBDA_BENCH).exists():
        bench = _read_json(root / LAMBDA_BENCH, "pass --restore-duration-ms")
    inputs = {}
    if options["init_duration_ms"] is not None:
        inputs["--init-duration-ms"] = (options["init_duration_ms"], "flag")
    else:
        init = _lookup(bench, INIT_RESULT)
        if init is None:
            raise CommandError(
                f"{LAMBDA_BENCH} has no {'.'.join(INIT_RESULT)}; pass --init-duration-ms."
            )
        inputs["--init-duration-ms"] = (
            init,
            f"{LAMBDA_BENCH}, median Init Duration (local runtime)",
        )
    restore = _lookup(bench, RESTORE_RESULT)
    if options["restore_duration_ms"] is not None:
        inputs["--restore-duration-ms"] = (options["restore_duration_ms"], "flag")
    elif restore is not None:
        inputs["--restore-duration-ms"] = (
            restore,
            f"{LAMBDA_BENCH}, median Billed Restore Duration (local runtime)",
        )
    else:
        inputs["--restore-duration-ms"] = (
            model.ASSUMED_RESTORE_MS,
            f"assumed: {LAMBDA_BENCH} has no {'.'.join(RESTORE_RESULT)}",
        )
    for flag, key, fallback, source in (
        ("--cold-starts", "cold_starts", model.DEFAULT_COLD_STARTS, "default: one every 5 min"),
        ("--cached-versions", "cached_versions", 1, "default: the live alias's version"),
    ):
        given = options[key] is not None
        inputs[flag] = (options[key], "flag") if given else (fallback, source)
    return inputs


def _lookup(data, keys):
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _check_numbers(inputs):
    for flag, (number, source) in inputs.items():
        if flag in ("--arch", "--free-tier"):
            continue
        # A month without a cold start is one the model can price (a function kept warm).
        zero_ok = flag == "--cold-starts"
        is_number = not isinstance(number, bool) and isinstance(number, int | float)
        if not (is_number and (number > 0 or (zero_ok and number == 0))):
            bound = ">= 0" if zero_ok else "> 0"
            raise CommandError(f"{flag} must be a number {bound}, got {number!r} ({source}).")


def _check_ranges(inputs):
    value = {flag: item[0] for flag, item in inputs.items()}
    if value["--arch"] not in ARCHITECTURES:
        raise CommandError(
            f"--arch must be one of {', '.join(ARCHITECTURES)}, got {value['--arch']!r} "
            f"({inputs['--arch'][1]})."
        )
    if value["--utilisation"] > 1:
        raise CommandError(
            f"--utilisation is a share of capacity, at most 1: got {value['--utilisation']}."
        )
    if value["--peak-to-average"] < 1:
        raise CommandError(
            f"--peak-to-average is at least 1 (the peak is never below the average): "
            f"got {value['--peak-to-average']}."
        )
    if value["--from"] >= value["--to"]:
        raise CommandError(f"--from ({value['--from']:g}) must be below --to ({value['--to']:g}).")


def _zappa_stage(root, stage):
    stages = _read_json(root / "zappa_settings.json", "pass --memory-mb and --arch")
    if not isinstance(stages.get(stage), dict):
        raise CommandError(
            f"zappa_settings.json has no stage {stage!r}; pass --stage, or --memory-mb and --arch."
        )
    return stages[stage]


def _server_bench(root):
    """``(requests_per_second, cores)`` of the recorded server benchmark."""
    bench = _read_json(
        root / SERVER_BENCH, "run `make bench-server`, or pass --server-rps and --server-cores"
    )
    try:
        return bench["results"][SERVER_BENCH_RESULT]["requests_per_second"], bench["machine"][
            "cores"
        ]
    except (KeyError, TypeError):
        raise CommandError(
            f"{SERVER_BENCH} has no {SERVER_BENCH_RESULT!r} requests_per_second or machine "
            "cores; pass --server-rps and --server-cores."
        ) from None


def _read_json(path, remedy):
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CommandError(f"{path} is missing: {remedy}.") from None
    except (OSError, ValueError) as exc:
        raise CommandError(f"Cannot read {path} ({exc}): {remedy}.") from None
    if not isinstance(data, dict):
        raise CommandError(f"{path} is not a JSON object: {remedy}.")
    return data


def _command_line(options, inputs, root):
    """The command that writes this report again: the flags given, the stage, prices, output."""
    words = ["python manage.py costmodel"]
    for flag, (value, source) in inputs.items():
        if source == "flag":
            words.append(
                flag if isinstance(value, bool) else f"{flag} {_shown_value(flag, value)}"
            )
    if options["stage"] != "prod":
        words.append(f"--stage {options['stage']}")
    if Path(options["prices"]).resolve() != DEFAULT_PRICES.resolve():
        words.append(f"--prices {shlex.quote(_shown(Path(options['prices']), root))}")
    if options["output"] is not None:
        words.append(f"--output {shlex.quote(_shown(Path(options['output']), root))}")
    return " ".join(words)


def _shown_value(flag, value):
    if isinstance(value, bool):
        return "yes" if value else "no"
    if flag in ("--from", "--to"):
        return report.volume(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def _shown(path, root):
    """``path`` relative to the project when it is inside it, for the report."""
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)

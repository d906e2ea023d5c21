"""The cost model's outputs: a text table with the break-even volumes, and a chart.

matplotlib is imported inside ``draw_chart`` only: it is a development dependency, absent from
the Lambda package, and this module must stay importable without it.
"""

import math
from typing import Any

from deploy.tools.costs.idle import WORLDS, Infrastructure, idle_costs
from deploy.tools.costs.model import (
    average_rps,
    break_even,
    cold_start_costs,
    init_break_even_ms,
    snapstart_cost,
)

CHART_POINTS = 600


def volume(requests):
    """``1e5``, ``3.12e7``: requests a month, short."""
    return f"{requests:.3g}".replace("e+0", "e").replace("e+", "e")


def table_volumes(low, high):
    """Each power of ten from ``low`` to ``high``, and the two ends."""
    decades = [
        10.0**k for k in range(math.ceil(math.log10(low)), math.floor(math.log10(high)) + 1)
    ]
    return sorted({low, high, *decades})


def crossings(options, low, high):
    """``(server, lambda_option, requests or None)`` for every server option and Lambda option
    (on demand and SnapStart)."""
    lambdas = [option for option in options if option.kind != "server"]
    return [
        (server, function, break_even(function.cost, server.cost, low, high))
        for server in options
        if server.kind == "server"
        for function in lambdas
    ]


def text_report(
    options,
    found,
    low,
    high,
    inputs,
    prices,
    workload,
    cold_starts,
    infrastructure=None,
    command=None,
):
    """The table of monthly costs, the break-even lines, SnapStart against on demand, each
    world's idle infrastructure and the inputs, as text.

    ``found`` is ``crossings(...)``; ``inputs`` is ``[(flag, value, source)]``; ``workload`` and
    ``cold_starts`` are the ones ``options`` were built from; ``infrastructure``
    (``idle.Infrastructure``, default the template's defaults) prices the fixed part; ``command``,
    the command line that wrote the report, heads it so that it can be run again.
    """
    checked = "checked against" if prices.get("verified") else "not yet checked against"
    lines = [f"Written by `{command}`.", ""] if command else []
    lines += [
        f"Monthly cost in USD, {prices.get('region', 'us-east-1')} list prices as of "
        f"{prices['as_of']} ({checked} AWS's pricing pages).",
        "Lambda+: on demand, each cold start billed its INIT phase. SnapStart+: SnapStart on the "
        "published version, each cold start a restore instead, plus the snapshot's cache.",
        "Server options: fleet size (instances or tasks) in parentheses.",
        "",
    ]
    header = ["requests/month", "avg req/s", "cold starts", *(option.name for option in options)]
    rows = []
    for requests in table_volumes(low, high):
        row = [volume(requests), _rate(average_rps(requests)), volume(cold_starts.count(requests))]
        for option in options:
            usd, instances = option.monthly(requests)
            row.append(_usd(usd) + ("" if instances is None else f" ({instances})"))
        rows.append(row)
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))

    lines += [
        "",
        f"Break-even: requests/month above which the server option is cheaper, to {volume(high)}:",
    ]
    name_width = max(len(server.name) for server, _, _ in found)
    for server, function, requests in found:
        lines.append(_break_even_line(server, function, requests, low, high, name_width))

    lines += ["", *snapstart_lines(options, low, high, prices, workload, cold_starts)]
    lines += ["", *idle_lines(prices, infrastructure or Infrastructure()), "", "Inputs:"]
    flag_width = max(len(flag) for flag, _, _ in inputs)
    value_width = max(len(str(value)) for _, value, _ in inputs)
    for flag, value, source in inputs:
        lines.append(f"  {flag.ljust(flag_width)}  {str(value).ljust(value_width)}  {source}")
    lines += [
        "",
        "Assumptions: 730-hour month; Lambda bills every request at the warm duration, plus its "
        "START/END/REPORT log lines, and each cold start",
        "its INIT (on demand) or a restore per GB of memory and the billed restore duration "
        "(SnapStart, whose cached versions are billed all month);",
        "a server fleet is static, sized for the peak (average x peak-to-average) at the target "
        "utilisation, one instance serving",
        "the benchmark's req/s per core times its vCPUs, behind one ALB; burstable (t4g) "
        "instances pay for CPU above their baseline.",
        "Left out of the table, the same for every option or outside the model: data transfer "
        "out, the database, DynamoDB, S3, EBS, NAT, CloudFront;",
        "the fixed cost of each world's infrastructure is the idle section's, to add to its "
        "option's figures.",
    ]
    return "\n".join(lines) + "\n"


def snapstart_lines(options, low, high, prices, workload, cold_starts):
    """What a cold start costs each way, SnapStart's cache, the INIT above which a restore is
    the cheaper, and where each API's SnapStart option becomes the cheaper Lambda."""
    on_demand, snapstart = cold_start_costs(workload, cold_starts, prices)
    cache = snapstart_cost(0, workload, prices, cold_starts)
    memory_gb = workload.memory_mb / 1024
    versions = cold_starts.cached_versions
    lines = [
        f"SnapStart against on demand, {cold_starts.per_month:,.0f} cold starts a month "
        "(never more than the requests):",
        f"  per 1,000 cold starts: {on_demand * 1000:.3g} USD on demand (INIT "
        f"{cold_starts.init_ms:g} ms), {snapstart * 1000:.3g} USD with SnapStart "
        f"({memory_gb:g} GB restored, {cold_starts.restore_ms:g} ms billed restore), at the "
        "first duration tier;",
        f"  the cache of {versions} version{'s' if versions != 1 else ''} of {memory_gb:g} GB: "
        f"{_usd(cache)} USD a month.",
    ]
    longest = init_break_even_ms(workload, cold_starts, prices)
    threshold = f"a restore is the cheaper only in place of an INIT over {longest:,.0f} ms"
    if on_demand > snapstart:
        lines.append(
            f"  SnapStart pays for its cache above {cache / (on_demand - snapstart):,.0f} cold "
            f"starts a month ({threshold})."
        )
    else:
        lines.append(f"  SnapStart never pays for its cache here: {threshold}.")
    pairs = list(
        zip(
            [option for option in options if option.kind == "lambda"],
            [option for option in options if option.kind == "snapstart"],
            strict=True,
        )
    )
    width = max(len(option.name) for _, option in pairs)
    for function, snapstart_option in pairs:
        requests = break_even(function.cost, snapstart_option.cost, low, high)
        lines.append(_break_even_line(snapstart_option, function, requests, low, high, width))
    return lines


def _break_even_line(cheaper_above, cheaper_below, requests, low, high, width):
    """One break-even line: ``requests`` above which ``cheaper_above`` stays the cheaper."""
    prefix = f"  {cheaper_above.name.ljust(width)}  vs {cheaper_below.name}: "
    if requests is not None:
        return (
            f"{prefix}{volume(requests)} requests/month ({_rate(average_rps(requests))} req/s "
            f"average), {_usd(cheaper_above.cost(requests))} USD/month"
        )
    if cheaper_below.cost(high) < cheaper_above.cost(high):
        return f"{prefix}none, {cheaper_below.name} is cheaper up to {volume(high)}"
    return f"{prefix}none, {cheaper_above.name} is cheaper from {volume(low)}"


def idle_lines(prices, infrastructure):
    """Each world's fixed monthly items (deploy/aws/amphibian.yaml) side by side, and totals."""
    costs = {world: idle_costs(prices, world, infrastructure) for world in WORLDS}
    items = list(dict.fromkeys(item for world in WORLDS for item in costs[world]))
    width = max(len(item) for item in [*items, "total"])
    egress = "NAT gateway" if infrastructure.egress == "nat" else "interface endpoints"
    lines = [
        f"Idle infrastructure, USD/month before any request (deploy/aws/amphibian.yaml: "
        f"{infrastructure.database_class}"
        f"{' Multi-AZ' if infrastructure.database_multi_az else ''}, {egress}"
        f"{', WAF' if infrastructure.waf else ''}):",
        f"  {''.ljust(width)}  {'lambda':>8}  {'server':>8}",
    ]
    for item in [*items, "total"]:
        cells = [
            sum(costs[world].values()) if item == "total" else costs[world].get(item)
            for world in WORLDS
        ]
        shown = ["-" if usd is None else _usd(usd) for usd in cells]
        lines.append(f"  {item.ljust(width)}  {shown[0]:>8}  {shown[1]:>8}")
    return lines


def draw_chart(path, options, found, low, high, prices, subtitle):
    """Monthly cost against requests/month (both log scales) with on demand Lambda's
    break-evens marked, as PNG.

    Raises ``ImportError`` when matplotlib is not installed.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 7.5), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    volumes = [low * (high / low) ** (i / CHART_POINTS) for i in range(CHART_POINTS + 1)]
    colors = {}
    # One API per line style, on demand black and SnapStart grey.
    lambda_styles = {"lambda": iter(("-", "--")), "snapstart": iter(("-", "--"))}
    servers = 0
    for option in options:
        style: dict[str, Any]  # keyword arguments of Axes.plot
        if option.kind == "lambda":
            style = {
                "linewidth": 2.8,
                "color": "black",
                "linestyle": next(lambda_styles["lambda"]),
                "zorder": 3,  # above SnapStart's where the two meet at volume
            }
        elif option.kind == "snapstart":
            style = {
                "linewidth": 2.2,
                "color": "0.6",
                "linestyle": next(lambda_styles["snapstart"]),
            }
        else:
            style = {
                "linewidth": 1.6,
                "color": f"C{servers}",
                "linestyle": ":" if option.name.startswith("Fargate") else "-",
            }
            servers += 1
        line = axes.plot(volumes, [option.cost(n) for n in volumes], label=option.label, **style)
        colors[option.name] = line[0].get_color()

    # SnapStart's break-evens sit next to on demand's: marking both would hide the labels.
    _mark_break_evens(axes, [row for row in found if row[1].kind == "lambda"], colors)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(low, high)
    axes.set_xlabel("requests per month")
    axes.set_ylabel("USD per month")
    axes.grid(True, which="major", alpha=0.4)
    axes.grid(True, which="minor", alpha=0.1)
    figure.legend(loc="outside lower center", ncols=3, fontsize=8.5)
    verified = "" if prices.get("verified") else ", not yet checked against AWS"
    title = f"Monthly cost by deploy target: list prices as of {prices['as_of']}{verified}"
    axes.set_title(f"{title}\n{subtitle}", fontsize=11)
    figure.savefig(path)


def _mark_break_evens(axes, found, colors):
    """A marker on each break-even, labelled in two columns clear of the curves: the first
    Lambda option's above and left of its markers, the second's below and right of them."""
    step = 10**-0.17  # one label's height on the log scale of a chart of this size
    functions = list(dict.fromkeys(function for _, function, _ in found))
    for place, (function, marker) in enumerate(zip(functions, ("o", "s"), strict=False)):
        points = [
            (requests, server.cost(requests), server)
            for server, other, requests in found
            if other is function and requests is not None
        ]
        if not points:
            continue
        # Top label to the rightmost marker, so that the leader lines do not cross.
        points.sort(key=lambda point: -point[0])
        if place == 0:
            x = min(point[0] for point in points) / 2.5
            top = max(point[1] for point in points) * 10**1.1
            align, relpos = "right", (1, 0.5)
        else:
            x = max(point[0] for point in points) * 1.6
            top = min(point[1] for point in points) * 10**-0.45
            align, relpos = "left", (0, 0.5)
        axes.annotate(
            f"break-even vs {function.name}",
            (x, top / step),
            ha=align,
            va="center",
            fontsize=8.5,
            fontweight="bold",
        )
        for index, (requests, usd, server) in enumerate(points):
            color = colors[server.name]
            axes.plot(
                [requests],
                [usd],
                marker=marker,
                markersize=7,
                color=color,
                markeredgecolor="black",
                linestyle="none",
                zorder=5,
            )
            axes.annotate(
                f"{server.name}: {volume(requests)}",
                (requests, usd),
                xytext=(x, top * step**index),
                textcoords="data",
                ha=align,
                va="center",
                fontsize=8.5,
                color=color,
                arrowprops={
                    "arrowstyle": "-",
                    "color": color,
                    "linewidth": 0.7,
                    "relpos": relpos,
                    "shrinkB": 4,
                },
            )


def _usd(usd):
    return f"{usd:,.0f}" if usd >= 100 else f"{usd:.2f}"


def _rate(rps):
    return f"{rps:,.0f}" if rps >= 100 else f"{rps:.3g}"

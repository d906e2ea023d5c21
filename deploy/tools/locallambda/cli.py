"""What ``runlambda`` and ``invokelambda`` share: options, and the function they describe."""

import contextlib
import os
from pathlib import Path

from . import codedir
from . import environment as variables
from .runtime import Function, Pool

HANDLER = "deploy.lambda.handler.lambda_handler"


def add_function_arguments(parser):
    """The options that say which package to run and how (both commands)."""
    package = parser.add_mutually_exclusive_group()
    package.add_argument(
        "--source",
        action="store_true",
        help="Run a read-only copy of the source tree (the default).",
    )
    package.add_argument(
        "--zip",
        nargs="?",
        const="",
        metavar="PATH",
        help="Run a built package (default var/package/amphibian-STAGE.zip, `make package`).",
    )
    parser.add_argument("--stage", default="dev", help="Stage of zappa_settings.json (dev).")
    parser.add_argument("--handler", help=f"Handler setting (default {HANDLER}).")
    parser.add_argument("--memory", type=int, help="Memory size, MB (default: the stage's).")
    parser.add_argument("--timeout", type=float, help="Function timeout, s (the stage's).")
    parser.add_argument(
        "--init-timeout", type=float, default=10.0, help="Init phase limit, s (10)."
    )
    parser.add_argument(
        "--snapstart",
        action="store_true",
        help="SnapStart: run init once into a snapshot (its before-snapshot hooks included), "
        "then restore each instance from it (a fork of that process) and run its "
        "after-restore hooks; version 1, as SnapStart runs published versions only.",
    )
    parser.add_argument(
        "--environment",
        choices=variables.MODES,
        default=variables.LOCAL,
        help="Where the function's variables start: the running local stack's resources, "
        "static files and key set (local, the default), the stage's "
        "aws_environment_variables as deployed (stage), or nothing (shell). This shell's "
        "environment, then --env, override them.",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="A variable of the function's environment (repeatable).",
    )


@contextlib.contextmanager
def function_from_options(base_dir, options, environment=None, gateway_url=None, report=None):
    """The ``Function`` the options describe, its read-only code directory made; removed after.

    ``options["event"]`` becomes the stage's event shape when unset (HTTP API v2 for a stage
    with ``apigateway_version: v2``). With the local stack's environment (the default), the
    static files are uploaded to its bucket first and ``gateway_url`` (the local API
    Gateway, if any) may upload to its media bucket. ``report`` gets the environment's lines.
    """
    stage = codedir.Stage.load(Path(base_dir) / "zappa_settings.json", options["stage"])
    options["event"] = options.get("event") or stage.event_kind
    mode = options.get("environment") or variables.LOCAL
    parent = codedir.temporary_parent()
    try:
        if options.get("zip") is not None:
            code_dir = codedir.from_zip(package_path(base_dir, options), parent)
        else:
            code_dir = codedir.from_source(base_dir, stage, parent)
        env = variables.build(
            mode,
            options["env"],
            stage=stage,
            shell=environment,
            code_dir=code_dir,
            kind=options["event"],
            gateway_url=gateway_url,
        )
        if mode == variables.LOCAL:
            manifest_dir = Path(parent) / "static-manifest"
            variables.upload_static(env, manifest_dir)
            if options.get("zip") is None and env.variables["DJANGO_STATIC_STORAGE"] == "s3":
                env.add(variables.LOCAL, {"DJANGO_STATIC_MANIFEST_DIR": str(manifest_dir)})
            if gateway_url:
                variables.allow_gateway_origin(env, gateway_url)
        if report:
            report(f"Function environment ({mode}; --environment local|stage|shell):")
            for line in env.describe():
                report(line)
        yield Function(
            code_dir=code_dir,
            handler=options.get("handler") or stage.settings.get("lambda_handler") or HANDLER,
            name=stage.function_name,
            memory_mb=options.get("memory") or stage.memory_mb,
            timeout=options.get("timeout") or stage.timeout,
            init_timeout=options["init_timeout"],
            snapstart=bool(options.get("snapstart")),
            region=os.environ.get("AWS_REGION") or stage.region,
            environment=env.variables,
        )
    finally:
        codedir.remove(parent)


def package_path(base_dir, options):
    """``--zip PATH``, or with no PATH the zip ``make package STAGE=<stage>`` builds."""
    stage = options["stage"]
    path = Path(options["zip"] or Path(base_dir) / "var" / "package" / f"amphibian-{stage}.zip")
    if not path.is_file():
        raise ValueError(f"No package at {path}; build it with `make package STAGE={stage}`.")
    return path


@contextlib.contextmanager
def pool_for(function, concurrency=1, log=None):
    """A ``Pool`` of ``function``'s instances, every one stopped afterwards."""
    pool = Pool(function, concurrency=concurrency, log=log or _print)
    try:
        yield pool
    finally:
        pool.close()


def _print(line):
    print(line, flush=True)

"""What ``runlambda`` and ``invokelambda`` share: options, and the function they describe."""

import contextlib
import os
from pathlib import Path

from . import codedir
from .runtime import Function, Pool

HANDLER = "deploy.lambda.handler.lambda_handler"
# Set by manage.py for its own process; the function picks its settings like Lambda does.
NOT_INHERITED = ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME")


def add_function_arguments(parser):
    """The options that say which package to run and how (both commands)."""
    package = parser.add_mutually_exclusive_group()
    package.add_argument(
        "--source",
        action="store_true",
        help="Run a read-only copy of the source tree (the default).",
    )
    package.add_argument("--zip", metavar="PATH", help="Run a built package (zappa package).")
    parser.add_argument("--stage", default="dev", help="Stage of zappa_settings.json (dev).")
    parser.add_argument("--handler", help=f"Handler setting (default {HANDLER}).")
    parser.add_argument("--memory", type=int, help="Memory size, MB (default: the stage's).")
    parser.add_argument("--timeout", type=float, help="Function timeout, s (the stage's).")
    parser.add_argument(
        "--init-timeout", type=float, default=10.0, help="Init phase limit, s (10)."
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="A variable of the function's environment (repeatable); this shell's "
        "environment is passed on too.",
    )
    parser.add_argument(
        "--stage-environment",
        action="store_true",
        help="Start from the stage's aws_environment_variables, as deployed; this shell's "
        "environment and --env override them (point resource names at the local stack).",
    )


@contextlib.contextmanager
def function_from_options(base_dir, options, environment=None):
    """The ``Function`` the options describe, its read-only code directory made; removed after."""
    stage = codedir.Stage.load(Path(base_dir) / "zappa_settings.json", options["stage"])
    parent = codedir.temporary_parent()
    try:
        if options.get("zip"):
            code_dir = codedir.from_zip(options["zip"], parent)
        else:
            code_dir = codedir.from_source(base_dir, stage, parent)
        yield Function(
            code_dir=code_dir,
            handler=options.get("handler") or stage.settings.get("lambda_handler") or HANDLER,
            name=stage.function_name,
            memory_mb=options.get("memory") or stage.memory_mb,
            timeout=options.get("timeout") or stage.timeout,
            init_timeout=options["init_timeout"],
            region=os.environ.get("AWS_REGION") or stage.region,
            environment=function_environment(
                options["env"],
                environment,
                stage=stage.environment if options.get("stage_environment") else None,
            ),
        )
    finally:
        codedir.remove(parent)


def function_environment(assignments, environment=None, stage=None):
    """The ``stage``'s variables, then this process's environment (less what manage.py set
    for itself), then ``NAME=VALUE``s: each overrides the one before."""
    base = dict(os.environ if environment is None else environment)
    variables = dict(stage or {})
    variables.update((name, value) for name, value in base.items() if name not in NOT_INHERITED)
    for assignment in assignments:
        name, separator, value = assignment.partition("=")
        if not separator:
            raise ValueError(f"--env {assignment!r}: use NAME=VALUE.")
        variables[name] = value
    return variables


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

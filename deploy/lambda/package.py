"""Build the Lambda package: ``python deploy/lambda/package.py --stage dev`` (``make package``).

1. A throw-away virtualenv, var/package/venv, with the locked runtime requirements and
   Zappa's locked closure, hash-checked (requirements/*.txt); remade when a lock changes.
2. ``collectstatic`` with the lambda settings into var/package/staticfiles (runtime
   dependencies only, placeholder configuration: nothing is contacted).
3. ``zappa package <stage>`` in that venv: the project and the venv's site-packages at the
   zip root, less the stage's ``exclude``/``exclude_glob`` (the AWS SDK, Zappa's CLI
   dependencies, tests, deploy files, this build code), plus Zappa's zappa_settings.py.
4. The zip rewritten: what Zappa's name patterns cannot reach is removed (tests inside
   packages, locales the site does not offer, .po sources, wheel RECORD files, Zappa's
   deploy-side modules), shared libraries stripped of symbols, and bytecode precompiled,
   since Lambda's code directory is read-only and an uncompiled module is compiled again
   on every cold start. Static files: with the stage's ``DJANGO_STATIC_STORAGE=s3`` only the
   manifest ships (the files are in the static bucket: ``make collectstatic``), otherwise
   the collected files ship for whitenoise (var/staticfiles).
5. Third-party modules ship as bytecode only (``--with-sources`` keeps their .py): it is a
   third of the zip, and Lambda runs the bytecode anyway. Tracebacks through them keep file,
   line and function, not the source line; the project's own code keeps its sources.

It prints the zipped and unzipped sizes before and after, and fails above Lambda's limits.
Runs with the Python of the stage's ``runtime`` (python3.13): the bytecode must match it.

This is the command line; the steps are in deploy/lambda/packager/ (see its docstring).
"""

import argparse
import importlib
import json
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Run as a script, sys.path starts at deploy/lambda; "lambda" is a keyword, so the steps'
# package is imported by name, as Lambda imports the handler.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
packager = importlib.import_module("deploy.lambda.packager")
venv = importlib.import_module("deploy.lambda.packager.venv")
dropped = importlib.import_module("deploy.lambda.packager.dropped")
rewrite = importlib.import_module("deploy.lambda.packager.rewrite")
limits = importlib.import_module("deploy.lambda.packager.limits")

# What the tests call on this module.
zappa_requirements = venv.zappa_requirements
removal_reason = dropped.removal_reason
check_limits = limits.check_limits


def stage_settings(stage):
    return json.loads((ROOT / "zappa_settings.json").read_text())[stage]


def static_storage(stage):
    """The stage's DJANGO_STATIC_STORAGE (zappa_settings.json); the environment overrides."""
    configured = stage_settings(stage).get("aws_environment_variables", {})
    return os.environ.get(
        "DJANGO_STATIC_STORAGE", configured.get("DJANGO_STATIC_STORAGE", "whitenoise")
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--output", help="Zip path (var/package/amphibian-<stage>.zip).")
    parser.add_argument(
        "--with-sources", action="store_true", help="Keep third-party .py files (larger zip)."
    )
    options = parser.parse_args(argv)
    runtime = stage_settings(options.stage)["runtime"]
    running = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    if running != runtime:
        raise SystemExit(
            f"{runtime} is needed to build the {options.stage} stage ({running} runs this): "
            "the package's bytecode must match the function's runtime."
        )
    output = Path(options.output or packager.WORK_DIR / f"amphibian-{options.stage}.zip")
    output = output.resolve()
    if not shutil.which(rewrite.STRIP):
        raise SystemExit("strip is needed (binutils): apt-get install binutils")
    venv.ensure_venv()
    storage = static_storage(options.stage)
    # Collected either way: with s3 for the manifest only, whose hashed names are those
    # `make collectstatic` uploads (both storages hash with Django's ManifestFilesMixin).
    static_dir = packager.WORK_DIR / "staticfiles"
    venv.collect_static(static_dir)
    venv.zappa_package(options.stage, output)
    zipped, unzipped = limits.sizes(output)
    print(f"zappa package: {limits.mb(zipped)} zipped, {limits.mb(unzipped)} unzipped")
    removed = rewrite.rewrite(
        output, static_dir, static_storage=storage, sources=options.with_sources
    )
    print("removed: " + ", ".join(f"{count} {reason}" for reason, count in removed.items()))
    check_limits(output)


if __name__ == "__main__":
    main()

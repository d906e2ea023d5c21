"""The Lambda stages in zappa_settings.json and the package ``make package`` builds.

The build itself (a venv, collectstatic, ``zappa package``, the rewrite) takes about a
minute: those tests carry the ``package`` marker and run with ``make test-package``.
"""

import hashlib
import importlib.util
import json
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import PurePosixPath

import pytest
from django.core.management import call_command

from deploy.tools.harness.loopback import free_port
from deploy.tools.harness.processes import (
    DEPLOYED_ENV,
    ROOT,
    TOOL_SETTINGS,
    stop_process,
    subprocess_env,
)
from tests.support import first_visit
from tests.support.lambda_package import build_package
from tests.support.shipped import developer_files

STAGES = json.loads((ROOT / "zappa_settings.json").read_text())
REQUIRED = {
    "django_settings": "project.settings.lambda",
    "lambda_handler": "deploy.lambda.handler.lambda_handler",
    "runtime": "python3.13",
    "binary_support": True,
    "keep_warm": False,
}
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN(?!_DENYLIST)|DATABASE_URL|PRIVATE|_KEY\b", re.I)
SECRET_VALUE = re.compile(r"AKIA[0-9A-Z]{16}|://[^/\s]*:[^@/\s]+@|-----BEGIN")


def load_packager():
    spec = importlib.util.spec_from_file_location("package", ROOT / "deploy/lambda/package.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["dev", "prod"])
def test_stage_has_the_required_settings(name):
    stage = STAGES[name]
    assert {key: stage.get(key) for key in REQUIRED} == REQUIRED
    assert stage["aws_environment_variables"]["DJANGO_DEPLOY_TARGET"] == "lambda"
    assert "environment_variables" not in stage  # baked into the package in plain text
    for key in ("memory_size", "timeout_seconds", "s3_bucket", "aws_region"):
        assert stage.get(key), key
    # Failed asynchronous invocations go to the on-failure destination the deploy sets (it
    # keeps the request and response, a dead-letter queue only the request); the deploy
    # checks and takes back the zips, and its smoke check replaces Zappa's "touch".
    assert "dead_letter_arn" not in stage
    assert stage["touch"] is False and stage["delete_s3_zip"] is False
    for package in ("boto3", "botocore", "s3transfer", "troposphere", "click", "setuptools"):
        assert package in stage["exclude"]
    s3 = [event for event in stage["events"] if "event_source" in event]
    assert s3 == [
        {
            "function": "apps.files.events.object_created",
            "event_source": {
                "arn": f"arn:aws:s3:::{stage['aws_environment_variables']['MEDIA_BUCKET']}",
                "events": ["s3:ObjectCreated:*"],
                "prefix": "uploads/",
            },
        }
    ]


def test_prod_is_quiet_and_the_stages_use_both_api_gateway_versions():
    assert STAGES["prod"]["debug"] is False
    assert STAGES["prod"]["log_level"] == "INFO"
    assert {STAGES["dev"]["apigateway_version"], STAGES["prod"]["apigateway_version"]} == {
        "v1",
        "v2",
    }


def test_no_secret_looking_values():
    def walk(value, path):
        if isinstance(value, dict):
            for key, item in value.items():
                assert not SECRET_NAME.search(key), f"{path}.{key} looks like a secret"
                walk(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]")
        elif isinstance(value, str):
            assert not SECRET_VALUE.search(value), f"{path} looks like a secret"

    walk(STAGES, "zappa_settings")


def test_schedule_events_are_the_registry_s():
    call_command("schedules", "--check")
    for stage in STAGES.values():
        scheduled = [event for event in stage["events"] if "expression" in event]
        assert scheduled == importlib.import_module("deploy.lambda.schedules").zappa_events()


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("django/conf/locale/es/LC_MESSAGES/django.mo", "locales"),
        ("django/conf/locale/pt_BR/formats.py", "locales"),
        ("django/conf/locale/fr/LC_MESSAGES/django.mo", None),
        ("django/conf/locale/en_GB/formats.py", None),
        ("django/conf/locale/__init__.py", None),
        ("apps/pages/locale/de/LC_MESSAGES/django.mo", None),
        ("somepackage/tests/test_x.py", "tests"),
        ("django/test/client.py", None),
        ("django/contrib/admin/static/admin/css/base.css", "app static sources"),
        ("var/staticfiles/admin/css/base.css", None),
        ("static/css/site.css", None),
        ("django/conf/locale/fr/LC_MESSAGES/django.po", "locales"),
        ("django-5.2.19.dist-info/RECORD", "wheel records"),
        ("django-5.2.19.dist-info/METADATA", None),
        ("django-5.2.19.dist-info/licenses/LICENSE", None),
        ("zappa/cli.py", "zappa, unused"),
        ("zappa/asynchronous.py", None),
        ("PIL/_avif.cpython-313-x86_64-linux-gnu.so", "never loaded"),
        ("PIL/_webp.cpython-313-x86_64-linux-gnu.so", None),
        ("django/contrib/gis/geos/base.py", "never loaded"),
    ],
)
def test_what_the_rewrite_removes(path, reason):
    assert load_packager().removal_reason(PurePosixPath(path)) == reason


def test_with_static_files_in_the_bucket_only_the_manifest_ships():
    removal_reason = load_packager().removal_reason
    assert removal_reason(PurePosixPath("static/css/site.css"), "s3") == "app static sources"
    assert removal_reason(PurePosixPath("apps/core/static.py"), "s3") is None


def test_stages_serve_static_files_from_the_bucket(monkeypatch):
    monkeypatch.delenv("DJANGO_STATIC_STORAGE", raising=False)
    packager = load_packager()
    for name in ("dev", "prod"):
        assert packager.static_storage(name) == "s3"
        assert STAGES[name]["aws_environment_variables"]["STATIC_CDN_DOMAIN"]


def test_the_zappa_closure_comes_hash_locked_from_dev_txt():
    lines = load_packager().zappa_requirements().splitlines()
    names = {line.split("==")[0] for line in lines}
    assert {"zappa", "troposphere", "durationpy"} <= names
    assert "django" not in names  # already in runtime.txt
    assert all("--hash=sha256:" in line for line in lines)


# --- the built package (make test-package) -------------------------------------------------

# The bytecode's tag: the build's Python, which package.py checks is the stage's runtime.
CPYTHON = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"

LAMBDA_ENV = {
    **DEPLOYED_ENV,
    "DJANGO_DEPLOY_TARGET": "lambda",
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "CANONICAL_HOST": "",  # redirects stay on the loopback host asked for
    "DATABASE_URL": "sqlite:///:memory:",
    # As the dev stage sets them: pages link the CDN, from the manifest in the package.
    "DJANGO_STATIC_STORAGE": "s3",
    "STATIC_BUCKET": "amphibian-dev-static",
    "STATIC_CDN_DOMAIN": "static.dev.amphibian.example.com",
    # /healthz and the home page touch no AWS service; anything that tries fails fast.
    "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
}


@pytest.fixture(scope="module")
def built_package():
    return build_package("dev")


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.package
def test_package_is_lean_and_within_lambda_limits(built_package):
    packager = load_packager()
    zipped, _unzipped = packager.check_limits(built_package)
    assert zipped < 25 * 1024 * 1024  # regressions show long before Lambda's 50 MB
    with zipfile.ZipFile(built_package) as archive:
        names = set(archive.namelist())
    tops = {name.split("/")[0] for name in names}
    assert not tops & {"boto3", "botocore", "troposphere", "click", "setuptools", "yaml"}
    assert not [name for name in names if "/tests/" in name or name.startswith("bench/")]
    assert developer_files(names) == []
    # Zappa's exclude lists deny, they do not allow: of the project's own tree only the code the
    # function runs may ship, whatever else (a cache, a new folder) appears in the checkout.
    from_checkout = tops & {path.name for path in ROOT.iterdir()}
    assert from_checkout <= {"apps", "project", "deploy", "manage.py"}, from_checkout
    shipped_deploy = {name.split("/")[1] for name in names if name.startswith("deploy/")}
    assert shipped_deploy <= {"__init__.py", "__pycache__", "lambda"}, shipped_deploy
    assert "deploy/lambda/handler.py" in names and "zappa_settings.py" in names
    assert f"deploy/lambda/__pycache__/handler.{CPYTHON}.pyc" in names
    # Static files are in the bucket: the manifest ships, the files do not.
    assert "deploy/lambda/static-manifest/staticfiles.json" in names
    assert not [name for name in names if name.startswith(("var/", "static/"))]
    assert not [name for name in names if name.startswith("django/conf/locale/es/")]
    # Third-party code as bytecode only, beside where its source was; ours keeps sources.
    assert "django/core/handlers/wsgi.pyc" in names
    assert "django/core/handlers/wsgi.py" not in names
    assert "apps/core/aws.py" in names
    assert not [name for name in names if name.endswith((".po", ".dist-info/RECORD"))]


@pytest.mark.package
def test_built_package_serves_healthz_and_home_in_the_local_lambda(built_package):
    port = free_port()
    process = subprocess.Popen(
        [
            *(sys.executable, "manage.py", "runlambda", "--zip", str(built_package)),
            *("--port", str(port), "--concurrency", "1", "--environment", "shell"),
        ],
        cwd=ROOT,
        env=subprocess_env(**LAMBDA_ENV, **TOOL_SETTINGS),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}/dev"
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = get(f"{base}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "runlambda did not start"
                time.sleep(0.2)
        assert status == 200
        status, body = get(f"{base}/en/")
        assert status == 200
        # Linked on the CDN from the packaged manifest: rendering called no AWS service.
        stylesheet = rb'href="https://static\.dev\.amphibian\.example\.com/static/css/site\.'
        assert re.search(stylesheet + rb'[0-9a-f]{12}\.css"', body), body[:2000]
    finally:
        stop_process(process, timeout=20)


@pytest.mark.package
def test_zappa_manage_migrate_runs_in_the_built_package(built_package, tmp_path):
    # Django's own migrations are bytecode-only there: the loader must still find them all.
    database = tmp_path / "db.sqlite3"
    invoked = subprocess.run(
        [
            *(sys.executable, "manage.py", "invokelambda", "--zip", str(built_package)),
            *("--environment", "shell"),
            *("--env", f"DATABASE_URL=sqlite:///{database}", "--manage", "migrate --noinput"),
        ],
        cwd=ROOT,
        env=subprocess_env(**LAMBDA_ENV, **TOOL_SETTINGS),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert invoked.returncode == 0, invoked.stdout[-3000:] + invoked.stderr[-3000:]
    with sqlite3.connect(database) as connection:
        applied = {app for (app,) in connection.execute("SELECT app FROM django_migrations")}
    assert {"auth", "contenttypes", "admin", "accounts", "files"} <= applied


@pytest.mark.package
def test_built_package_runs_against_the_local_stack_with_no_variables(built_package, tmp_path):
    # make run's stack, then `manage.py runlambda --zip` with nothing set for the function.
    stack = first_visit.local_stack(tmp_path / "localaws")
    try:
        env = first_visit.tool_env(stack, tmp_path / "db.sqlite3")
        running = first_visit.RunLambda(env, "--zip", str(built_package))
        try:
            seen = first_visit.visit(f"{running.url}/dev")
        finally:
            running.stop()
    finally:
        stack.stop()
    assert seen["home"][0] == 200, seen["home"][1][:2000]
    # The package's own manifest names the files the tool uploaded to the local bucket.
    assert seen["stylesheet"][0] == 200
    assert seen["sign_in"][0] == 302, seen["sign_in"][1]
    assert seen["files"][0] == 200
    assert first_visit.DEMO_USERNAME in seen["files"][1]
    assert "No directory at" not in running.output
    assert "Traceback" not in running.output


def test_the_shipped_check_catches_a_packaged_tool():
    names = [
        "apps/core/aws.py",
        "deploy/lambda/handler.py",
        "deploy/tools/localaws/server.py",
        "moto/core/models.pyc",
        "awslambdaric-3.0.dist-info/METADATA",
        "matplotlib/pyplot.pyc",
        "deploy/tools/costs/prices.json",
        "deploy/lambda/packager/rewrite.py",
    ]
    assert developer_files(names) == sorted(names[2:])


@pytest.mark.package
def test_the_same_sources_build_the_same_zip(built_package):
    """The deploy compares the zip's digest with the function's CodeSha256 to know whether
    the code changed: a second build of the same tree must be byte for byte the first (no
    build id, no temporary paths in the bytecode)."""
    again = build_package("dev", ROOT / "var" / "package" / "reproducible" / "amphibian-dev.zip")
    assert (
        hashlib.sha256(again.read_bytes()).digest()
        == hashlib.sha256(built_package.read_bytes()).digest()
    )
    with zipfile.ZipFile(again) as archive:
        assert "package_info.json" not in archive.namelist()
        code = archive.read(f"apps/core/__pycache__/views.{CPYTHON}.pyc")
    # Tracebacks name the code where Lambda keeps it.
    assert b"/var/task/apps/core/views.py" in code

"""Deploy-target settings: guard rails, check --deploy, no network at import time."""

import json
import subprocess
import sys

import pytest

from deploy.tools.harness.processes import DEPLOYED_ENV, ROOT, run_python, subprocess_env
from project.settings.base import DEPLOYED_REQUIRED_ENV
from project.targets import settings_module


def manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("target", ["server", "lambda"])
def test_deployed_targets_pass_check_deploy_without_warnings(target):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", DJANGO_DEPLOY_TARGET=target, **DEPLOYED_ENV
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize("target", ["server", "lambda"])
@pytest.mark.parametrize("missing", sorted(DEPLOYED_REQUIRED_ENV))
def test_deployed_targets_refuse_to_start_naming_the_missing_variable(target, missing):
    env = {key: value for key, value in DEPLOYED_ENV.items() if key != missing}
    result = manage("check", DJANGO_DEPLOY_TARGET=target, **env)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.endswith(
        f"{missing} is not set; the {target} target needs it. See README.md, 'Configuration'."
    )


@pytest.mark.parametrize("target", ["server", "lambda"])
def test_check_deploy_names_a_missing_or_foreign_canonical_host(target):
    env = {key: value for key, value in DEPLOYED_ENV.items() if key != "CANONICAL_HOST"}
    result = manage("check", "--deploy", DJANGO_DEPLOY_TARGET=target, **env)
    assert result.returncode != 0
    assert "(core.E001) CANONICAL_HOST is not set." in result.stderr
    result = manage(
        "check", "--deploy", DJANGO_DEPLOY_TARGET=target, **{**env, "CANONICAL_HOST": "evil.com"}
    )
    assert "(core.E002) CANONICAL_HOST 'evil.com' is not allowed by ALLOWED_HOSTS." in (
        result.stderr
    )


def test_check_deploy_refuses_rate_limits_counted_per_process():
    env = {key: value for key, value in DEPLOYED_ENV.items() if key != "RATE_LIMITS_TABLE"}
    result = manage("check", "--deploy", DJANGO_DEPLOY_TARGET="server", **env)
    assert result.returncode != 0
    assert "(core.E005) Rate limits count in LocMemCache, per process" in result.stderr
    result = manage(
        "check", DJANGO_DEPLOY_TARGET="lambda", **{**DEPLOYED_ENV, "RATE_LIMIT_BACKEND": "x"}
    )
    assert "(core.E003) RATE_LIMIT_BACKEND is 'x'." in result.stderr


def test_every_missing_variable_is_named_at_once():
    result = manage("check", DJANGO_DEPLOY_TARGET="server")
    assert "DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS, DATABASE_URL" in result.stderr
    assert "are not set; the server target needs them." in result.stderr


def test_blank_values_count_as_missing():
    result = manage(
        "check", DJANGO_DEPLOY_TARGET="lambda", **{**DEPLOYED_ENV, "MEDIA_BUCKET": " "}
    )
    assert "MEDIA_BUCKET is not set; the lambda target needs it." in result.stderr


def test_target_selects_settings_module():
    assert settings_module({}) == "project.settings.local"
    assert settings_module({"DJANGO_DEPLOY_TARGET": "lambda"}) == "project.settings.lambda"
    with pytest.raises(SystemExit, match="not a deploy target; use one of: local, server"):
        settings_module({"DJANGO_DEPLOY_TARGET": "staging"})


def test_local_target_runs_with_no_environment_at_all():
    result = manage("check")
    assert result.returncode == 0, result.stderr


def test_settings_import_opens_no_socket():
    """Importing each target's settings must not touch the network (audit hook)."""
    code = (
        "import importlib, sys\n"
        "def hook(event, args):\n"
        "    if event in ('socket.connect', 'socket.getaddrinfo'):\n"
        "        raise SystemExit(f'network at settings import: {event} {args}')\n"
        "sys.addaudithook(hook)\n"
        "for target in ('local', 'server', 'lambda', 'test'):\n"
        "    importlib.import_module(f'project.settings.{target}')\n"
        "print('ok')\n"
    )
    result = run_python(code, subprocess_env(**DEPLOYED_ENV))
    assert result.stdout.strip() == "ok", result.stderr


# A request for a missing page and one for a view that raises, through the local settings'
# whole stack (middleware, handlers, templates), in a cold process; prints what came back.
LOCAL_ERRORS = """
import json
import sys
import types

import django

from project.targets import configure

configure()  # DJANGO_DEPLOY_TARGET=local, as manage.py reads it
django.setup()
from django.conf import settings
from django.test import Client, override_settings
from django.urls import path

import project.urls


def crash(request):
    raise RuntimeError("boom")


urls = types.ModuleType("crashing_urls")
urls.urlpatterns = [path("crash/", crash), *project.urls.urlpatterns]
sys.modules["crashing_urls"] = urls
client = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1:8000")
with override_settings(ROOT_URLCONF="crashing_urls"):
    missing, failed = client.get("/en/nope/"), client.get("/crash/")
engine = settings.TEMPLATES[0]
print(json.dumps({
    "debug": settings.DEBUG,
    "404": [missing.status_code, missing.content.decode()],
    "500": [failed.status_code, failed.content.decode()],
    "loaders": engine["OPTIONS"].get("loaders"),
    "whitenoise": [settings.WHITENOISE_USE_FINDERS, settings.WHITENOISE_AUTOREFRESH,
                   settings.WHITENOISE_MAX_AGE],
}))
"""


def local_errors(tmp_path, **env):
    result = run_python(
        LOCAL_ERRORS,
        subprocess_env(
            DJANGO_DEPLOY_TARGET="local",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            LOCALAWS_PORT="9",  # discard: nothing answers, as when the stack is not started
            LOCALAWS_STATE_DIR=str(tmp_path / "localaws"),
            **env,
        ),
    )
    assert result.returncode == 0, result.stderr
    *log, answer = result.stdout.strip().splitlines()
    return json.loads(answer), "\n".join(log), result.stderr


def test_local_errors_are_the_sites_own_pages(tmp_path):
    """What a newcomer sees is what users see; the traceback is in the console log, once."""
    answer, log, stderr = local_errors(tmp_path)
    assert answer["debug"] is False
    status, page = answer["404"]
    assert status == 404 and "This page does not exist" in page and "URLconf" not in page
    status, page = answer["500"]
    assert status == 500 and "Something went wrong" in page and "Traceback" not in page
    assert log.count("Internal Server Error: /crash/") == 1
    assert log.count("RuntimeError: boom") == 1
    assert stderr == ""
    # Comfortable with DEBUG off: templates and static files as they are on disk, right now.
    assert answer["loaders"] == [
        "django.template.loaders.filesystem.Loader",
        "django.template.loaders.app_directories.Loader",
    ]
    assert answer["whitenoise"] == [True, True, 0]


def test_django_debug_true_shows_djangos_pages(tmp_path):
    answer, log, stderr = local_errors(tmp_path, DJANGO_DEBUG="true")
    assert answer["debug"] is True
    status, page = answer["404"]
    assert status == 404 and "Using the URLconf defined in" in page
    status, page = answer["500"]
    assert status == 500 and "RuntimeError at /crash/" in page and "Traceback" in page
    assert log.count("Internal Server Error: /crash/") == 1  # not again from Django's handler
    assert stderr == ""


def test_local_stack_state_dir_follows_its_variable(tmp_path):
    (tmp_path / "outputs.json").write_text(json.dumps({"COGNITO_USER_POOL_ID": "us-east-1_tmp"}))
    code = (
        "from project.settings import local\n"
        "print(local.LOCALAWS_STATE_DIR, local.COGNITO_USER_POOL_ID)\n"
    )
    result = run_python(code, subprocess_env(LOCALAWS_STATE_DIR=str(tmp_path)))
    assert result.stdout.split() == [str(tmp_path), "us-east-1_tmp"], result.stderr

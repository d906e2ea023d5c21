"""/healthz and /readyz against real parts: the moto server, SQLite and PostgreSQL."""

import json
import signal

import pytest
from django.conf import settings

from apps.core import aws
from deploy.tools.harness.loopback import free_port
from deploy.tools.harness.processes import DEPLOYED_ENV, run_python, subprocess_env


def test_healthz_is_ok_without_any_dependency(client, settings):
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_ok_when_everything_answers(client, local_aws):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "sessions_table": "ok", "media_bucket": "ok"},
    }


@pytest.mark.django_db
def test_readyz_names_a_missing_table_and_bucket(client, local_aws, settings):
    settings.SESSIONS_TABLE = "no-such-table"
    settings.MEDIA_BUCKET = "no-such-bucket"
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["sessions_table"].startswith("down: ")
    assert checks["media_bucket"].startswith("down: ")


@pytest.mark.django_db
def test_readyz_503_when_the_local_stack_stops(client, settings, localaws_process):
    stack = localaws_process()
    settings.AWS_ENDPOINT_URL = stack.url
    assert client.get("/readyz").status_code == 200

    stack.stop(signal.SIGTERM)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["sessions_table"] == "down: EndpointConnectionError"
    assert body["checks"]["media_bucket"] == "down: EndpointConnectionError"
    assert b"Traceback" not in response.content


def test_readiness_checks_use_short_timeouts_and_one_attempt(settings):
    settings.READINESS_TIMEOUT = 0.75
    from apps.core.health import _fast_client

    config = _fast_client("dynamodb").meta.config
    assert (config.connect_timeout, config.read_timeout) == (0.75, 0.75)
    assert config.retries["total_max_attempts"] == 1
    assert _fast_client("dynamodb") is not aws.client("dynamodb")


READYZ_PROBE = """
import json
import project.wsgi
from django.test import Client
response = Client().get("/readyz", secure=True, HTTP_HOST="app.example.com")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


@pytest.mark.parametrize("target", ["server", "lambda"])
def test_readyz_on_deployed_targets_with_postgresql(target, local_aws, postgres_url):
    """The real thing: the target's settings, PostgreSQL and the local stack."""

    def readyz(database_url):
        result = run_python(
            READYZ_PROBE,
            subprocess_env(
                DJANGO_DEPLOY_TARGET=target,
                **{
                    **DEPLOYED_ENV,
                    "DATABASE_URL": database_url,
                    "AWS_ENDPOINT_URL": local_aws.url,
                    "AWS_ACCESS_KEY_ID": "test",
                    "AWS_SECRET_ACCESS_KEY": "test",
                    "AWS_REGION": "us-east-1",
                    "SESSIONS_TABLE": settings.SESSIONS_TABLE,
                    "MEDIA_BUCKET": settings.MEDIA_BUCKET,
                },
            ),
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    up = readyz(postgres_url)
    assert up == {
        "status": 200,
        "body": {
            "status": "ok",
            "checks": {"database": "ok", "sessions_table": "ok", "media_bucket": "ok"},
        },
    }
    down = readyz(f"postgres://postgres@127.0.0.1:{free_port()}/test")
    assert down["status"] == 503
    assert down["body"]["checks"]["database"] == "down: OperationalError"
    assert down["body"]["checks"]["sessions_table"] == "ok"


def test_probes_answer_whatever_the_host_header(client, settings):
    settings.ALLOWED_HOSTS = ["app.example.com"]
    assert client.get("/healthz", HTTP_HOST="10.0.3.17:8000").status_code == 200
    assert client.get("/en/", HTTP_HOST="10.0.3.17:8000").status_code == 400  # pages still refuse


CALLS = []


def counted_check():
    CALLS.append(1)


def test_readyz_reuses_its_result_for_a_few_seconds(client, settings, monkeypatch):
    from apps.core import health

    monkeypatch.setitem(health._last, "result", None)  # an earlier test's round
    settings.READINESS_CHECKS = {"counted": f"{__name__}.counted_check"}
    settings.READINESS_CACHE_SECONDS = 60
    CALLS.clear()
    for _ in range(20):
        assert client.get("/readyz").status_code == 200
    assert len(CALLS) == 1
    settings.READINESS_CACHE_SECONDS = 0
    client.get("/readyz")
    assert len(CALLS) == 2


def test_readyz_details_only_for_health_check_sources(settings):
    from django.test import Client

    settings.READINESS_CHECKS = {"counted": f"{__name__}.counted_check"}
    public = Client(REMOTE_ADDR="203.0.113.5").get("/readyz")
    assert public.json() == {"status": "ok"}
    private = Client(REMOTE_ADDR="10.0.1.17").get("/readyz")
    assert private.json() == {"status": "ok", "checks": {"counted": "ok"}}


def test_probes_say_nosniff(client):
    for path in ("/healthz", "/readyz"):
        assert client.get(path)["X-Content-Type-Options"] == "nosniff"

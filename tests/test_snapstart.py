"""deploy.lambda.snapstart: an init that makes nothing unique, and the hooks that keep restored
copies of one snapshot apart.

The init itself (nothing unique made, on the built package) and the restores (forked copies
of a snapshot) are in tests/test_package_snapstart.py; these run the hooks in this process.
"""

import importlib
import json
import logging
import random
import uuid

import boto3.session
import pytest

from apps.accounts import jwks
from apps.core import aws, health
from project.settings import secrets

snapstart = importlib.import_module("deploy.lambda.snapstart")


def test_init_warms_up_urls_templates_translations_storages_and_the_home_page():
    phases = snapstart.warm_up()
    assert set(phases) == {"urls", "templates", "translations", "jwks", "storages", "home page"}
    from django.conf import settings

    assert snapstart._compile_templates(settings.BASE_DIR) > 10


def test_before_snapshot_drops_aws_clients(local_aws):
    # (Its closed database connections are checked on PostgreSQL, through restored copies of
    # the built package: tests/test_package_snapstart.py. The suite's in-memory SQLite
    # connection is one Django never closes.)
    s3 = aws.client("s3")
    assert aws._clients
    snapstart.before_snapshot()
    assert aws._clients == {}
    # The next request makes a new one, lazily.
    assert aws.client("s3") is not s3


def test_after_restore_reseeds_random_from_the_snapshots_state():
    # Two restores of one snapshot start from the same generator state, as on AWS.
    random.seed(1234)
    snapshot = random.getstate()
    drawn = []
    for _ in range(2):
        random.setstate(snapshot)
        snapstart.after_restore()
        drawn.append([random.random() for _ in range(4)])  # noqa: S311
    random.setstate(snapshot)
    without_hook = [random.random() for _ in range(4)]  # noqa: S311
    assert drawn[0] != drawn[1]
    assert without_hook not in drawn


def test_after_restore_forgets_timers_and_cached_results(settings, tmp_path):
    seed = tmp_path / "jwks.json"
    seed.write_text(json.dumps({"keys": []}))
    settings.COGNITO_JWKS_FILE = str(seed)
    settings.COGNITO_JWKS_URL = "http://127.0.0.1:9/jwks.json"
    cache = jwks.jwks_cache()
    cache.get_key("unknown")  # a failed fetch: the cooldown starts, the count is 1
    assert cache.fetches == 1 and cache._last_fetch is not None
    health._last.update(at=123.0, result=(True, {"database": "ok"}))
    snapstart.after_restore()
    assert cache.fetches == 0 and cache._last_fetch is None
    assert health._last["result"] is None


def test_after_restore_logs_one_json_line_with_its_cost(caplog):
    snapstart.before_snapshot()
    with caplog.at_level(logging.INFO, logger="deploy.lambda.snapstart"):
        snapstart.after_restore()
    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "snapstart.restore"]
    assert record.hooks_ms >= 0
    assert record.snapshot_age_s is not None and record.snapshot_age_s >= 0
    assert record.database_secret_refreshed is False


@pytest.fixture
def rotated_secret(local_aws):
    client = aws.client("secretsmanager")
    arn = client.create_secret(
        Name=f"rds!db-{uuid.uuid4()}",
        SecretString=json.dumps({"username": "admin", "password": "before-rotation"}),
    )["ARN"]
    environ = {
        "DATABASE_SECRET_ARN": arn,
        "DATABASE_HOST": "proxy.example.internal",
        "DATABASE_NAME": "amphibian",
        "AWS_ENDPOINT_URL": local_aws.url,
        "AWS_REGION": "us-east-1",
    }
    # The local stack's keys (the module builds its client from the process's environment).
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test")
    first = secrets.database_url(environ, session=session)
    client.put_secret_value(
        SecretId=arn, SecretString=json.dumps({"username": "admin", "password": "after"})
    )
    return environ, first, session


def test_a_fresh_database_secret_is_not_read_again(rotated_secret):
    environ, first, session = rotated_secret
    assert "before-rotation" in first
    assert secrets.refresh_database_url(3600, environ, session=session) is None


def test_a_stale_database_secret_is_read_again_after_restore(rotated_secret):
    environ, _first, session = rotated_secret
    url = secrets.refresh_database_url(0, environ, session=session)
    assert url is not None and ":after@proxy.example.internal" in url
    assert environ["DATABASE_URL"] == url


@pytest.mark.django_db
def test_the_warm_up_request_is_the_home_page_or_the_root_without_the_pages_app(settings):
    from project.wsgi import application

    settings.ALLOWED_HOSTS = ["app.example.com"]
    settings.CANONICAL_HOST = "app.example.com"
    assert snapstart._home_page(application, "/") == "200 OK"
    # A project whose URLconf has no pages app (tests/support/lambda_urls.py): its root.
    settings.ROOT_URLCONF = "tests.support.lambda_urls"
    assert snapstart._home_page(application, "/") is not None

"""Static files on S3 behind a CDN (the lambda target's DJANGO_STATIC_STORAGE=s3)."""

import json
import re
import subprocess
import sys

from django.conf import settings

from apps.core import aws
from deploy.tools.harness.loopback import free_port
from deploy.tools.harness.processes import DEPLOYED_ENV, ROOT, subprocess_env

RENDER = """
import json
import project.wsgi
from django.test import Client
response = Client().get("/en/", secure=True, HTTP_HOST="app.example.com")
print(json.dumps({"status": response.status_code, "html": response.content.decode()}))
"""


def run(code_or_args, env):
    command = (
        [sys.executable, "-c", code_or_args]
        if isinstance(code_or_args, str)
        else [sys.executable, "manage.py", *code_or_args]
    )
    result = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_collectstatic_uploads_hashed_files_and_pages_render_without_s3(local_aws, tmp_path):
    env = {
        **DEPLOYED_ENV,
        "DJANGO_DEPLOY_TARGET": "lambda",
        "DJANGO_STATIC_STORAGE": "s3",
        "STATIC_BUCKET": settings.STATIC_BUCKET,
        "STATIC_CDN_DOMAIN": "d111111abcdef8.cloudfront.net",
        "DJANGO_STATIC_MANIFEST_DIR": str(tmp_path / "manifest"),
        "DATABASE_URL": "sqlite://:memory:",
        "AWS_ENDPOINT_URL": local_aws.url,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    run(["collectstatic", "--noinput", "-v0"], subprocess_env(**env))
    assert (tmp_path / "manifest" / "staticfiles.json").exists()

    # Rendering must not touch S3: point the endpoint at a closed port.
    closed = {**env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    rendered = json.loads(run(RENDER, subprocess_env(**closed)).strip().splitlines()[-1])
    html = rendered["html"]
    assert rendered["status"] == 200
    href = re.search(
        r'href="(https://d111111abcdef8\.cloudfront\.net/static/css/site\.[0-9a-f]{12}\.css)"',
        html,
    )
    assert href, html[:500]

    key = href.group(1).split(".net/", 1)[1]
    head = aws.client("s3").head_object(Bucket=settings.STATIC_BUCKET, Key=key)
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert head["ContentType"] == "text/css"


def test_s3_static_storage_needs_its_settings():
    env = {**DEPLOYED_ENV, "DJANGO_DEPLOY_TARGET": "lambda", "DJANGO_STATIC_STORAGE": "s3"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=subprocess_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "STATIC_BUCKET, STATIC_CDN_DOMAIN are not set" in result.stderr

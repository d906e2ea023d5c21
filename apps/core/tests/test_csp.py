"""Content-Security-Policy (apps.core.csp): on every page, with this target's origins, its
nonces, its report endpoint; and Permissions-Policy."""

import json
import logging
import re
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.template import engines
from django.test import Client, override_settings
from django.urls import include, path

from apps.core.logs import JSONFormatter
from apps.core.storage import MediaStorage

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


def policy(response, header="Content-Security-Policy"):
    """The header as ``{directive: [sources]}``."""
    assert header in response, f"no {header} on {response.status_code} {response.request}"
    directives = {}
    for part in response[header].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def origin_of(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@pytest.fixture
def signed_in(client, local_aws):
    user = get_user_model().objects.create_user(
        username=f"u-{uuid.uuid4().hex[:6]}", sub=str(uuid.uuid4()), email="ada@example.com"
    )
    client.force_login(user)
    return client


PAGES = {
    "home": "/en/",
    "about": "/en/about/",
    "contact": "/en/contact/",
    "login": "/accounts/login/",
    "not found": "/en/no-such-page/",
}


@pytest.mark.parametrize("url", PAGES.values(), ids=PAGES.keys())
def test_every_page_carries_the_policy(client, local_aws, url):
    response = client.get(url)
    assert response["Content-Type"].startswith("text/html")
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["form-action"] == ["'self'"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert directives["report-uri"] == ["/csp-report"]
    assert "camera=()" in response["Permissions-Policy"]


def test_the_files_page_signed_in_allows_uploads_and_thumbnails_from_the_bucket(signed_in):
    response = signed_in.get("/en/files/")
    assert response.status_code == 200
    directives = policy(response)
    presigned = MediaStorage().presigned_post(
        "uploads/x", content_type="image/png", max_bytes=10, expires=60
    )
    assert origin_of(presigned["url"]) in directives["connect-src"]
    assert origin_of(MediaStorage().url("thumbnails/x.webp")) in directives["img-src"]


def test_the_admin_login_redirect_and_the_page_it_leads_to(client, local_aws):
    redirect = client.get("/admin/login/?next=/admin/")
    assert redirect.status_code == 302
    policy(redirect)
    page = client.get(redirect["Location"])
    assert page.status_code == 200
    policy(page)


def test_the_csrf_failure_page(local_aws):
    response = Client(enforce_csrf_checks=True).post("/en/contact/", {"name": "Ada"})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert policy(response)["frame-ancestors"] == ["'none'"]


def test_non_html_responses_get_it_too(client):
    response = client.get("/robots.txt")
    policy(response)
    assert "microphone=()" in response["Permissions-Policy"]


@override_settings(
    PERMISSIONS_POLICY={
        "camera": [],
        "fullscreen": ["self"],
        "payment": ["self", "https://p.example"],
    }
)
def test_permissions_policy_is_written_as_structured_fields(client):
    assert client.get("/robots.txt")["Permissions-Policy"] == (
        'camera=(), fullscreen=(self), payment=(self "https://p.example")'
    )


# --- Nonces --------------------------------------------------------------------------------


def inline_script_view(request):
    template = engines["django"].from_string(
        '<script nonce="{{ CSP_NONCE }}">document.title = "x";</script>'
    )
    return HttpResponse(template.render({}, request))


urlpatterns = [path("inline/", inline_script_view), path("", include("apps.core.urls"))]


@override_settings(ROOT_URLCONF=__name__)
def test_a_nonce_is_fresh_per_response_and_matches_the_inline_script(client):
    nonces = []
    for _ in range(2):
        response = client.get("/inline/")
        nonce = re.search(r'nonce="([^"]+)"', response.content.decode()).group(1)
        assert f"'nonce-{nonce}'" in policy(response)["script-src"]
        assert policy(response)["report-uri"] == ["/csp-report"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


class WithoutReports:
    urlpatterns = [path("inline/", inline_script_view)]


@override_settings(ROOT_URLCONF=WithoutReports)
def test_a_urlconf_without_the_report_endpoint_asks_for_no_reports(client):
    response = client.get("/inline/")
    assert response.status_code == 200
    assert "report-uri" not in policy(response)


def test_a_page_without_inline_script_sends_no_nonce(client):
    assert "'nonce-" not in client.get("/en/about/")["Content-Security-Policy"]


# Inline script, inline style, event handler attributes: what the policy refuses.
INLINE = re.compile(
    r"<script(?![^>]*\b(?:src|nonce)=)[^>]*>|<style(?![^>]*\bnonce=)[^>]*>"
    r"|\son[a-z]+\s*=|\sstyle\s*=",
    re.IGNORECASE,
)


def test_no_template_has_inline_script_or_style_without_a_nonce():
    templates = sorted(ROOT.glob("apps/*/templates/**/*.html"))
    assert templates
    found = {
        str(template.relative_to(ROOT)): INLINE.findall(template.read_text())
        for template in templates
    }
    assert {name: hits for name, hits in found.items() if hits} == {}


# --- The origins, from the settings at call time -------------------------------------------


@override_settings(
    AWS_ENDPOINT_URL=None,
    AWS_ENDPOINT_URLS={},
    AWS_REGION="eu-west-1",
    MEDIA_BUCKET="amphibian-media-123",
    STATIC_CDN_DOMAIN="d111.cloudfront.net",
    STATIC_CDN_PROTOCOL="https:",
)
def test_deployed_the_policy_names_the_bucket_and_the_cdn(client):
    directives = policy(client.get("/en/about/"))
    bucket = [
        "https://amphibian-media-123.s3.amazonaws.com",
        "https://amphibian-media-123.s3.eu-west-1.amazonaws.com",
    ]
    assert directives["connect-src"] == ["'self'", *bucket]
    assert directives["img-src"] == ["'self'", "https://d111.cloudfront.net", *bucket]
    for directive in ("script-src", "style-src", "font-src"):
        assert directives[directive] == ["'self'", "https://d111.cloudfront.net"]
    # As botocore addresses the bucket, the deployed way (no endpoint override).
    storage = MediaStorage()
    post = storage.presigned_post("k", content_type="image/png", max_bytes=1, expires=60)
    assert origin_of(post["url"]) in directives["connect-src"]
    assert origin_of(storage.url("k")) in directives["img-src"]


@override_settings(
    AWS_ENDPOINT_URL=None, AWS_ENDPOINT_URLS={}, AWS_REGION="eu-west-1", MEDIA_BUCKET="media.a.b"
)
def test_a_bucket_with_dots_is_reached_by_path_on_s3s_hosts(client):
    directives = policy(client.get("/en/about/"))
    hosts = ["https://s3.amazonaws.com", "https://s3.eu-west-1.amazonaws.com"]
    assert directives["connect-src"] == ["'self'", *hosts]


@override_settings(
    AWS_ENDPOINT_URL="http://127.0.0.1:4566",
    AWS_ENDPOINT_URLS={"S3": "http://127.0.0.1:4599"},
    STATIC_CDN_DOMAIN="127.0.0.1:4566/amphibian-local-static",
    STATIC_CDN_PROTOCOL="http:",
    STATIC_URL="http://127.0.0.1:4566/amphibian-local-static/static/",
)
def test_locally_the_policy_names_the_stacks_endpoints(client):
    directives = policy(client.get("/en/about/"))
    assert directives["connect-src"] == ["'self'", "http://127.0.0.1:4599"]  # S3's own wins
    assert directives["script-src"] == ["'self'", "http://127.0.0.1:4566"]
    assert directives["img-src"] == ["'self'", "http://127.0.0.1:4566", "http://127.0.0.1:4599"]


@override_settings(COGNITO_DOMAIN="auth.example.com")
def test_the_hosted_ui_is_a_form_action_for_the_sign_out_redirect(client):
    assert policy(client.get("/en/about/"))["form-action"] == [
        "'self'",
        "https://auth.example.com",
    ]


def test_a_report_only_policy_gets_the_same_origins(client, settings):
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"img-src": ["'none'"]}}
    settings.STATIC_CDN_DOMAIN = "d111.cloudfront.net"
    response = client.get("/en/about/")
    trial = policy(response, "Content-Security-Policy-Report-Only")
    assert "https://d111.cloudfront.net" in trial["img-src"]
    assert "https://d111.cloudfront.net" in policy(response)["img-src"]


# --- The report endpoint -------------------------------------------------------------------

REPORT_URI_BODY = {
    "csp-report": {
        "document-uri": "https://example.com/en/",
        "blocked-uri": "inline",
        "effective-directive": "script-src-elem",
        "violated-directive": "script-src-elem",
        "original-policy": "default-src 'self'",
        "disposition": "enforce",
        "source-file": "https://example.com/en/",
        "line-number": 12,
        "column-number": 3,
        "script-sample": "alert(1)",
        "status-code": 200,
    }
}
REPORTING_API_BODY = [
    {
        "type": "csp-violation",
        "age": 10,
        "url": "https://example.com/en/files/",
        "user_agent": "Chrome",
        "body": {
            "documentURL": "https://example.com/en/files/",
            "blockedURL": "https://evil.example/x.js",
            "effectiveDirective": "script-src-elem",
            "disposition": "enforce",
            "originalPolicy": "default-src 'self'",
            "statusCode": 200,
        },
    },
    {"type": "deprecation", "body": {"id": "x"}},
    {
        "type": "csp-violation",
        "body": {"blockedURL": "https://evil.example/y.png", "effectiveDirective": "img-src"},
    },
]


def report(client, body, content_type="application/csp-report", **extra):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/csp-report", raw, content_type=content_type, **extra)


def violation_lines(caplog):
    records = [r for r in caplog.records if r.name == "apps.core.csp"]
    return [json.loads(JSONFormatter().format(record)) for record in records]


def test_a_report_uri_report_is_one_json_log_line(django_assert_num_queries, caplog):
    caplog.set_level(logging.WARNING, logger="apps.core.csp")
    with django_assert_num_queries(0):
        # Browsers send no CSRF token; the session is neither read nor written.
        response = report(Client(enforce_csrf_checks=True), REPORT_URI_BODY)
    assert response.status_code == 204
    assert "Set-Cookie" not in response and not response.cookies
    [line] = violation_lines(caplog)
    assert line["level"] == "WARNING"
    assert line["csp_violation"] == {
        "document": "https://example.com/en/",
        "blocked": "inline",
        "directive": "script-src-elem",
        "disposition": "enforce",
        "source": "https://example.com/en/",
        "line": 12,
        "column": 3,
        "sample": "alert(1)",
    }


def test_a_reporting_api_batch_logs_each_csp_violation(client, caplog):
    caplog.set_level(logging.WARNING, logger="apps.core.csp")
    response = report(client, REPORTING_API_BODY, content_type="application/reports+json")
    assert response.status_code == 204
    blocked = [line["csp_violation"]["blocked"] for line in violation_lines(caplog)]
    assert blocked == ["https://evil.example/x.js", "https://evil.example/y.png"]


def test_long_fields_are_cut(client, caplog):
    caplog.set_level(logging.WARNING, logger="apps.core.csp")
    body = {"csp-report": {"blocked-uri": "https://evil.example/" + "a" * 5000}}
    assert report(client, body).status_code == 204
    [line] = violation_lines(caplog)
    assert len(line["csp_violation"]["blocked"]) == 512


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (REPORT_URI_BODY, "text/plain"),
        (REPORT_URI_BODY, "application/x-www-form-urlencoded"),
        (b"not json", "application/csp-report"),
        (b"\xff\xfe", "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        ({"something": "else"}, "application/json"),
        ([1, 2], "application/reports+json"),
        ({"csp-report": {"blocked-uri": "x\u0000"}}, "application/csp-report"),
    ],
    ids=["text", "form", "not-json", "not-utf8", "deep", "not-a-report", "not-reports", "nul"],
)
def test_what_is_not_a_json_report_is_400(client, caplog, body, content_type):
    assert report(client, body, content_type=content_type).status_code == 400
    assert violation_lines(caplog) == []


def test_a_body_past_the_limit_is_413_unread(client, settings, caplog):
    settings.CSP_REPORT_MAX_BYTES = 1024
    big = {"csp-report": {"blocked-uri": "x" * 2000}}
    assert report(client, big).status_code == 413
    assert violation_lines(caplog) == []


def test_only_post(client):
    assert client.get("/csp-report").status_code == 405

"""Host-header attacks: no redirect names a host that ALLOWED_HOSTS or CANONICAL_HOST does not
allow, and a malformed host is a 400 before any redirect (issue 16, finding 1)."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

ALLOWED = "app.example.com"
ATTACKS = [
    "evil.com",
    "127.0.0.1:8101@evil.com",
    "app.example.com@evil.com",
    "evil.com#app.example.com",
    "app.example.com.evil.com",
    "[::1",
    "[::1]:80]",
    "app.example.com:80:80",
    "app.example.com, evil.com",
    "",
]
# Paths that redirect (language prefix, trailing slash, the API's slash).
REDIRECTING = ["/about/", "/", "/en/about", "/api/files", "/contact/?ref=x"]


@pytest.fixture
def no_canonical(settings):
    settings.CANONICAL_HOST = None
    settings.CANONICAL_HOST_HEADER = None
    settings.ALLOWED_HOSTS = [ALLOWED]
    settings.SECURE_SSL_REDIRECT = True
    return settings


def _get(path, **headers):
    return Client(raise_request_exception=True).get(path, **headers)


@pytest.mark.parametrize("host", ATTACKS)
@pytest.mark.parametrize("path", REDIRECTING)
def test_a_foreign_or_malformed_host_is_a_400_not_a_redirect(no_canonical, host, path):
    response = _get(path, HTTP_HOST=host)
    assert response.status_code == 400
    assert "Location" not in response
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_an_allowed_host_is_still_redirected_to_itself(no_canonical):
    response = _get("/about/", HTTP_HOST=ALLOWED)
    assert response.status_code == 302  # https and language at once: one hop
    assert urlsplit(response["Location"]).netloc == ALLOWED


def test_trusted_forwarded_host_is_checked_like_host(no_canonical):
    no_canonical.USE_X_FORWARDED_HOST = True
    refused = _get("/about/", HTTP_HOST=ALLOWED, HTTP_X_FORWARDED_HOST="evil.com")
    assert refused.status_code == 400
    listed = _get("/about/", HTTP_HOST=ALLOWED, HTTP_X_FORWARDED_HOST=f"{ALLOWED}, evil.com")
    assert listed.status_code == 400  # a proxy that appends: the first entry is the client's
    moved = _get("/about/", HTTP_HOST="10.0.0.5", HTTP_X_FORWARDED_HOST=ALLOWED)
    assert urlsplit(moved["Location"]).netloc == ALLOWED


def test_with_a_canonical_host_every_redirect_names_it(no_canonical):
    no_canonical.CANONICAL_HOST = ALLOWED
    response = _get("/about/", HTTP_HOST="evil.com")
    assert response.status_code in (301, 302)
    assert urlsplit(response["Location"]).netloc == ALLOWED
    assert _get("/about/", HTTP_HOST="[::1").status_code == 400


def test_cdn_viewer_host_header_is_checked_too(no_canonical):
    no_canonical.CANONICAL_HOST_HEADER = "X-Viewer-Host"
    response = _get("/about/", HTTP_HOST=ALLOWED, HTTP_X_VIEWER_HOST="evil.com")
    assert response.status_code == 400


@pytest.mark.parametrize("path", ["/about%0d%0aSet-Cookie:%20x=1", "/api/files%0d%0a", "/a b"])
def test_a_decoded_newline_in_the_path_never_reaches_the_location(no_canonical, path):
    response = _get(path, HTTP_HOST=ALLOWED)
    assert response.status_code in (301, 302, 404)
    assert "\n" not in response.get("Location", "") and "\r" not in response.get("Location", "")


def test_probes_answer_any_host(no_canonical):
    # A load balancer probes with the instance's address; the probes come before hosts.
    assert _get("/healthz", HTTP_HOST="10.0.1.17:8000").status_code == 200


_host_chars = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789.-:[]@#/?%\\ ,_*"),
    max_size=40,
)


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(host=st.one_of(_host_chars, st.builds(lambda t: ALLOWED + t, _host_chars)))
def test_no_host_gets_a_redirect_to_anywhere_else(no_canonical, host):
    response = _get("/about/", HTTP_HOST=host)
    assert response.status_code in (301, 302, 400)
    if response.status_code != 400:
        assert urlsplit(response["Location"]).hostname == ALLOWED

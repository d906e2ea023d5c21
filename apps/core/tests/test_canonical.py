"""One redirect at most: scheme x host x language prefix x cookie x Accept-Language."""

import itertools
import urllib.parse

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client, RequestFactory
from django.urls import set_script_prefix
from django.utils import translation
from django.utils.translation import trans_real

CANONICAL = "example.com"
HOSTS = [CANONICAL, "www.example.com", "abc123.execute-api.eu-west-1.amazonaws.com"]
PATHS = {  # requested path -> (page's language if the path names one, final path by language)
    "/": (None, {"en": "/en/", "fr": "/fr/", "de": "/de/"}),
    "/about/": (None, {"en": "/en/about/", "fr": "/fr/a-propos/", "de": "/de/ueber-uns/"}),
    "/a-propos": (None, {"en": "/en/about/", "fr": "/fr/a-propos/", "de": "/de/ueber-uns/"}),
    "/fr/a-propos/": ("fr", {"fr": "/fr/a-propos/"}),
    "/de/ueber-uns": ("de", {"de": "/de/ueber-uns/"}),
    "/en/how-it-works/": ("en", {"en": "/en/how-it-works/"}),
}
COOKIES = [None, "de"]
ACCEPT = [None, "fr-CH,fr;q=0.9,de;q=0.7,*;q=0.5", "de-CH", "*", "xx;q=nonsense,,;;"]


@pytest.fixture
def canonical_settings(settings):
    settings.CANONICAL_HOST = CANONICAL
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = [CANONICAL]
    return settings


def expected_language(path_language, cookie, accept):
    if path_language:
        return path_language
    if cookie:
        return cookie
    return negotiated(accept)


def fetch(client, url, headers):
    parts = urllib.parse.urlsplit(url)
    return client.get(
        parts.path + (f"?{parts.query}" if parts.query else ""),
        secure=parts.scheme == "https",
        HTTP_HOST=parts.netloc,
        headers=headers,
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("scheme", "host", "path", "cookie", "accept"),
    list(itertools.product(["http", "https"], HOSTS, PATHS, COOKIES, ACCEPT)),
)
def test_every_request_ends_at_its_canonical_url_in_at_most_one_hop(
    canonical_settings, scheme, host, path, cookie, accept
):
    client = Client()
    if cookie:
        client.cookies["django_language"] = cookie
    headers = {"Accept-Language": accept} if accept else {}
    path_language, finals = PATHS[path]
    language = expected_language(path_language, cookie, accept)
    expected = f"https://{CANONICAL}{finals[language]}"

    url, hops = f"{scheme}://{host}{path}", 0
    response = fetch(client, url, headers)
    while response.status_code in (301, 302):
        hops += 1
        assert hops <= 1, f"second redirect from {url} to {response['Location']}"
        url = response["Location"]
        response = fetch(client, url, headers)
    assert response.status_code == 200
    assert url == expected
    assert hops == (0 if url == f"{scheme}://{host}{path}" else 1)


@pytest.mark.django_db
def test_canonical_url_is_served_without_redirect(canonical_settings):
    response = Client().get("/en/", secure=True, HTTP_HOST=CANONICAL)
    assert response.status_code == 200
    assert response["Content-Language"] == "en"


@pytest.mark.django_db
def test_language_redirects_are_temporary_and_vary(canonical_settings):
    response = Client().get("/", secure=True, HTTP_HOST=CANONICAL, HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 302
    assert {"Accept-Language", "Cookie"} <= {v.strip() for v in response["Vary"].split(",")}


@pytest.mark.django_db
def test_scheme_and_host_redirects_are_permanent(canonical_settings):
    response = Client().get("/en/about/", HTTP_HOST="www.example.com")
    assert response.status_code == 301
    assert response["Location"] == f"https://{CANONICAL}/en/about/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "location"),
    [("/", "/dev/en/"), ("/about/", "/dev/en/about/"), ("/en/about", "/dev/en/about/")],
)
def test_redirects_under_a_stage_name_it_once(canonical_settings, path, location):
    # API Gateway's stage URL: the handler passes /dev as SCRIPT_NAME, the rest as PATH_INFO.
    # Through WSGIHandler, which sets the script prefix reverse() uses (the test client does not).
    environ = RequestFactory().get(path, secure=True, HTTP_HOST=CANONICAL).environ
    environ["SCRIPT_NAME"] = "/dev"
    answers = []
    try:
        WSGIHandler()(environ, lambda status, headers: answers.append(dict(headers)))
    finally:
        set_script_prefix("/")
    assert answers[0]["Location"] == f"https://{CANONICAL}{location}"


def test_health_checks_are_not_redirected(canonical_settings):
    assert Client().get("/healthz", HTTP_HOST=CANONICAL).status_code == 200


def test_query_string_is_kept(canonical_settings):
    response = Client().get("/contact/", {"ref": "mail"}, HTTP_HOST="www.example.com")
    assert response["Location"] == f"https://{CANONICAL}/en/contact/?ref=mail"


def test_cdn_host_header_names_the_viewer_host(canonical_settings):
    canonical_settings.CANONICAL_HOST_HEADER = "X-Viewer-Host"
    origin = "abc123.execute-api.eu-west-1.amazonaws.com"
    canonical_settings.ALLOWED_HOSTS = [CANONICAL, origin]
    served = Client().get("/en/", secure=True, HTTP_HOST=origin, HTTP_X_VIEWER_HOST=CANONICAL)
    assert served.status_code == 200
    moved = Client().get("/en/", secure=True, HTTP_HOST=origin)
    assert moved["Location"] == f"https://{CANONICAL}/en/"


def test_forwarded_host_only_when_trusted(canonical_settings):
    client = Client()
    untrusted = client.get(
        "/en/", secure=True, HTTP_HOST=CANONICAL, HTTP_X_FORWARDED_HOST="evil.com"
    )
    assert untrusted.status_code == 200
    canonical_settings.USE_X_FORWARDED_HOST = True
    trusted = client.get(
        "/en/", secure=True, HTTP_HOST="10.0.0.5", HTTP_X_FORWARDED_HOST="www.example.com"
    )
    assert trusted["Location"] == f"https://{CANONICAL}/en/"


def test_posts_are_not_moved_between_languages(canonical_settings):
    response = Client().post("/contact/", secure=True, HTTP_HOST=CANONICAL)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("en-US,en;q=0.9,de;q=0.7,*;q=0.5", "en"),
        ("de-CH", "de"),
        ("*", "en"),
        ("fr;q=0.1,de;q=0.2", "de"),
        ("es,it", "en"),
        ("es,*;q=0.1", "en"),
        ("", "en"),
        (";;,,q=1", "en"),
        # Django refuses a header with a malformed entry as a whole: the default language.
        ("de;q=2,fr", "en"),  # an out-of-range q is not trusted
        ("de;q=abc,fr;q=0.5", "en"),
        ("fr-\u00e9,de", "en"),
        ("x" * 10_000, "en"),
        (",".join(["es"] * 5000) + ",fr", "en"),  # beyond the 500 characters Django reads
        ("FR-ca", "fr"),
    ],
)
def test_accept_language_negotiation(header, language):
    assert negotiated(header) == language


def test_a_cookie_is_an_explicit_choice_over_the_header():
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="de")
    request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = "fr"
    assert translation.get_language_from_request(request) == "fr"


def test_parser_ranks_by_quality_then_order():
    assert trans_real.parse_accept_lang_header("a;q=0.5, b, c;q=0.5, d;q=0.9") == (
        ("b", 1.0),
        ("d", 0.9),
        ("a", 0.5),
        ("c", 0.5),
    )


def negotiated(accept):
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE=accept or "")
    return translation.get_language_from_request(request)

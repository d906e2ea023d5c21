"""No input gives a 500: every endpoint of the app under arbitrary text, bytes, JSON,
query strings and Authorization headers.

Hypothesis drives Django's test client with ``raise_request_exception=True``, so an
exception that escapes a view or a middleware fails the test with its traceback; every
answer must be below 500 (the dependencies are up: the local stack runs). The endpoints
are those of project/urls.py, and a test keeps the list complete. With each dependency
down in turn instead: tests/test_dependency_failures.py.
"""

import json
import os
import urllib.parse
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.django_db

FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SOME_ID = "6f1c3e0e-0000-4000-8000-000000000000"

# Each URL name of project/urls.py (the admin's own views aside), and how it is reached.
GET_PATHS = {
    "healthz": "/healthz",
    "readyz": "/readyz",
    "robots-txt": "/robots.txt",
    "favicon": "/favicon.ico",
    "accounts:login": "/accounts/login/",
    "accounts:callback": "/accounts/callback/",
    "accounts:me": "/accounts/me/",
    "files-api:files": "/api/files/",
    "set_language": "/i18n/setlang/",
    "django.contrib.sitemaps.views.sitemap": "/sitemap.xml",
    "admin-login": "/admin/login/",
    "pages:home": "/en/",
    "pages:about": "/fr/a-propos/",
    "pages:how-it-works": "/en/how-it-works/",
    "pages:contact": "/en/contact/",
    "pages:contact-thanks": "/en/contact/thanks/",
    "files:list": "/en/files/",
    "files:download": f"/en/files/{SOME_ID}/download",
    "files:thumbnail": f"/en/files/{SOME_ID}/thumbnail",
}
POST_PATHS = {
    "csp-report": "/csp-report",
    "accounts:login": "/accounts/login/",
    "accounts:logout": "/accounts/logout/",
    "admin-logout": "/admin/logout/",
    "files-api:files": "/api/files/",
    "files-api:complete": f"/api/files/{SOME_ID}/complete",
    "set_language": "/i18n/setlang/",
    "pages:contact": "/en/contact/",
    "files:upload": "/en/files/upload",
    "files:delete": f"/en/files/{SOME_ID}/delete",
}
DELETE_PATHS = {"files-api:file": f"/api/files/{SOME_ID}"}
FORMS = {
    "/accounts/login/": ["username", "password", "next"],
    "/en/contact/": ["name", "email", "message", "website", "attachment"],
    "/i18n/setlang/": ["language", "next"],
    "/en/files/upload": ["file"],
    "/accounts/logout/": [],
}


def _url_names(patterns, namespace=None):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name != "admin":
                yield from _url_names(pattern.url_patterns, pattern.namespace or namespace)
        elif pattern.name:
            yield f"{namespace}:{pattern.name}" if namespace else pattern.name


def test_every_endpoint_is_fuzzed():
    covered = {*GET_PATHS, *POST_PATHS, *DELETE_PATHS}
    assert sorted(set(_url_names(get_resolver().url_patterns)) - covered) == []


@pytest.fixture
def signed_in(local_aws, settings):
    settings.CONTACT_RATE_LIMIT = 10**6  # past the limit every answer would be the same 429
    user = get_user_model().objects.create_user(
        username=f"fuzz-{uuid.uuid4().hex[:6]}", sub=str(uuid.uuid4()), email="ada@example.com"
    )
    client = Client(raise_request_exception=True)
    client.force_login(user)
    return client


@pytest.fixture
def anonymous(local_aws):
    return Client(raise_request_exception=True)


def assert_answered(response):
    assert response.status_code < 500, response.content[:500]


# Text a browser can send (the test client encodes it as UTF-8: no lone surrogates), NUL
# and other controls included; and text for JSON, where escapes carry lone surrogates too.
form_text = st.text(st.characters(categories=["L", "N", "P", "S", "Z", "Cc"]), max_size=30)
json_text = st.text(st.characters(categories=["L", "N", "P", "S", "Z", "Cc", "Cs"]), max_size=30)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | json_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(json_text, inner, max_size=3),
    max_leaves=10,
)
declarations = st.fixed_dictionaries(
    {},
    optional={
        "name": form_text | json_values,
        "size": st.integers(min_value=-1, max_value=10**9) | json_values,
        "content_type": st.sampled_from(["image/png", "text/plain", "application/pdf"])
        | json_values,
    },
)
nested = st.integers(min_value=0, max_value=6000).map(lambda n: "[" * n + "]" * n)
json_bodies = (
    declarations.map(json.dumps)
    | json_values.map(json.dumps)
    | nested
    | st.binary(max_size=200).map(lambda raw: raw.decode("latin-1"))
)


@settings(FUZZ, max_examples=120)
@given(body=json_bodies, content_type=st.sampled_from(["application/json", "text/plain"]))
def test_files_api_answers_any_json(signed_in, body, content_type):
    raw = body.encode("utf-8", "surrogatepass")  # a lone surrogate as bytes: not UTF-8
    assert_answered(signed_in.post("/api/files/", data=raw, content_type=content_type))


@settings(FUZZ, max_examples=120)
@given(
    path=st.sampled_from(sorted(FORMS)),
    language=st.sampled_from(["en", "fr", "de"]),
    values=st.dictionaries(form_text, form_text, max_size=3),
    known=st.data(),
    upload=st.none()
    | st.tuples(form_text, st.binary(max_size=100), st.sampled_from(["image/png", "text/plain"])),
)
def test_forms_answer_any_text(signed_in, path, language, values, known, upload):
    fields = FORMS[path]
    data = dict(values)
    for name in known.draw(st.lists(st.sampled_from(fields or ["x"]), unique=True)):
        data[name] = known.draw(form_text)
    if upload is not None and fields:
        name, content, content_type = upload
        # (A name without a base name is refused by SimpleUploadedFile, before any request.)
        usable = os.path.basename(name) not in ("", ".", "..")
        data[known.draw(st.sampled_from(fields))] = SimpleUploadedFile(
            name if usable else "x", content, content_type
        )
    if path == "/en/contact/":
        path = f"/{language}/" + {"en": "contact/", "fr": "contact/", "de": "kontakt/"}[language]
    assert_answered(signed_in.post(path, data))


@settings(FUZZ, max_examples=100)
@given(
    path=st.sampled_from(sorted(set(GET_PATHS.values()))),
    query=st.binary(max_size=60).map(lambda raw: urllib.parse.quote_from_bytes(raw, safe="=&")),
    names=st.lists(st.sampled_from(["next", "state", "code", "error", "language"]), max_size=2),
    values=st.lists(form_text, min_size=2, max_size=2),
)
def test_pages_answer_any_query(signed_in, path, query, names, values):
    known = "&".join(
        f"{name}={urllib.parse.quote(value)}" for name, value in zip(names, values, strict=False)
    )
    assert_answered(signed_in.get(f"{path}?{query}&{known}"))


@settings(FUZZ, max_examples=80)
@given(
    path=st.sampled_from(sorted({*POST_PATHS.values(), *DELETE_PATHS.values()})),
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=b",
            "multipart/form-data",
            "application/json",
            "application/csp-report",
            "application/reports+json",
            "text/plain; charset=utf-16",
            "text/plain; charset=nonsense",
        ]
    ),
)
def test_endpoints_answer_any_bytes(signed_in, path, body, content_type):
    method = "DELETE" if path in DELETE_PATHS.values() else "POST"
    # generic(): post() would re-encode the bytes for the charset of the content type.
    assert_answered(signed_in.generic(method, path, data=body, content_type=content_type))


@settings(FUZZ, max_examples=80)
@given(
    path=st.sampled_from(["/accounts/me/", "/api/files/", "/en/files/"]),
    scheme=st.sampled_from(["Bearer ", "bearer  ", "Basic ", ""]),
    token=st.binary(max_size=120).map(lambda raw: raw.decode("latin-1"))
    | st.lists(st.text("ABCabc012-_", max_size=40), min_size=1, max_size=4).map(".".join),
)
def test_any_authorization_header_is_answered(anonymous, path, scheme, token):
    assert_answered(anonymous.get(path, HTTP_AUTHORIZATION=scheme + token))

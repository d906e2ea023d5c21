"""Each dependency down in turn, at every endpoint: never a 500, never a success that did
not happen. The answer is the normal one, or the 503 of ``apps.core.http.
dependency_unavailable``: Retry-After, never cached, the site's page for a browser and
``{"error": "temporarily_unavailable"}`` for an API client, nothing internal in either,
and a WARNING in the log that names the dependency.

The endpoints are every pattern of the project's URLconf (the resolver walked, the admin's
included), their converters filled with plausible values (a file id is a pending file and
a ready one of the user's), asked with GET and POST (with the form or JSON the view takes;
the API's also with DELETE), anonymously, with a session (a staff user, so the admin's
pages run) and with a Bearer token. Each dependency fails for real: a closed loopback port
for an endpoint or a URL, a table that does not exist, a PostgreSQL that nobody listens
for. Both sign-in modes run: the form (InitiateAuth on the local stack's Cognito) and the
hosted UI (a fake one on loopback, for the views of apps.accounts, the only ones it
changes).

tests/test_no_500.py makes the same promise for hostile input, with everything up.
"""

import contextlib
import dataclasses
import io
import json
import logging
import re
import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.db.utils import load_backend
from django.test import Client, override_settings
from django.urls import URLResolver, get_resolver, resolve
from django.urls.converters import UUIDConverter
from django.urls.resolvers import RegexPattern, RoutePattern
from PIL import Image

from apps.accounts.cognito import CognitoUnavailable, ensure_user
from apps.accounts.jwks import JWKSUnavailable
from apps.accounts.revocation import DenyListUnavailable
from apps.core import aws, media
from apps.core.errors import DatabaseUnavailable, DependencyUnavailable
from apps.core.http import API_PREFIX, RETRY_AFTER_SECONDS
from apps.core.limits import LimitsUnavailable
from apps.files import keys
from apps.files.models import StoredFile
from apps.files.services import StorageUnavailable
from apps.sessions.exceptions import SessionStoreUnavailable
from deploy.tools.harness import fake_cognito
from deploy.tools.harness.loopback import free_port
from tests.fixtures import use_local_cognito

pytestmark = pytest.mark.django_db

# What browsers send; API clients (under API_PREFIX) also DELETE.
METHODS = ("GET", "POST")
API_METHODS = ("GET", "POST", "DELETE")
IDENTITIES = ("anonymous", "session", "bearer")
PASSWORD = "Correct-Horse-42"
MISSING = "amphibian-test-missing"  # no table of this name exists (as if it was dropped)
# Probes whose 503 is the answer they exist to give (apps/core/tests/test_health.py).
PROBES = {"readyz"}


def _png():
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (40, 160, 90)).save(out, "PNG")
    return out.getvalue()


PNG = _png()


def test_every_store_error_is_one_dependency_unavailable_naming_its_own():
    stores = [
        CognitoUnavailable,
        JWKSUnavailable,
        DenyListUnavailable,
        LimitsUnavailable,
        StorageUnavailable,
        SessionStoreUnavailable,
        DatabaseUnavailable,
    ]
    assert all(issubclass(error, DependencyUnavailable) for error in stores)
    assert len({error.dependency for error in stores}) == len(stores)


# --- The endpoints: the URLconf walked ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"; an unnamed pattern goes by its path
    patterns: tuple  # each level's pattern, outermost first
    view: str  # the view's dotted path

    @property
    def takes_file(self):
        return any(
            isinstance(converter, UUIDConverter)
            for pattern in self.patterns
            if isinstance(pattern, RoutePattern)
            for converter in pattern.converters.values()
        )

    def path(self, file_id):
        return "/" + "".join(_concrete(pattern, file_id) for pattern in self.patterns)


_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_GROUP = re.compile(r"\(\?P<\w+>([^)]*)\)")
_CHOICES = re.compile(r"\w+(\|\w+)*")


def _concrete(pattern, file_id):
    """One level of a path: a uuid is the file's, any other converter 1; a regex group of
    choices (the admin's app labels) its first, any other group a word."""
    if isinstance(pattern, RoutePattern):
        return _CONVERTER.sub(
            lambda m: str(file_id) if isinstance(pattern.converters[m[1]], UUIDConverter) else "1",
            str(pattern),
        )
    if isinstance(pattern, RegexPattern):
        text = _GROUP.sub(
            lambda m: m[1].split("|")[0] if _CHOICES.fullmatch(m[1]) else "missing",
            pattern.regex.pattern,
        )
        return text.removeprefix("^").removesuffix("$")
    return str(pattern)  # the language prefix, for the active language


def project_routes(patterns=None, prefix=(), namespace=None):
    """Every endpoint of the project's URLconf, in its order."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from project_routes(
                pattern.url_patterns, (*prefix, pattern.pattern), pattern.namespace or namespace
            )
            continue
        route = Route("", (*prefix, pattern.pattern), pattern.lookup_str)
        name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
        yield dataclasses.replace(route, name=name or route.path(uuid.UUID(int=0)))


def test_every_route_is_reached_with_its_plausible_values():
    routes = list(project_routes())
    assert len(routes) > 40  # the admin's are in
    for route in routes:
        for file_id in (uuid.uuid4(),) if route.takes_file else (None,):
            resolve(route.path(file_id))  # Resolver404 if the filling is wrong


# --- The world each request finds with everything up ---------------------------------------


@dataclasses.dataclass
class World:
    user: object  # signed in with a session; staff, so the admin's pages run
    token: str  # a Bearer access token
    token_user: object
    username: str  # for the sign-in form
    hosted_ui: object = None  # the fake hosted UI, in that mode

    def callback_query(self, client):
        """What Cognito sends the browser back with: a code and the state of a sign-in the
        browser started (the hosted UI); a made-up pair for the form."""
        if self.hosted_ui is None:
            return {"code": "not-issued", "state": "not-started"}
        location = client.get("/accounts/login/")["Location"]
        code, query = self.hosted_ui.authorize(location)
        return {"code": code, "state": query["state"]}


@pytest.fixture
def common_settings(settings, local_aws):
    settings.RATE_LIMIT_BACKEND = "dynamodb"  # the deployed targets' counters, in a table
    # Limits are not under test: past them every answer would be the same 429.
    settings.CONTACT_RATE_LIMIT = settings.LOGIN_FAILURE_LIMIT = 10**6
    settings.LOGIN_CLIENT_FAILURE_LIMIT = settings.LOGIN_USERNAME_FAILURE_LIMIT = 10**6
    # A dependency made to fail refuses at once (a closed port, a missing table): no retry
    # needed to see it. The ones left up keep the usual read timeout, so a busy machine's
    # slow answer is not mistaken for the outage of another dependency.
    settings.AWS_MAX_ATTEMPTS = 1
    settings.AWS_CONNECT_TIMEOUT = 1
    settings.COGNITO_JWKS_FILE = None  # keys come from the key set URL, which can fail
    settings.COGNITO_CLIENT_SECRET = None
    return settings


def _staff_user():
    return get_user_model().objects.create_user(
        username=f"deps-{uuid.uuid4().hex[:8]}",
        sub=str(uuid.uuid4()),
        email="ada@example.com",
        is_staff=True,
        is_superuser=True,
    )


def _bearer_user(token):
    response = Client().get("/accounts/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    return get_user_model().objects.get(sub=response.json()["sub"])


@pytest.fixture
def form_world(common_settings, local_aws):
    """The sign-in form against the local stack's Cognito; its key set from the stack."""
    pool = local_aws.outputs["COGNITO_USER_POOL_ID"]
    use_local_cognito(common_settings, local_aws)
    username = f"deps-{uuid.uuid4().hex[:8]}@example.com"
    cognito = aws.client("cognito-idp")
    ensure_user(cognito, pool, username, PASSWORD)
    token = cognito.initiate_auth(
        ClientId=common_settings.COGNITO_APP_CLIENT_ID[0],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )["AuthenticationResult"]["AccessToken"]
    return World(_staff_user(), token, _bearer_user(token), username)


@pytest.fixture(scope="module")
def signing_key():
    return fake_cognito.SigningKey("dependency-failures")


@pytest.fixture
def hosted_world(common_settings, signing_key):
    """The hosted UI (a fake one on loopback); its key set from a key set server."""
    with (
        fake_cognito.JWKSServer(signing_key) as key_set,
        fake_cognito.FakeHostedUI(signing_key) as hosted_ui,
    ):
        common_settings.COGNITO_ISSUER = fake_cognito.ISSUER
        common_settings.COGNITO_USER_POOL_ID = fake_cognito.POOL_ID
        common_settings.COGNITO_APP_CLIENT_ID = [fake_cognito.CLIENT_ID]
        common_settings.COGNITO_JWKS_URL = f"{key_set.url}/jwks.json"
        common_settings.COGNITO_DOMAIN = hosted_ui.url
        token = signing_key.sign(fake_cognito.claims())
        yield World(_staff_user(), token, _bearer_user(token), "ada@example.com", hosted_ui)


def _stored_file(owner, status):
    """A file of ``owner``'s, its bytes where that status keeps them: a pending one's posted
    (at the upload key, not completed yet), a ready one's verified (at its own key, with a
    thumbnail)."""
    file_id = uuid.uuid4()
    stored = StoredFile.objects.create(
        id=file_id,
        owner=owner,
        key=keys.file_key(owner, file_id, "photo.png"),
        upload_key=keys.upload_key(owner, file_id, "photo.png"),
        original_name="photo.png",
        declared_type="image/png",
        size=len(PNG),
        status=status,
        verified_type="image/png" if status == StoredFile.Status.READY else "",
    )
    if status == StoredFile.Status.READY:
        stored.thumbnail_key = keys.thumbnail_key(stored)  # its object is not needed here
        stored.save(update_fields=["thumbnail_key"])
    where = stored.key if status == StoredFile.Status.READY else stored.upload_key
    media.storage().put(where, PNG, content_type="image/png")
    return stored


FILES = {"pending file": StoredFile.Status.PENDING, "ready file": StoredFile.Status.READY}


# What each view takes in a POST: a form as its page sends it, or JSON as its API client.
POSTS = {
    "accounts:login": lambda world: {
        "data": {"username": world.username, "password": PASSWORD, "next": "/en/files/"}
    },
    "pages:contact": lambda world: {
        "data": {
            "name": "Ada",
            "email": "ada@example.com",
            "message": "Hello there.",
            "attachment": SimpleUploadedFile("photo.png", PNG, "image/png"),
        }
    },
    "files:upload": lambda world: {
        "data": {"file": SimpleUploadedFile("upload.png", PNG, "image/png")}
    },
    "set_language": lambda world: {"data": {"language": "fr", "next": "/en/"}},
    "csp-report": lambda world: {
        "data": json.dumps({"csp-report": {"document-uri": "http://testserver/en/"}}),
        "content_type": "application/csp-report",
    },
    "files-api:files": lambda world: {
        "data": {"name": "api.png", "size": len(PNG), "content_type": "image/png"},
        "content_type": "application/json",
    },
    "files-api:complete": lambda world: {"content_type": "application/json"},
}


@dataclasses.dataclass(frozen=True)
class Case:
    route: Route
    method: str
    file: str | None  # which of the owner's files the path names (FILES)

    def __str__(self):
        return f"{self.method} {self.route.name}" + (f" ({self.file})" if self.file else "")

    def prepare(self, visitor):
        """The path and the request's arguments, made with everything up."""
        kwargs = dict(visitor.headers)
        file_id = _stored_file(visitor.owner, FILES[self.file]).pk if self.file else None
        if self.method == "GET" and self.route.name == "accounts:callback":
            kwargs["data"] = visitor.world.callback_query(visitor.client)
        elif self.method == "POST":
            kwargs.update(POSTS.get(self.route.name, lambda world: {"data": {}})(visitor.world))
        return self.route.path(file_id), kwargs


class Visitor:
    """One client for the whole matrix (its handler loads the middleware once), as
    ``identity``: each request starts from that identity's cookies only."""

    def __init__(self, world, identity):
        self.world, self.identity = world, identity
        self.client = Client(raise_request_exception=False)
        self.owner = world.token_user if identity == "bearer" else world.user
        self.headers = (
            {"HTTP_AUTHORIZATION": f"Bearer {world.token}"} if identity == "bearer" else {}
        )
        self.signed_in = False

    def ready(self):
        """Back to the identity: the last request may have signed in or out, or left a
        language, a login state or messages behind."""
        session = self.client.cookies.get(settings.SESSION_COOKIE_NAME)
        self.client.cookies.clear()
        if self.identity == "session":
            if self.signed_in:
                self.client.cookies[settings.SESSION_COOKIE_NAME] = session.value
            else:
                self.client.force_login(self.world.user)
                self.signed_in = True

    def answered(self, response):
        if settings.SESSION_COOKIE_NAME in response.cookies:
            self.signed_in = False  # signed in as someone else, or out


def cases(mode):
    for route in project_routes():
        # The sign-in mode changes only apps.accounts' views (conf.hosted_ui_url()).
        if mode == "hosted" and not route.view.startswith("apps.accounts."):
            continue
        api = route.path(uuid.UUID(int=0)).startswith(API_PREFIX)
        for method in API_METHODS if api else METHODS:
            for file in ("pending file", "ready file") if route.takes_file else (None,):
                yield Case(route, method, file)


# --- The dependencies, each made to fail for real -------------------------------------------


@contextlib.contextmanager
def database_down(closed):
    """The default database is a PostgreSQL on a closed port: every query cannot connect."""
    working = connections["default"]
    dead = load_backend("django.db.backends.postgresql").DatabaseWrapper(
        {
            **working.settings_dict,
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "amphibian",
            "USER": "amphibian",
            "PASSWORD": "",
            "HOST": "127.0.0.1",
            "PORT": closed.rpartition(":")[2],
            "OPTIONS": {"connect_timeout": 1},
        },
        "default",
    )
    connections["default"] = dead
    try:
        yield
    finally:
        dead.close()
        connections["default"] = working


# Each: what makes it fail, given a closed loopback URL, and the names the 503's log line
# may give it (the contact form's attachment is an S3 call no store wraps: "AWS").
DEPENDENCIES = {
    "nothing": (lambda closed: contextlib.nullcontext(), set()),
    "cognito-idp": (
        lambda closed: override_settings(AWS_ENDPOINT_URLS={"COGNITO_IDENTITY_PROVIDER": closed}),
        {"Cognito"},
    ),
    "hosted-ui": (lambda closed: override_settings(COGNITO_DOMAIN=closed), {"Cognito"}),
    "jwks": (
        lambda closed: override_settings(COGNITO_JWKS_URL=f"{closed}/jwks.json"),
        {"Cognito key set (JWKS)"},
    ),
    "sessions-table": (
        lambda closed: override_settings(SESSIONS_TABLE=MISSING),
        {"session store"},
    ),
    "denylist-table": (
        lambda closed: override_settings(TOKEN_DENYLIST_TABLE=MISSING),
        {"token deny-list"},
    ),
    "ratelimits-table": (
        lambda closed: override_settings(RATE_LIMITS_TABLE=MISSING),
        {"rate-limit counters"},
    ),
    "dynamodb": (
        lambda closed: override_settings(AWS_ENDPOINT_URLS={"DYNAMODB": closed}),
        {"session store", "token deny-list", "rate-limit counters"},
    ),
    "media-bucket": (
        lambda closed: override_settings(AWS_ENDPOINT_URLS={"S3": closed}),
        {"media storage", "AWS"},
    ),
    "database": (database_down, {"database"}),
}
MODES = {
    # The form signs in with the Cognito API, counting attempts; the hosted UI with its
    # OAuth endpoints, where the accounts views (all that run in that mode) count nothing
    # and store no files.
    "form": [name for name in DEPENDENCIES if name != "hosted-ui"],
    "hosted": [
        name
        for name in DEPENDENCIES
        if name not in ("cognito-idp", "ratelimits-table", "media-bucket")
    ],
}


def _params():
    for mode, dependencies in MODES.items():
        for dependency in dependencies:
            for identity in IDENTITIES:
                name = f"{mode}-{dependency}-{identity}"
                yield pytest.param(mode, dependency, identity, id=name)


# --- What every answer must be --------------------------------------------------------------


def problem(case, identity, path, kwargs, response, logged, names):
    """What is wrong with ``response`` (a string), or None."""
    status = response.status_code
    if status == 503 and case.route.name in PROBES:
        return None
    if status == 503:
        return _unavailable_problem(identity, path, kwargs, response, logged, names)
    if status >= 500:
        if response.exc_info:
            return f"{status}: {response.exc_info[0].__name__}: {response.exc_info[1]}"
        return f"{status}: {response.content[:300]!r}"
    return None


def _unavailable_problem(identity, path, kwargs, response, logged, names):
    if response.get("Retry-After") != str(RETRY_AFTER_SECONDS):
        return f"503 with Retry-After {response.get('Retry-After')!r}"
    if "no-store" not in response.get("Cache-Control", ""):
        return "503 that may be cached"
    api = (
        identity == "bearer"
        or path.startswith(API_PREFIX)
        or kwargs.get("content_type") == "application/json"
    )
    if api:
        if not response["Content-Type"].startswith("application/json"):
            return f"503 for an API client as {response['Content-Type']}"
        if response.json().get("error") != "temporarily_unavailable":
            return f"503 JSON without the error: {response.content[:200]!r}"
    else:
        page = response.content.decode()
        if not response["Content-Type"].startswith("text/html"):
            return f"503 for a browser as {response['Content-Type']}"
        if 'class="site-header"' not in page or "Temporarily unavailable" not in page:
            return "503 without the site's page"
    if b"127.0.0.1" in response.content or b"amphibian-test" in response.content:
        return "503 that names an endpoint, a table or a bucket"
    session = response.cookies.get(settings.SESSION_COOKIE_NAME)
    if session is not None and session.value:
        return "503 that sets a session cookie (a sign-in that was not saved)"
    if response.cookies.get("messages") is not None:
        return "503 that carries messages"
    warnings = [record for record in logged if record.levelno >= logging.WARNING]
    if not warnings:
        return "503 without a WARNING in the log"
    named = {getattr(record, "dependency", None) for record in warnings} - {None}
    if named and not named & names:
        return f"503 logged as {sorted(named)} down, not {sorted(names)}"
    return None


@pytest.mark.parametrize(("mode", "dependency", "identity"), list(_params()))
def test_no_dependency_down_is_a_500(mode, dependency, identity, request, caplog):
    world = request.getfixturevalue(f"{mode}_world")
    make_down, names = DEPENDENCIES[dependency]
    closed = f"http://127.0.0.1:{free_port()}"
    caplog.set_level(logging.WARNING)
    visitor = Visitor(world, identity)
    problems, answers = [], {}
    for case in cases(mode):
        visitor.ready()
        path, kwargs = case.prepare(visitor)
        seen = len(caplog.records)
        with make_down(closed):
            response = getattr(visitor.client, case.method.lower())(path, **kwargs)
        visitor.answered(response)
        found = problem(case, identity, path, kwargs, response, caplog.records[seen:], names)
        if dependency == "nothing" and response.status_code >= 500:
            found = found or f"{response.status_code} with everything up"
        if found:
            problems.append(f"{case}: {found}")
        answers[response.status_code] = answers.get(response.status_code, 0) + 1
    assert not problems, "\n".join(problems)
    # A dependency that is down shows somewhere (the matrix is not all 405s).
    assert dependency == "nothing" or 503 in answers, answers

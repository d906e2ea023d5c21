"""The end-to-end suite's targets, each started here as it runs for real, and the browser.

One local AWS stack (``manage.py localaws`` as a child process) serves every target; its media
bucket's CORS allows each target's origin, whose ports are chosen before it starts. Every
target is a module-scoped parametrized fixture, so the scenarios run once per target and one
target is stopped before the next starts. Whatever a target starts (processes, containers,
databases) is stopped or removed when it is done, also when starting it failed half-way.
"""

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import pytest
from django.conf import settings

from deploy.tools.harness.localstack import LocalAWSProcess, stack_env
from deploy.tools.harness.loopback import free_ports
from deploy.tools.harness.postgres import PostgresDatabase
from deploy.tools.harness.processes import (
    ROOT,
    TOOL_SETTINGS,
    run_manage,
    stop_process,
    subprocess_env,
)
from deploy.tools.harness.server import Gunicorn, prepare, server_env, wait_for_health
from tests.fixtures import require
from tests.support.lambda_package import build_package
from tests.support.nginx import nginx_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = ROOT / "var" / "e2e"
SECRET_KEY = "e2e-test-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"

# Every Content-Security-Policy violation in any page of a scenario, as the page sees it:
# securitypolicyviolation events, handed to the test through a binding (it survives
# navigations, which a list kept in the page would not).
CSP_RECORDER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolation({
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    document: event.documentURI,
    source: event.sourceFile,
    line: event.lineNumber,
    sample: event.sample,
    disposition: event.disposition,
  });
}, true);
"""
# What Chromium's console says about a refused resource or a header it cannot parse.
POLICY_CONSOLE = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy")
# The line apps.core.csp logs for each violation a browser reports.
CSP_REPORT_LOG = "csp violation"


@dataclass
class Site:
    """A running target: where the browser goes, and the stack behind it."""

    name: str
    base_url: str  # scheme, host, port and any stage prefix (/dev on the Lambda gateway)
    stack: LocalAWSProcess
    logs: list = field(default_factory=list)  # log files, whose tails failures show
    static_url: str = ""  # where pages link static files; the site's /static/ if empty
    sessions_table: str = ""  # the target's DynamoDB sessions table; the settings' if empty

    def __post_init__(self):
        self.static_url = self.static_url or self.url("/static/")
        self.sessions_table = self.sessions_table or settings.SESSIONS_TABLE

    def url(self, path):
        return self.base_url + path

    def log_tail(self, lines=60):
        out = []
        for log in self.logs:
            out.extend([f"--- {log}", *log.read_text().splitlines()[-lines:]])
        return "\n".join(out)

    def log_sizes(self):
        return {log: log.stat().st_size if log.exists() else 0 for log in self.logs}

    def csp_reports(self, since):
        """The violation reports the target logged after ``since`` (``log_sizes()``)."""
        lines = []
        for log, size in since.items():
            with open(log, "rb") as file:
                file.seek(size)
                text = file.read().decode(errors="replace")
            lines.extend(line for line in text.splitlines() if CSP_REPORT_LOG in line)
        return lines


@pytest.fixture(scope="session")
def e2e_ports():
    """The ports of every target's origin, known before the stack's CORS is provisioned."""
    # One more for the server target's plain-HTTP nginx listener, all distinct.
    ports = free_ports(len(TARGETS) + 1)
    return {**dict(zip(TARGETS, ports, strict=False)), "server-http": ports[-1]}


@pytest.fixture(scope="session")
def e2e_stack(e2e_ports, tmp_path_factory):
    # nginx terminates TLS for the server target; the others are plain HTTP on loopback.
    origins = [
        f"{'https' if target == 'server' else 'http'}://127.0.0.1:{e2e_ports[target]}"
        for target in TARGETS
    ]
    stack = LocalAWSProcess(tmp_path_factory.mktemp("e2e-localaws"), origins=origins).start()
    stack.outputs = json.loads((stack.state_dir / "outputs.json").read_text())
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def lambda_zip():
    """The package ``make package`` builds, once for both Lambda targets: the stage serves
    static files from its bucket, so only their manifest ships.

    In a folder of its own: ``make package`` run meanwhile would replace the zip under them.
    """
    return build_package("dev", ROOT / "var" / "package" / "e2e" / "amphibian-dev.zip")


@pytest.fixture(scope="session")
def static_bucket(e2e_stack, tmp_path_factory):
    """The static files in the local stack's static bucket, as ``make collectstatic`` puts
    them in a stage's; the stack's URL for the bucket stands in for the CDN's domain.

    Returns the function's environment that links them there.
    """
    stack = stack_env(e2e_stack)
    static = {
        "DJANGO_STATIC_STORAGE": "s3",
        "STATIC_CDN_DOMAIN": f"127.0.0.1:{e2e_stack.port}/{stack['STATIC_BUCKET']}",
        "STATIC_CDN_PROTOCOL": "http:",
    }
    env = subprocess_env(
        DJANGO_DEPLOY_TARGET="lambda",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL="sqlite://:memory:",
        # Its manifest is not the package's: that one comes from the package's own build.
        DJANGO_STATIC_MANIFEST_DIR=str(tmp_path_factory.mktemp("static-manifest")),
        **stack,
        **static,
    )
    run_manage(["collectstatic", "--noinput", "-v0"], env)
    return static


def start(cleanup, command, env, log_path):
    """``command`` in the background, output to ``log_path``; stopped when ``cleanup`` closes."""
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
    cleanup.callback(stop_process, process)
    return process


def fresh_database(cleanup, fixture):
    database = PostgresDatabase(fixture("postgres_url"), prefix="amphibian_e2e")
    cleanup.callback(database.drop)
    return database


def local_target(name, port, stack, tmp, fixture):
    """``manage.py runserver`` with the local settings (as ``make run``), SQLite in ``tmp``."""
    env = subprocess_env(
        DJANGO_DEPLOY_TARGET="local",
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        LOCALAWS_PORT=str(stack.port),
        PYTHONUNBUFFERED="1",
        **stack_env(stack),
    )
    run_manage(["migrate", "--noinput", "-v0"], env)
    log_path = tmp / "runserver.log"
    with contextlib.ExitStack() as cleanup:
        process = start(
            cleanup,
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            env,
            log_path,
        )
        wait_for_health("127.0.0.1", port, 60, process, log_path)
        yield Site(name, f"http://127.0.0.1:{port}", stack, [log_path])


def server_target(name, port, stack, tmp, fixture):
    """gunicorn + ``db_worker`` on a fresh PostgreSQL database, nginx (deploy/ec2) in front.

    The browser talks HTTPS to nginx on a free port rather than 443, so the copied proxy
    snippet passes ``$http_host`` (host and port) instead of ``$host``: absolute URLs the app
    builds (the logout redirect) then keep the port, as they keep 443 when deployed.
    """
    require(shutil.which("nginx"), "nginx", "make server-deps (apt-get install nginx)")
    require(shutil.which("openssl"), "openssl", "apt-get install openssl")
    with contextlib.ExitStack() as cleanup:
        database = fresh_database(cleanup, fixture)
        env = server_env(stack, database.url, DJANGO_ALLOWED_HOSTS="127.0.0.1")
        env = prepare(env, tmp / "static")
        gunicorn = Gunicorn(env, tmp / "gunicorn.log", workers=2)
        cleanup.callback(gunicorn.stop)
        gunicorn.start()
        command = [sys.executable, "manage.py", "db_worker"]
        start(cleanup, command, subprocess_env(**env), tmp / "worker.log")
        nginx_dir = tmp / "nginx"
        nginx_dir.mkdir()
        http_port = fixture("e2e_ports")["server-http"]
        config = nginx_config(nginx_dir, gunicorn.port, http_port, port, server_name="127.0.0.1")
        snippet = nginx_dir / "amphibian-proxy.conf"
        proxy = snippet.read_text()
        assert "proxy_set_header Host $host;" in proxy
        snippet.write_text(proxy.replace("Host $host;", "Host $http_host;"))
        command = [shutil.which("nginx"), "-c", str(config)]
        start(cleanup, command, subprocess_env(), nginx_dir / "nginx.log")
        logs = [tmp / "gunicorn.log", tmp / "worker.log", nginx_dir / "error.log"]
        yield Site(name, f"https://127.0.0.1:{port}", stack, logs)


def container_target(name, port, stack, tmp, fixture):
    """The image (deploy/container) in podman: its web role (gunicorn) and, for the
    thumbnails, its worker role (``db_worker``, as the server target runs it), PostgreSQL.

    The browser talks plain HTTP straight to gunicorn, as compose.yaml runs the image: the
    container deploy has no nginx, TLS ends at the load balancer in front.
    """
    podman, image = fixture("podman"), fixture("container_image")
    with contextlib.ExitStack() as cleanup:
        database = fresh_database(cleanup, fixture)
        env = server_env(
            stack,
            database.url,
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DJANGO_SECURE_SSL_REDIRECT="false",
            DJANGO_TRUST_X_FORWARDED_PROTO="false",
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS="2",
        )
        logs = []
        # One web container migrates before it starts; the worker comes up once it has.
        for role, extra in (("web", {"DJANGO_MIGRATE_ON_START": "true"}), ("worker", {})):
            container = f"amphibian-e2e-{role}-{port}"
            logs.append(tmp / f"{role}.log")
            process = podman.start(container, image, {**env, **extra}, role, logs[-1])
            cleanup.callback(podman.remove, container, process)
            if role == "web":
                wait_for_health("127.0.0.1", port, 120, process, logs[-1])
        yield Site(name, f"http://127.0.0.1:{port}", stack, logs)


def lambda_target(name, port, stack, tmp, fixture, *, stage, event):
    """The built package in the local Lambda behind the local API Gateway, PostgreSQL.

    ``stage`` of zappa_settings.json gives the gateway's stage prefix (/dev, /prod) and the
    function's memory; ``event`` the gateway's event shape. Static files: the static bucket.
    """
    require(shutil.which("unshare"), "unshare", "apt-get install util-linux")
    package, static = fixture("lambda_zip"), fixture("static_bucket")
    with contextlib.ExitStack() as cleanup:
        database = fresh_database(cleanup, fixture)
        env = subprocess_env(
            DJANGO_DEPLOY_TARGET="lambda",
            DJANGO_SECRET_KEY=SECRET_KEY,
            DJANGO_ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=database.url,
            **stack_env(stack),
            **static,
            # Tasks (thumbnails) go to the local Lambda's own Invoke API, not to moto.
            AWS_ENDPOINT_URL_LAMBDA=f"http://127.0.0.1:{port}",
        )
        # The source tree's migrations are the package's: a release migrates before it ships.
        run_manage(["migrate", "--noinput", "-v0"], env)
        log_path = tmp / "runlambda.log"
        process = start(
            cleanup,
            [
                *(sys.executable, "manage.py", "runlambda", "--zip", str(package)),
                *("--stage", stage, "--event", event, "--environment", "shell"),
                *("--port", str(port), "--concurrency", "2"),
            ],
            {**env, **TOOL_SETTINGS, "PYTHONUNBUFFERED": "1"},
            log_path,
        )
        base_url = f"http://127.0.0.1:{port}/{stage}"
        wait_for_stage_health(f"{base_url}/healthz", 90, process, log_path)
        static_url = f"http://{static['STATIC_CDN_DOMAIN']}/static/"
        yield Site(name, base_url, stack, [log_path], static_url)


@dataclass
class EmulatedAccount:
    """What the scenarios read of a stack: where its AWS APIs answer."""

    url: str


def deployed_target(name, port, stack, tmp, fixture):
    """What ``make deploy STAGE=prod`` put into the emulated account (the rehearsal), served
    by the local Lambda: the zip in the deployment bucket whose SHA-256 is the function's
    CodeSha256, with the function's own configuration and the stack's resources.

    What a browser on loopback needs that a deployed stage does not have (the README's "what
    the rehearsal does not prove"): plain HTTP on 127.0.0.1 instead of the CDN's domain, the
    static bucket's URL in the emulated account standing in for the CDN, the page's origin in
    the media bucket's CORS rule, and the password form instead of the managed login.
    """
    from deploy.tools.localaws.environment import allow_upload_origin
    from deploy.tools.localaws.provision import provision_demo_user
    from tests.support.rehearsal import app_environment

    require(shutil.which("unshare"), "unshare", "apt-get install util-linux")
    rehearsal = fixture("rehearsal")
    package = rehearsal.deployed_zip("prod")
    outputs = rehearsal.outputs("prod")
    origin = f"http://127.0.0.1:{port}"
    allow_upload_origin(rehearsal.client("s3"), outputs["MediaBucketName"], origin)
    provision_demo_user(rehearsal.url, outputs["UserPoolId"])
    account = urllib.parse.urlsplit(rehearsal.url).netloc
    env = {
        **app_environment(rehearsal, "prod"),
        "CANONICAL_HOST": "",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_CSRF_TRUSTED_ORIGINS": origin,
        "COGNITO_DOMAIN": "",
        "STATIC_CDN_DOMAIN": f"{account}/{outputs['StaticBucketName']}",
        "STATIC_CDN_PROTOCOL": "http:",
    }
    rehearsal.app_keys.add(env["AWS_ACCESS_KEY_ID"])
    with contextlib.ExitStack() as cleanup:
        log_path = tmp / "runlambda.log"
        process = start(
            cleanup,
            [
                *(sys.executable, "manage.py", "runlambda", "--zip", str(package)),
                *("--stage", "prod", "--event", "v1", "--environment", "shell"),
                *("--port", str(port), "--concurrency", "2"),
            ],
            {**subprocess_env(**env), **TOOL_SETTINGS, "PYTHONUNBUFFERED": "1"},
            log_path,
        )
        base_url = f"http://127.0.0.1:{port}/prod"
        wait_for_stage_health(f"{base_url}/healthz", 90, process, log_path)
        static_url = f"http://{env['STATIC_CDN_DOMAIN']}/static/"
        yield Site(
            name,
            base_url,
            EmulatedAccount(rehearsal.url),
            [log_path],
            static_url,
            sessions_table=outputs["SessionsTableName"],
        )


def wait_for_stage_health(url, timeout, process, log_path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"runlambda exited early:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no 200 from {url} in {timeout}s:\n{log_path.read_text()[-4000:]}")


# Stage dev is an HTTP API (v2 events), stage prod a REST API (v1): zappa_settings.json.
TARGETS = {
    "local": local_target,
    "server": server_target,
    "container": container_target,
    "lambda-v2": functools.partial(lambda_target, stage="dev", event="v2"),
    "lambda-v1": functools.partial(lambda_target, stage="prod", event="v1"),
    # make test-deploy only: it needs the rehearsal's deployment.
    "deployed": deployed_target,
}


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(name, marks=[pytest.mark.deploy] if name == "deployed" else [])
        for name in TARGETS
    ],
)
def site(request, e2e_ports, e2e_stack, tmp_path_factory):
    """One running target; the scenarios run against each in turn."""
    name = request.param
    tmp = tmp_path_factory.mktemp(f"e2e-{name}")
    yield from TARGETS[name](name, e2e_ports[name], e2e_stack, tmp, request.getfixturevalue)


@pytest.fixture(scope="session")
def chromium():
    require(
        os.access(CHROMIUM, os.X_OK), "Debian's Chromium", "make e2e (apt-get install chromium)"
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require(False, "Playwright for Python", "make e2e (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def screenshots(site):
    """var/e2e/<target>/, where the pages worth looking at are saved; emptied first, so a
    scenario that failed early leaves no picture from an earlier run."""
    folder = SCREENSHOTS / site.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def page(chromium, site, screenshots, request):
    """A fresh browser context per scenario; its last page is saved under var/e2e/<target>/.

    The scenario fails on any Content-Security-Policy violation, seen in the page (events,
    console) or reported to the target (its log). One that expects a violation empties
    ``page.csp_violations`` and moves ``page.csp_log_since`` past its report.
    """
    context = chromium.new_context(ignore_https_errors=True, locale="en-US", accept_downloads=True)
    context.set_default_timeout(20_000)
    context.set_default_navigation_timeout(30_000)
    violations = []
    context.expose_function("__cspViolation", lambda violation: violations.append(violation))
    context.add_init_script(CSP_RECORDER)
    page = context.new_page()
    page.csp_violations = violations
    page.csp_log_since = site.log_sizes()
    page.on(
        "console",
        lambda m: (
            any(word in m.text for word in POLICY_CONSOLE)
            and violations.append({"console": m.type, "text": m.text})
        ),
    )
    # What went wrong in the page, for failure messages: error responses, console errors.
    page.problems = []
    page.on(
        "response",
        lambda r: r.status >= 400 and page.problems.append(f"{r.status} {r.request.url}"),
    )
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    yield page
    scenario = request.node.originalname.removeprefix("test_")
    try:
        page.screenshot(path=str(screenshots / f"{scenario}.png"), full_page=True, timeout=10_000)
    finally:
        context.close()
    assert violations == [], f"Content-Security-Policy violations in {scenario}"
    reported = site.csp_reports(page.csp_log_since)
    assert reported == [], f"violations reported to {site.name} during {scenario}"

"""The end-to-end suite's targets, each started here as it runs for real, and the browser.

One local AWS stack (``manage.py localaws`` as a child process) serves every target; its media
bucket's CORS allows each target's origin, whose ports are chosen before it starts. Every
target is a module-scoped parametrized fixture, so the scenarios run once per target and one
target is stopped before the next starts.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

import pytest

from tests.fixtures import (
    ROOT,
    LocalAWSProcess,
    PostgresDatabase,
    free_port,
    require,
    run_manage,
    stack_env,
    stop_process,
    subprocess_env,
)
from tests.server_target import Gunicorn, prepare, server_env, wait_for_health
from tests.test_server_target import nginx_config

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
SCREENSHOTS = ROOT / "var" / "e2e"
TARGETS = ["local", "server", "lambda"]
SECRET_KEY = "e2e-test-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"


@dataclass
class Site:
    """A running target: where the browser goes, and the stack behind it."""

    name: str
    base_url: str  # scheme, host, port and any stage prefix (/dev on the Lambda gateway)
    stack: LocalAWSProcess
    logs: list = field(default_factory=list)  # log files, whose tails failures show

    def url(self, path):
        return self.base_url + path

    def log_tail(self, lines=60):
        out = []
        for log in self.logs:
            out.extend([f"--- {log}", *log.read_text().splitlines()[-lines:]])
        return "\n".join(out)


@pytest.fixture(scope="session")
def e2e_ports():
    """The ports of every target's origin, known before the stack's CORS is provisioned."""
    return {target: free_port() for target in TARGETS}


@pytest.fixture(scope="session")
def e2e_stack(e2e_ports, tmp_path_factory):
    origins = [
        f"http://127.0.0.1:{e2e_ports['local']}",
        f"https://127.0.0.1:{e2e_ports['server']}",
        f"http://127.0.0.1:{e2e_ports['lambda']}",
    ]
    stack = LocalAWSProcess(tmp_path_factory.mktemp("e2e-localaws"), origins=origins).start()
    stack.outputs = json.loads((stack.state_dir / "outputs.json").read_text())
    yield stack
    stack.stop()


def started(command, env, log_path):
    log = open(log_path, "w")  # noqa: SIM115 - closed by the fixture that started it
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )
    return process, log


def local_target(port, stack, tmp):
    """``manage.py runserver`` with the local settings, SQLite in ``tmp``.

    DEBUG is off: with it on, a 404 is Django's technical page, not the site's.
    """
    env = subprocess_env(
        DJANGO_DEPLOY_TARGET="local",
        DJANGO_DEBUG="false",
        DATABASE_URL=f"sqlite:///{tmp / 'db.sqlite3'}",
        LOCALAWS_PORT=str(stack.port),
        PYTHONUNBUFFERED="1",
        **stack_env(stack),
    )
    run_manage(["migrate", "--noinput", "-v0"], env)
    log_path = tmp / "runserver.log"
    process, log = started(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env,
        log_path,
    )
    try:
        wait_for_health("127.0.0.1", port, 60, process, log_path)
        yield Site("local", f"http://127.0.0.1:{port}", stack, [log_path])
    finally:
        stop_process(process)
        log.close()


def server_target(port, stack, postgres_url, tmp):
    """gunicorn + ``db_worker`` on a fresh PostgreSQL database, nginx (deploy/ec2) in front.

    The browser talks HTTPS to nginx on a free port rather than 443, so the copied proxy
    snippet passes ``$http_host`` (host and port) instead of ``$host``: absolute URLs the app
    builds (the logout redirect) then keep the port, as they keep 443 when deployed.
    """
    require(shutil.which("nginx"), "nginx", "make server-deps (apt-get install nginx)")
    require(shutil.which("openssl"), "openssl", "apt-get install openssl")
    database = PostgresDatabase(postgres_url, prefix="amphibian_e2e")
    env = server_env(stack, database.url, DJANGO_ALLOWED_HOSTS="127.0.0.1")
    env = prepare(env, tmp / "static")
    gunicorn = Gunicorn(env, tmp / "gunicorn.log", workers=2).start()
    worker, worker_log = started(
        [sys.executable, "manage.py", "db_worker"], subprocess_env(**env), tmp / "worker.log"
    )
    nginx_dir = tmp / "nginx"
    nginx_dir.mkdir()
    config = nginx_config(nginx_dir, gunicorn.port, free_port(), port)
    snippet = nginx_dir / "amphibian-proxy.conf"
    proxy = snippet.read_text()
    assert "proxy_set_header Host $host;" in proxy
    snippet.write_text(proxy.replace("Host $host;", "Host $http_host;"))
    nginx = subprocess.Popen(
        [shutil.which("nginx"), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        logs = [tmp / "gunicorn.log", tmp / "worker.log", nginx_dir / "error.log"]
        yield Site("server", f"https://127.0.0.1:{port}", stack, logs)
    finally:
        stop_process(nginx)
        stop_process(worker)
        worker_log.close()
        gunicorn.stop()
        database.drop()


def lambda_target(port, stack, postgres_url, tmp):
    """The source tree in the local Lambda (HTTP API v2 events, stage dev), PostgreSQL.

    Static files: whitenoise from a directory collected with the lambda settings.
    """
    require(shutil.which("unshare"), "unshare", "apt-get install util-linux")
    database = PostgresDatabase(postgres_url, prefix="amphibian_e2e")
    env = subprocess_env(
        DJANGO_DEPLOY_TARGET="lambda",
        DJANGO_SECRET_KEY=SECRET_KEY,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=database.url,
        DJANGO_STATIC_ROOT=str(tmp / "static"),
        # The raw API Gateway URL keeps the stage in front of every path.
        DJANGO_STATIC_URL="/dev/static/",
        **stack_env(stack),
        # Tasks (thumbnails) go to the local Lambda's own Invoke API, not to moto.
        AWS_ENDPOINT_URL_LAMBDA=f"http://127.0.0.1:{port}",
    )
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        run_manage([*command, "-v0"], env)
    log_path = tmp / "runlambda.log"
    process, log = started(
        [
            *(sys.executable, "manage.py", "runlambda", "--source", "--event", "v2"),
            *("--stage", "dev", "--port", str(port), "--concurrency", "2"),
        ],
        {**env, "PYTHONUNBUFFERED": "1"},
        log_path,
    )
    try:
        wait_for_stage_health(f"http://127.0.0.1:{port}/dev/healthz", 90, process, log_path)
        yield Site("lambda", f"http://127.0.0.1:{port}/dev", stack, [log_path])
    finally:
        stop_process(process)
        log.close()
        database.drop()


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


@pytest.fixture(
    scope="module",
    params=[
        "local",
        "server",
        "lambda",
    ],
)
def site(request, e2e_ports, e2e_stack, tmp_path_factory):
    """One running target; the scenarios run against each in turn."""
    name = request.param
    port = e2e_ports[name]
    tmp = tmp_path_factory.mktemp(f"e2e-{name}")
    if name == "local":
        yield from local_target(port, e2e_stack, tmp)
    else:
        yield from {"server": server_target, "lambda": lambda_target}[name](
            port, e2e_stack, request.getfixturevalue("postgres_url"), tmp
        )


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


@pytest.fixture
def page(chromium, site, request):
    """A fresh browser context per scenario; its last page is saved under var/e2e/<target>/."""
    context = chromium.new_context(ignore_https_errors=True, locale="en-US", accept_downloads=True)
    context.set_default_timeout(20_000)
    context.set_default_navigation_timeout(30_000)
    page = context.new_page()
    # What went wrong in the page, for failure messages: error responses, console errors.
    page.problems = []
    page.on(
        "response",
        lambda r: r.status >= 400 and page.problems.append(f"{r.status} {r.request.url}"),
    )
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    yield page
    folder = SCREENSHOTS / site.name
    folder.mkdir(parents=True, exist_ok=True)
    scenario = request.node.originalname.removeprefix("test_")
    try:
        page.screenshot(path=str(folder / f"{scenario}.png"), full_page=True, timeout=10_000)
    finally:
        context.close()

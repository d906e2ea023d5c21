"""The server target for real: gunicorn on PostgreSQL and the local AWS stack, nginx with
deploy/ec2's site in front, systemd-analyze on the units, the Redis cache."""

import collections
import concurrent.futures
import http.client
import importlib.util
import json
import re
import shutil
import ssl
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from deploy.tools.harness.browser import HOST, Browser
from deploy.tools.harness.loopback import free_port, free_ports, listening
from deploy.tools.harness.postgres import PostgresDatabase
from deploy.tools.harness.processes import ROOT, run_python, subprocess_env
from deploy.tools.harness.server import Gunicorn, prepare, server_env, wait_for_health
from tests.fixtures import require
from tests.support.nginx import nginx_config
from tests.support.smoke import smoke_scenario

EC2 = ROOT / "deploy" / "ec2"


@pytest.fixture(scope="module")
def gunicorn(local_aws, postgres_url, tmp_path_factory):
    database = PostgresDatabase(postgres_url)
    tmp = tmp_path_factory.mktemp("gunicorn")
    try:
        env = prepare(server_env(local_aws, database.url), tmp / "static")
        server = Gunicorn(env, tmp / "gunicorn.log").start()
        yield server
        server.stop()
    finally:
        database.drop()


def test_smoke_scenario_on_gunicorn(gunicorn):
    browser = Browser(gunicorn.url, forwarded_proto="https")
    seen = smoke_scenario(
        browser, settings.LOCALAWS_DEMO_USERNAME, settings.LOCALAWS_DEMO_PASSWORD
    )
    assert seen["file"]["name"] == "hello.txt"
    access = gunicorn.access_log()
    assert {"/accounts/login/", "/accounts/me/", "/api/files/"} <= {a["path"] for a in access}
    assert all(line["request_id"] and line["host"] == HOST for line in access)


def test_static_files_are_hashed_compressed_and_cached_forever(gunicorn):
    static_root = Path(gunicorn.env["DJANGO_STATIC_ROOT"])
    manifest = json.loads((static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["admin/css/base.css"]
    assert hashed != "admin/css/base.css"
    response = Browser(gunicorn.url, forwarded_proto="https").get(
        f"/static/{hashed}", headers={"Accept-Encoding": "gzip"}
    )
    assert response.status == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=315360000" in response.headers["Cache-Control"]


# --- nginx in front ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nginx(gunicorn, tmp_path_factory):
    require(shutil.which("nginx"), "nginx", "make server-deps (apt-get install nginx)")
    require(shutil.which("openssl"), "openssl", "apt-get install openssl")
    tmp = tmp_path_factory.mktemp("nginx")
    http_port, https_port = free_ports(2)
    config = nginx_config(tmp, gunicorn.port, http_port, https_port)
    check = subprocess.run(
        [shutil.which("nginx"), "-t", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [shutil.which("nginx"), "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_health("127.0.0.1", http_port, 30, process)
        yield {
            "http": f"http://127.0.0.1:{http_port}",
            "https": f"https://127.0.0.1:{https_port}",
        }
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_nginx_forwards_https_and_client_address(nginx, gunicorn):
    response = Browser(nginx["https"]).get("/en/")
    assert response.status == 200
    # Django saw a secure request: only then does it send HSTS.
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # nginx's $request_id became the app's request id, so both logs share it.
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    line = gunicorn.access_line(request_id)
    assert line["forwarded_proto"] == "https"
    assert line["forwarded_for"] == "127.0.0.1"
    assert line["host"] == HOST


def test_nginx_overwrites_a_client_supplied_forwarded_proto(nginx):
    browser = Browser(nginx["http"], forwarded_proto="https")  # a client lying
    response = browser.get("/accounts/login/")
    assert response.status == 301
    assert response.headers["Location"] == f"https://{HOST}/accounts/login/"
    # Load balancers probe plain HTTP: health is exempt from the redirect.
    assert Browser(nginx["http"]).get("/healthz").status == 200


def test_nginx_body_limit_matches_the_fallback_upload_limit(nginx):
    snippet = (EC2 / "nginx" / "amphibian-proxy.conf").read_text()
    limit = int(re.search(r"client_max_body_size (\d+)m;", snippet).group(1)) * 1024 * 1024
    fallback = settings.FILES_FALLBACK_MAX_BYTES
    assert fallback < limit <= fallback + 1024 * 1024  # the form's overhead, no more

    browser = Browser(nginx["https"])
    browser.get("/accounts/login/")  # a CSRF cookie, as a real form post would have
    headers = {"Content-Type": "application/octet-stream"}
    too_big = browser.post("/files/upload", b"x" * (limit + 1), headers=headers)
    assert too_big.status == 413
    assert "X-Request-ID" not in too_big.headers  # refused by nginx, gunicorn never saw it
    within = browser.post("/files/upload", b"x" * (limit - 1024), headers=headers)
    assert within.status != 413 and "X-Request-ID" in within.headers  # the app decided


def test_nginx_closes_connections_for_unknown_hosts(nginx):
    for base in (nginx["http"], nginx["https"]):
        with pytest.raises((http.client.RemoteDisconnected, ssl.SSLError, ConnectionError)):
            Browser(base, host="evil.com").get("/en/about/")
    # A load balancer's health check names the instance's address: it still gets through.
    assert Browser(nginx["http"], host="10.0.1.17").get("/healthz").status == 200
    # The site's own host is served, and its redirects name it.
    moved = Browser(nginx["http"]).get("/api/files")
    assert moved.status == 301
    assert moved.headers["Location"] == f"https://{HOST}/api/files/"


def _form_token(browser, path):
    page = browser.get(path)
    assert page.status == 200, page.status
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def _post_form(browser, path, fields):
    return browser.post(path, urllib.parse.urlencode(fields).encode()).status


def _in_parallel(count, call):
    with concurrent.futures.ThreadPoolExecutor(max_workers=count) as pool:
        return collections.Counter(pool.map(lambda _: call(), range(count)))


def _contact_rows(gunicorn, address):
    with psycopg.connect(gunicorn.env["DATABASE_URL"]) as connection:
        return connection.execute(
            "SELECT count(*) FROM pages_contactmessage WHERE remote_addr = %s", [address]
        ).fetchone()[0]


def test_a_stranger_cannot_lock_out_a_user_with_the_right_password(nginx):
    username, password = settings.LOCALAWS_DEMO_USERNAME, settings.LOCALAWS_DEMO_PASSWORD
    stranger = Browser(nginx["https"], client_address="127.0.0.2")
    fields = {"csrfmiddlewaretoken": _form_token(stranger, "/accounts/login/")}
    wrong = {**fields, "username": username, "password": "Not-the-password-1"}
    statuses = [_post_form(stranger, "/accounts/login/", wrong) for _ in range(8)]
    limit = settings.LOGIN_FAILURE_LIMIT
    assert statuses == [400] * limit + [429] * (8 - limit)
    # The stranger's address is throttled for this user; the user, elsewhere, is not.
    user = Browser(nginx["https"], client_address="127.0.0.3")
    assert user.login(username, password).status == 302
    assert user.get("/accounts/me/").json()["email"] == username


def test_parallel_wrong_logins_never_pass_the_limit(nginx):
    browser = Browser(nginx["https"], client_address="127.0.0.4")
    fields = {
        "csrfmiddlewaretoken": _form_token(browser, "/accounts/login/"),
        "username": "parallel-guesser@example.com",
        "password": "Not-the-password-1",
    }
    seen = _in_parallel(40, lambda: _post_form(browser, "/accounts/login/", fields))
    # Exactly the limit reached Cognito (400: refused there); the rest never left the app.
    assert seen == {400: settings.LOGIN_FAILURE_LIMIT, 429: 40 - settings.LOGIN_FAILURE_LIMIT}


def test_parallel_contact_posts_store_only_what_is_left(nginx, gunicorn):
    address = "127.0.0.5"
    browser = Browser(nginx["https"], client_address=address)
    fields = {
        "csrfmiddlewaretoken": _form_token(browser, "/en/contact/"),
        "name": "Parallel",
        "email": "parallel@example.com",
        "message": "Hello",
    }
    limit = settings.CONTACT_RATE_LIMIT
    for _ in range(limit - 3):
        assert _post_form(browser, "/en/contact/", fields) == 302
    seen = _in_parallel(30, lambda: _post_form(browser, "/en/contact/", fields))
    assert seen == {302: 3, 429: 27}
    assert _contact_rows(gunicorn, address) == limit  # nginx's address reached the app


def test_a_spoofed_forwarded_for_is_not_the_client_address(nginx, gunicorn):
    browser = Browser(nginx["https"], client_address="127.0.0.6")
    fields = {
        "csrfmiddlewaretoken": _form_token(browser, "/en/contact/"),
        "name": "Spoof",
        "email": "spoof@example.com",
        "message": "Hello",
    }
    body = urllib.parse.urlencode(fields).encode()
    response = browser.post("/en/contact/", body, headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.status == 302
    assert _contact_rows(gunicorn, "127.0.0.6") == 1
    assert _contact_rows(gunicorn, "203.0.113.9") == 0


# --- systemd ------------------------------------------------------------------------------


def test_systemd_units_verify(tmp_path):
    """``systemd-analyze verify`` against a root holding the layout the units expect."""
    require(shutil.which("systemd-analyze"), "systemd-analyze", "apt-get install systemd")
    units = tmp_path / "etc/systemd/system"
    units.mkdir(parents=True)
    for unit in (EC2 / "systemd").glob("amphibian-*"):
        shutil.copy(unit, units)
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    (tmp_path / "etc/amphibian").mkdir()
    (tmp_path / "etc/amphibian/amphibian.env").write_text("DJANGO_DEPLOY_TARGET=server\n")
    for executable in ("opt/amphibian/venv/bin/gunicorn", "opt/amphibian/venv/bin/python"):
        path = tmp_path / executable
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    (tmp_path / "opt/amphibian/app").mkdir()
    (tmp_path / "bin").mkdir()
    shutil.copy("/bin/kill", tmp_path / "bin/kill")
    names = sorted(path.name for path in units.iterdir())
    assert {"amphibian-web.socket", "amphibian-web.service", "amphibian-worker.service"} <= set(
        names
    )
    assert any(name.endswith(".timer") for name in names)
    result = subprocess.run(
        [shutil.which("systemd-analyze"), "verify", f"--root={tmp_path}", *names],
        cwd=units,
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(SYSTEMD_LOG_LEVEL="notice"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""  # no unknown keys, no missing commands


def test_gunicorn_serves_the_socket_systemd_hands_it(local_aws, postgres_url, tmp_path):
    """Socket activation as amphibian-web.socket does it, with systemd-socket-activate."""
    require(shutil.which("systemd-socket-activate"), "systemd-socket-activate", "install systemd")
    port = free_port()
    env = server_env(
        local_aws, postgres_url, GUNICORN_WORKERS="1", GUNICORN_BIND="127.0.0.1:9"
    )  # bind is ignored when systemd passes a socket
    env = subprocess_env(**env)
    # systemd-socket-activate starts the child with only the variables named by -E.
    process = subprocess.Popen(
        [shutil.which("systemd-socket-activate"), "-l", f"127.0.0.1:{port}"]
        + [f"-E{name}" for name in env]
        + [sys.executable, "-m", "gunicorn", "-c", "deploy/container/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not listening("127.0.0.1", port) and time.monotonic() < deadline:
            time.sleep(0.1)
        wait_for_health("127.0.0.1", port, 60, process)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert f"Listening at: http://127.0.0.1:{port}" in output, output  # the inherited socket
    assert "127.0.0.1:9" not in output


# --- Redis cache ---------------------------------------------------------------------------

CACHE_PROBE = (
    "import json, project.targets; project.targets.configure();"
    "import django; django.setup();"
    "from django.core.cache import cache; from django.conf import settings;"
    "cache.set('probe', {'n': 1}, 60);"
    "print(json.dumps([settings.CACHES['default']['BACKEND'], cache.get('probe')]))"
)


def cache_probe(**env):
    result = run_python(CACHE_PROBE, subprocess_env(**env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_redis_cache_when_redis_url_is_set(local_aws, postgres_url):
    require(listening("127.0.0.1", 6379), "Redis on 127.0.0.1:6379", "apt-get install redis")
    require(
        importlib.util.find_spec("redis"),
        "the redis client",
        ".venv/bin/pip install redis (Django's RedisCache needs it)",
    )
    import redis

    env = server_env(local_aws, postgres_url)
    database = 15  # out of the way of anything else on this Redis
    backend, value = cache_probe(**env, REDIS_URL=f"redis://127.0.0.1:6379/{database}")
    assert backend == "django.core.cache.backends.redis.RedisCache"
    assert value == {"n": 1}
    client = redis.Redis(host="127.0.0.1", port=6379, db=database)
    try:
        assert client.exists("amphibian:1:probe")  # really in Redis, under our prefix
    finally:
        client.delete("amphibian:1:probe")
        client.close()
    assert cache_probe(**env)[0] == "django.core.cache.backends.locmem.LocMemCache"

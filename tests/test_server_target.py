"""The server target for real: gunicorn on PostgreSQL and the local AWS stack, nginx with
deploy/ec2's site in front, systemd-analyze on the units, the Redis cache."""

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from deploy.tools.harness.browser import HOST, Browser
from deploy.tools.harness.loopback import free_port, listening
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
    http_port, https_port = free_port(), free_port()
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
    line = next(a for a in gunicorn.access_log() if a["request_id"] == request_id)
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

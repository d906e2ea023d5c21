"""The server target as it runs deployed: a migrated PostgreSQL database, collected static
files, gunicorn with ``deploy/container/gunicorn.conf.py``, and a browser-like HTTP client.

Shared by ``test_server_target.py``, ``test_container.py`` and ``bench/server_load.py``.
"""

import http.client
import json
import re
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from http.cookies import SimpleCookie

from tests.fixtures import (
    ROOT,
    PostgresDatabase,
    free_port,
    run_manage,
    stack_env,
    stop_process,
    subprocess_env,
)

HOST = "app.example.com"
GUNICORN_CONF = ROOT / "deploy" / "container" / "gunicorn.conf.py"


def server_env(stack, database_url, **extra):
    """The server target's environment against the test session's local AWS stack."""
    return {
        "DJANGO_DEPLOY_TARGET": "server",
        "DJANGO_SECRET_KEY": "server-target-test-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_TRUST_X_FORWARDED_PROTO": "true",
        "DATABASE_URL": database_url,
        **stack_env(stack),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


Database = PostgresDatabase


def prepare(env, static_root):
    """What a release does before starting: migrate, collect static files."""
    env = {**env, "DJANGO_STATIC_ROOT": str(static_root)}
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        run_manage([*command, "-v0"], subprocess_env(**env))
    return env


class Gunicorn:
    """gunicorn with the project's config file on a free loopback port; output to a file."""

    def __init__(self, env, log_path, workers=2, port=None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = subprocess_env(
            **env, GUNICORN_BIND=f"127.0.0.1:{self.port}", GUNICORN_WORKERS=str(workers)
        )
        self.process = None

    def start(self, timeout=60):
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        wait_for_health("127.0.0.1", self.port, timeout, self.process, self.log_path)
        return self

    def stop(self):
        if self.process:
            stop_process(self.process)
        self.log.close()

    def access_log(self):
        """gunicorn's JSON access lines so far."""
        lines = []
        for line in self.log_path.read_text().splitlines():
            if line.startswith("{") and '"gunicorn.access"' in line:
                lines.append(json.loads(line))
        return lines


def wait_for_health(host, port, timeout, process=None, log_path=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            output = log_path.read_text() if log_path else ""
            raise RuntimeError(f"server exited early ({process.returncode}):\n{output}")
        try:
            status = Browser(f"http://{host}:{port}").get("/healthz").status
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no 200 from http://{host}:{port}/healthz in {timeout}s")


class Response:
    def __init__(self, raw):
        self.status = raw.status
        self.headers = raw.headers
        self.body = raw.read()

    def json(self):
        return json.loads(self.body)

    @property
    def text(self):
        return self.body.decode()


class Browser:
    """Just enough of a browser: a cookie jar per host (Secure cookies kept: the TLS is in
    front), CSRF token handling, and the headers the proxy in front would add."""

    def __init__(self, base_url, host=HOST, forwarded_proto=None):
        parts = urllib.parse.urlsplit(base_url)
        self.scheme, self.address, self.port = parts.scheme, parts.hostname, parts.port
        self.host = host
        self.forwarded_proto = forwarded_proto
        self.cookies = {}

    def _connection(self):
        if self.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
            return http.client.HTTPSConnection(
                self.address, self.port, timeout=30, context=context
            )
        return http.client.HTTPConnection(self.address, self.port, timeout=30)

    def request(self, method, path, body=None, headers=None):
        headers = {"Host": self.host, **(headers or {})}
        if self.forwarded_proto:
            headers.setdefault("X-Forwarded-Proto", self.forwarded_proto)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = self._connection()
        try:
            connection.request(method, path, body=body, headers=headers)
            response = Response(connection.getresponse())
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def origin(self):
        proto = self.forwarded_proto or self.scheme
        return f"{proto}://{self.host}"

    def post(self, path, body=b"", content_type="application/x-www-form-urlencoded", **kw):
        headers = {
            "Content-Type": content_type,
            "Origin": self.origin(),
            "Referer": self.origin() + path,
            "X-CSRFToken": self.cookies.get("csrftoken", ""),
            **kw.pop("headers", {}),
        }
        return self.request("POST", path, body=body, headers=headers, **kw)

    def post_json(self, path, data):
        return self.post(path, json.dumps(data).encode(), content_type="application/json")

    def login(self, username, password):
        form = self.get("/accounts/login/")
        assert form.status == 200, form.status
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": password}
        )
        return self.post("/accounts/login/", body.encode())


def multipart(fields, file_field, filename, data):
    """A multipart/form-data body: what a browser sends to a presigned POST."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
        f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def smoke_scenario(browser, username, password):
    """Home, health, readiness, login, a session round trip and an upload; returns what it saw."""
    home = browser.get("/")
    if home.status in (301, 302):  # a language prefix: at most one redirect, same host
        location = urllib.parse.urlsplit(home.headers["Location"])
        assert location.netloc in ("", browser.host), home.headers["Location"]
        home = browser.get(location.path)
    assert home.status == 200, (home.status, home.headers)
    assert browser.get("/healthz").json() == {"status": "ok"}
    ready = browser.get("/readyz")
    assert ready.status == 200, ready.text
    assert set(ready.json()["checks"].values()) == {"ok"}

    login = browser.login(username, password)
    assert login.status == 302, login.text[:2000]
    assert "sessionid" in browser.cookies
    me = browser.get("/accounts/me/")  # the session, read back from DynamoDB
    assert me.status == 200, me.text
    assert me.json()["email"] == username

    data = b"hello from the server target\n"
    started = browser.post_json(
        "/api/files/", {"name": "hello.txt", "size": len(data), "content_type": "text/plain"}
    )
    assert started.status == 201, started.text
    upload = started.json()["upload"]
    body, content_type = multipart(upload["fields"], "file", "hello.txt", data)
    s3 = urllib.parse.urlsplit(upload["url"])
    connection = http.client.HTTPConnection(s3.hostname, s3.port, timeout=30)
    connection.request("POST", s3.path or "/", body=body, headers={"Content-Type": content_type})
    assert connection.getresponse().status in (200, 201, 204)
    connection.close()
    completed = browser.post(started.json()["file"]["complete_url"])
    assert completed.status == 200, completed.text
    assert completed.json()["file"]["status"] == "ready"
    return {"me": me.json(), "file": completed.json()["file"]}

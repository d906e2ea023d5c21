"""Log lines: each once on the console whatever Django configured first, fields not repeated."""

import json
import logging

from apps.core.logs import ConsoleFormatter, JSONFormatter, RunserverRequestLineFilter
from deploy.tools.harness.processes import run_python, subprocess_env

# What runserver and Django log during a request, through the local settings' LOGGING in a
# cold process (as runserver's is), with DEBUG on: Django's own console handler printed all
# but the django.server lines a second time, on stderr, and those bypassed our formatter.
EMIT = """
import logging
import socket

import django

from project.targets import configure

configure()
django.setup()
connection = socket.socket()  # runserver passes its socket as the record's "request"
context = {"request": connection, "server_time": "03/Dec/2026 12:00:00"}
logging.getLogger("django.utils.autoreload").info("Watching for file changes with StatReloader")
logging.getLogger("apps.core.access").info(
    "%s %s %s", "GET", "/en/nope/", 404,
    extra={"method": "GET", "path": "/en/nope/", "status": 404, "duration_ms": 3.1},
)
server = logging.getLogger("django.server")
server.warning('"%s" %s %s', "GET /en/nope/ HTTP/1.1", "404", "4220",
               extra={**context, "status_code": 404})
server.error("You're accessing the development server over HTTPS, but it only supports HTTP.",
             extra={**context, "status_code": 500})
try:
    raise RuntimeError("boom")
except RuntimeError:
    logging.getLogger("django.request").error(
        "Internal Server Error: /crash/", exc_info=True, extra={"status_code": 500}
    )
"""


def test_each_line_once_on_stdout_through_the_local_logging(tmp_path):
    result = run_python(
        EMIT,
        subprocess_env(
            DJANGO_DEPLOY_TARGET="local",
            DJANGO_DEBUG="true",
            DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
            LOCALAWS_STATE_DIR=str(tmp_path / "localaws"),
        ),
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert [line.split()[1:3] for line in lines if line[:2].isdigit()] == [
        ["INFO", "django.utils.autoreload"],
        ["INFO", "apps.core.access"],
        ["ERROR", "django.server"],  # the HTTPS hint; its request line is the access line
        ["ERROR", "django.request"],
    ]
    assert result.stdout.count("RuntimeError: boom") == 1
    assert "socket" not in result.stdout and "server_time" not in result.stdout


def record(msg, *args, **extra):
    entry = logging.LogRecord("apps.core.access", logging.INFO, "", 0, msg, args, None)
    entry.__dict__.update(extra, request_id=None)
    return entry


def test_console_does_not_repeat_the_fields_the_message_shows():
    access = record(
        "%s %s %s", "GET", "/en/", 200, method="GET", path="/en/", status=200, duration_ms=1.5
    )
    line = ConsoleFormatter().format(access)
    assert line.endswith("apps.core.access  GET /en/ 200  duration_ms=1.5")
    entry = json.loads(JSONFormatter().format(access))  # every field, for queries
    assert (entry["message"], entry["path"], entry["status"]) == ("GET /en/ 200", "/en/", 200)


def test_an_equal_field_that_was_not_an_argument_still_shows():
    access = record("%s %s", "/en/", 200, path="/en/", status=200, user_id=200)
    assert ConsoleFormatter().format(access).endswith("/en/ 200  user_id=200")
    job = record("running %(job)s", {"job": "purge"}, job="purge", attempt=1)
    assert ConsoleFormatter().format(job).endswith("running purge  attempt=1")
    flag = record("%s", 1, enabled=True)  # True == 1, but it is not the argument
    assert ConsoleFormatter().format(flag).endswith("1  enabled=True")


def test_runserver_request_lines_are_dropped_its_other_lines_kept():
    keep = RunserverRequestLineFilter().filter
    request_line = ('"%s" %s %s', ("GET / HTTP/1.1", "404", "1"))
    unparsed = ("code %d, message %s", (400, "Bad request syntax"))
    for (msg, args), kept in ((request_line, False), (unparsed, True)):
        line = logging.LogRecord("django.server", logging.WARNING, "", 0, msg, args, None)
        assert keep(line) is kept

"""Log formatting: JSON lines for CloudWatch and log shippers, a readable console locally."""

import datetime
import json
import logging
from collections.abc import Mapping

from apps.core import request_id

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)
# What Django passes for its own handlers, not as fields: the request object (for the
# admins' e-mail; a socket in runserver's lines) and runserver's timestamp.
_DJANGO_HANDLER_ATTRS = frozenset({"request", "server_time"})
# The line http.server writes per request, which runserver logs on django.server.
_RUNSERVER_REQUEST_LINE = '"%s" %s %s'


class RequestIDFilter(logging.Filter):
    """Stamp every record with the current request id (None outside a request)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


class RunserverRequestLineFilter(logging.Filter):
    """Drop runserver's own line per request: the access log (apps.core.access) has every
    request once already, with its request id and duration. Its other lines (a request it
    could not parse, https to the http server) stay."""

    def filter(self, record):
        return record.msg != _RUNSERVER_REQUEST_LINE


def _extras(record):
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RECORD_ATTRS
        and key not in _DJANGO_HANDLER_ATTRS
        and key != "request_id"
        and not key.startswith("_")
    }


def _extras_not_in_message(record):
    """The extra fields the message does not show: ``log.info("job %s", name, extra={"job":
    name})`` prints the name once. Each argument of the message stands for the first field
    of the same type and value, so an equal field that was not an argument still shows."""
    fields = _extras(record)
    args = record.args.values() if isinstance(record.args, Mapping) else record.args or ()
    for arg in args:
        for key, value in fields.items():
            if type(value) is type(arg) and value == arg:
                del fields[key]
                break
    return fields


class JSONFormatter(logging.Formatter):
    """One JSON object per line; ``extra=`` fields become top-level keys."""

    def format(self, record):
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """``12:00:01 INFO  logger  message  key=value ...`` for a developer's terminal; a field
    the message already shows is not repeated after it."""

    def __init__(self):
        super().__init__(
            fmt="%(asctime)s %(levelname)-7s %(name)s  %(message)s", datefmt="%H:%M:%S"
        )

    def formatMessage(self, record):
        line = super().formatMessage(record)
        fields = _extras_not_in_message(record)
        if not fields:
            return line
        return f"{line}  " + " ".join(f"{key}={value}" for key, value in fields.items())

"""Log formatting: JSON lines for CloudWatch and log shippers, a readable console locally."""

import datetime
import json
import logging

from apps.core import request_id

# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys() | {"message", "asctime"}
)


class RequestIDFilter(logging.Filter):
    """Stamp every record with the current request id (None outside a request)."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        return True


def _extras(record):
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _RECORD_ATTRS and key != "request_id" and not key.startswith("_")
    }


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
    """``12:00:01 INFO  logger  message  key=value ...`` for a developer's terminal."""

    def __init__(self):
        super().__init__(
            fmt="%(asctime)s %(levelname)-7s %(name)s  %(message)s", datefmt="%H:%M:%S"
        )

    def formatMessage(self, record):
        line = super().formatMessage(record)
        fields = " ".join(f"{key}={value}" for key, value in _extras(record).items())
        return f"{line}  {fields}" if fields else line

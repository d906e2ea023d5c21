"""The id that ties a request's log lines, response and upstream calls together."""

import contextvars
import re
import uuid

HEADER = "X-Request-ID"
# What we accept from a client or proxy: a short token, nothing that could forge a log line.
_SANE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,127}$")

_current = contextvars.ContextVar("request_id", default=None)


def is_sane(value):
    return bool(value) and _SANE.fullmatch(value) is not None


def for_request(request):
    """The incoming ``X-Request-ID`` if sane, else the Lambda request id, else a new uuid."""
    incoming = request.headers.get(HEADER, "")
    if is_sane(incoming):
        return incoming
    context = request.META.get("lambda.context")
    lambda_id = getattr(context, "aws_request_id", None)
    if isinstance(lambda_id, str) and is_sane(lambda_id):
        return lambda_id
    return uuid.uuid4().hex


def get():
    return _current.get()


def set(value):
    return _current.set(value)


def reset(token):
    _current.reset(token)

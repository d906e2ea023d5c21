"""HTTP events (API Gateway REST v1, HTTP API v2, function URLs, ALB) to WSGI and back.

One request shape in, one call of the WSGI application, and the response shape the
event's source expects:

- REST API (v1) and an ALB with multi-value headers get ``multiValueHeaders`` only:
  returning ``headers`` as well makes API Gateway merge the two and send every
  ``Set-Cookie`` twice (what Zappa's handler does).
- HTTP API and function URLs (payload format 2.0) get cookies in ``cookies``; other
  repeated headers are comma-joined, as HTTP allows.
- Bodies that are not UTF-8 text travel base64-encoded, both ways.

The stage prefix becomes ``SCRIPT_NAME``, so ``reverse()``, redirects and relative
``STATIC_URL`` values include ``/dev`` when the site is reached through the stage URL.

An event that cannot be a request (a body that is not the base64 it claims to be, a
field of the wrong type, text that is not UTF-8) is answered 400 in its source's shape,
as a server answers a malformed request, without reaching Django.
"""

import base64
import io
import logging
import sys
from typing import Any
from urllib.parse import unquote, urlencode

logger = logging.getLogger(__name__)

V1, V2, ALB = "v1", "v2", "alb"

_TEXT_TYPES = (
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/x-www-form-urlencoded",
    "image/svg+xml",
)
_TEXT_SUFFIXES = ("+json", "+xml")


class MalformedEvent(ValueError):
    """The HTTP event cannot be turned into a request; the message names the field."""


def source(event):
    """The HTTP source of ``event`` (``V1``, ``V2`` or ``ALB``), or None if it is not HTTP."""
    if not isinstance(event, dict):
        return None
    context = event.get("requestContext")
    if not isinstance(context, dict):
        context = {}
    if event.get("version") == "2.0" and ("http" in context or "rawPath" in event):
        return V2
    if "httpMethod" in event:
        return ALB if "elb" in context else V1
    return None


def handle(application, event, context, kind):
    """Run ``event`` through the WSGI ``application``; the response in the source's shape."""
    try:
        environ = wsgi_environ(event, context, kind)
    except MalformedEvent as exc:
        logger.warning("malformed %s event, answered 400: %s", kind, exc)
        return bad_request(event, kind, str(exc))
    status, headers, body = call_wsgi(application, environ)
    return lambda_response(event, kind, status, headers, body)


def bad_request(event, kind, reason):
    """A 400 in ``kind``'s shape; ``reason`` names a field, never echoes a value."""
    body = f"Bad request: {reason}.\n".encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")]
    return lambda_response(event, kind, "400 Bad Request", headers, body)


def wsgi_environ(event, context, kind):
    """The WSGI environ for an HTTP event; the Lambda context is ``environ["lambda.context"]``.

    MalformedEvent when the event cannot be a request.
    """
    headers = request_headers(event, kind)
    body = request_body(event)
    request_context = _object(event.get("requestContext"), "requestContext")
    if kind == V2:
        http = _object(request_context.get("http"), "requestContext.http")
        method = _text(http.get("method"), "requestContext.http.method")
        path = _text(event.get("rawPath"), "rawPath") or "/"
        query = _text(event.get("rawQueryString"), "rawQueryString")
        script_name = _http_api_prefix(
            path, _text(request_context.get("stage"), "requestContext.stage")
        )
        remote_addr = _text(http.get("sourceIp"), "requestContext.http.sourceIp")
    else:
        method = _text(event.get("httpMethod"), "httpMethod")
        path = _text(event.get("path"), "path") or "/"
        query = _v1_query_string(event, raw=kind == ALB)
        script_name = _rest_api_prefix(event, request_context) if kind == V1 else ""
        identity = _object(request_context.get("identity"), "requestContext.identity")
        remote_addr = _text(
            identity.get("sourceIp"), "requestContext.identity.sourceIp"
        ) or _forwarded_for(headers)
    if not method:
        raise MalformedEvent("no HTTP method")
    path = unquote(path)
    if script_name and (path == script_name or path.startswith(script_name + "/")):
        path = path[len(script_name) :] or "/"
    host = headers.get("host", "localhost").rsplit(":", 1)[0]
    environ = {
        "REQUEST_METHOD": _wsgi_str(method),
        "SCRIPT_NAME": _wsgi_str(script_name),
        "PATH_INFO": _wsgi_str(path),
        "QUERY_STRING": _wsgi_str(query),
        "SERVER_NAME": _wsgi_str(host),
        "SERVER_PORT": _wsgi_str(headers.get("x-forwarded-port", "443")),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": _wsgi_str(remote_addr),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        # API Gateway and ALB set the header themselves; a client cannot choose it.
        "wsgi.url_scheme": _wsgi_str(
            headers.get("x-forwarded-proto", "https").split(",")[0].strip()
        ),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "lambda.event": event,
        "lambda.context": context,
    }
    if "content-type" in headers:
        environ["CONTENT_TYPE"] = _wsgi_str(headers["content-type"])
    for name, value in headers.items():
        # Names with underscores would collide with dashes in the environ (X_Auth vs
        # X-Auth); servers such as nginx and runserver drop them too.
        if name in ("content-type", "content-length") or "_" in name:
            continue
        environ[_environ_key(name)] = _wsgi_str(value)
    return environ


_ENVIRON_KEYS: dict[str, str] = {}


def _environ_key(name):
    """``HTTP_X_FORWARDED_FOR`` for ``x-forwarded-for``: remembered, as the same few names
    arrive with every request (up to a bound: clients choose header names)."""
    key = _ENVIRON_KEYS.get(name)
    if key is None:
        key = "HTTP_" + name.upper().replace("-", "_")
        if len(_ENVIRON_KEYS) < 256:
            _ENVIRON_KEYS[name] = key
    return key


def request_headers(event, kind):
    """Lower-cased header names to one value (repeats joined the way HTTP joins them)."""
    headers = {}
    if kind != V2 and event.get("multiValueHeaders"):
        for name, values in _object(event["multiValueHeaders"], "multiValueHeaders").items():
            lowered = _text(name, "a header name").lower()
            separator = "; " if lowered == "cookie" else ", "
            headers[lowered] = separator.join(_texts(values, "a header's values"))
    else:
        for name, value in _object(event.get("headers"), "headers").items():
            headers[_text(name, "a header name").lower()] = _text(value, "a header value")
    if kind == V2 and event.get("cookies"):
        headers["cookie"] = "; ".join(_texts(event["cookies"], "cookies"))
    return headers


def request_body(event):
    body = event.get("body")
    if not body:
        return b""
    if not isinstance(body, str):
        raise MalformedEvent("body is not a string")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:  # binascii.Error, or a str that is not even ASCII
            raise MalformedEvent("isBase64Encoded, but the body is not base64") from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedEvent("the body is not UTF-8 text") from None


def call_wsgi(application, environ):
    """Call a WSGI application; ``(status, [(name, value)], body bytes)``."""
    started: list[Any] = []  # [status, headers] once the application calls start_response
    chunks: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        started[:] = [status, headers]
        return chunks.append

    result = application(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status, headers = started
    return status, headers, b"".join(chunks)


def lambda_response(event, kind, status, headers, body):
    """The response document ``kind``'s source expects."""
    binary = is_binary(headers, body)
    response = {
        "statusCode": int(status.split(" ", 1)[0]),
        "isBase64Encoded": binary,
        "body": base64.b64encode(body).decode("ascii") if binary else body.decode("utf-8"),
    }
    if kind == V2:
        response["cookies"] = [value for name, value in headers if name.lower() == "set-cookie"]
        response["headers"] = _joined(
            (name, value) for name, value in headers if name.lower() != "set-cookie"
        )
    elif kind == V1 or "multiValueHeaders" in event:
        multi: dict[str, list[str]] = {}
        for name, value in headers:
            multi.setdefault(name, []).append(value)
        response["multiValueHeaders"] = multi
    else:
        cookies = [value for name, value in headers if name.lower() == "set-cookie"]
        if len(cookies) > 1:
            # A single-value ALB target group can carry one Set-Cookie only.
            logger.warning(
                "%d Set-Cookie headers but the ALB target group sends one; enable "
                "multi-value headers on it (lambda.multi_value_headers.enabled).",
                len(cookies),
            )
        response["headers"] = _joined(headers)
    if kind == ALB:
        response["statusDescription"] = status
    return response


def is_binary(headers, body):
    """True when ``body`` must travel base64-encoded: compressed, non-text or not UTF-8."""
    if not body:
        return False
    content_type = ""
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-encoding" and value != "identity":
            return True
        if lowered == "content-type":
            content_type = value
    content_type = content_type.split(";")[0].strip().lower()
    if not (content_type.startswith(_TEXT_TYPES) or content_type.endswith(_TEXT_SUFFIXES)):
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _joined(headers):
    joined: dict[str, str] = {}
    for name, value in headers:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


def _rest_api_prefix(event, request_context):
    """What precedes ``path`` in the URL the client used: ``/dev`` on the stage URL, the
    base path on a custom domain, nothing on a custom domain mapped at its root.

    ``path`` is the resource path; ``requestContext.path`` is the full one.
    """
    full = _text(request_context.get("path"), "requestContext.path").rstrip("/")
    path = _text(event.get("path"), "path").rstrip("/")
    if len(full) > len(path) and full.endswith(path):
        return full[: len(full) - len(path)]
    return ""


def _http_api_prefix(raw_path, stage):
    """``/<stage>`` when ``rawPath`` starts with a named stage (the execute-api URL).

    The ``$default`` stage has no prefix, and neither does a custom domain's API mapping;
    compare whole segments so stage ``prod`` does not swallow ``/products``.
    """
    if not stage or stage == "$default":
        return ""
    prefix = f"/{stage}"
    if raw_path == prefix or raw_path.startswith(prefix + "/"):
        return prefix
    return ""


def _v1_query_string(event, raw):
    """The query string; ALB passes parameters still percent-encoded, API Gateway decoded."""
    multi = event.get("multiValueQueryStringParameters")
    if multi:
        pairs = [
            (name, value)
            for name, values in _object(multi, "multiValueQueryStringParameters").items()
            for value in _texts(values, "a query parameter") or [""]
        ]
    else:
        single = _object(event.get("queryStringParameters"), "queryStringParameters")
        pairs = [(name, _text(value, "a query parameter")) for name, value in single.items()]
    for name, _value in pairs:
        _text(name, "a query parameter name")
    if not pairs:
        return ""
    if raw:
        return "&".join(f"{name}={value}" for name, value in pairs)
    return urlencode(pairs)


def _forwarded_for(headers):
    # The ALB appends the client's address as the last entry.
    return headers.get("x-forwarded-for", "").split(",")[-1].strip()


def _wsgi_str(value):
    # PEP 3333: environ strings are bytes decoded as latin-1 (ASCII is the same either way).
    return value if value.isascii() else value.encode("utf-8").decode("latin-1")


def _object(value, field):
    """A JSON object of the event (absent or null is empty), else MalformedEvent."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedEvent(f"{field} is not an object")
    return value


def _text(value, field):
    """A string of the event that UTF-8 can encode (absent or null is empty).

    JSON can carry lone surrogates (``"\\ud800"``); no request can, and they would fail
    later, in Django or a database driver, as a 500.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedEvent(f"{field} is not a string")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedEvent(f"{field} is not UTF-8 text") from None
    return value


def _texts(values, field):
    """A list of strings of the event (absent or null is empty), each as ``_text``."""
    if values is None:
        return []
    if not isinstance(values, list):
        raise MalformedEvent(f"{field} is not a list")
    return [_text(value, field) for value in values]

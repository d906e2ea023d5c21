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


def source(event):
    """The HTTP source of ``event`` (``V1``, ``V2`` or ``ALB``), or None if it is not HTTP."""
    context = event.get("requestContext") or {}
    if event.get("version") == "2.0" and "http" in context:
        return V2
    if "httpMethod" in event:
        return ALB if "elb" in context else V1
    return None


def handle(application, event, context, kind):
    """Run ``event`` through the WSGI ``application``; the response in the source's shape."""
    environ = wsgi_environ(event, context, kind)
    status, headers, body = call_wsgi(application, environ)
    return lambda_response(event, kind, status, headers, body)


def wsgi_environ(event, context, kind):
    """The WSGI environ for an HTTP event; the Lambda context is ``environ["lambda.context"]``."""
    headers = request_headers(event, kind)
    body = request_body(event)
    request_context = event.get("requestContext") or {}
    if kind == V2:
        method = request_context["http"]["method"]
        path = event.get("rawPath") or "/"
        query = event.get("rawQueryString") or ""
        script_name = _http_api_prefix(path, request_context.get("stage"))
        remote_addr = request_context["http"].get("sourceIp", "")
    else:
        method = event["httpMethod"]
        path = event.get("path") or "/"
        query = _v1_query_string(event, raw=kind == ALB)
        script_name = _rest_api_prefix(event) if kind == V1 else ""
        remote_addr = (request_context.get("identity") or {}).get("sourceIp") or _forwarded_for(
            headers
        )
    path = unquote(path)
    if script_name and (path == script_name or path.startswith(script_name + "/")):
        path = path[len(script_name) :] or "/"
    host = headers.get("host", "localhost").rsplit(":", 1)[0]
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": _wsgi_str(script_name),
        "PATH_INFO": _wsgi_str(path),
        "QUERY_STRING": query,
        "SERVER_NAME": host,
        "SERVER_PORT": headers.get("x-forwarded-port", "443"),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": remote_addr,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        # API Gateway and ALB set the header themselves; a client cannot choose it.
        "wsgi.url_scheme": headers.get("x-forwarded-proto", "https").split(",")[0].strip(),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "lambda.event": event,
        "lambda.context": context,
    }
    if "content-type" in headers:
        environ["CONTENT_TYPE"] = headers["content-type"]
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
        for name, values in event["multiValueHeaders"].items():
            lowered = name.lower()
            headers[lowered] = ("; " if lowered == "cookie" else ", ").join(values or [])
    else:
        for name, value in (event.get("headers") or {}).items():
            headers[name.lower()] = value
    if kind == V2 and event.get("cookies"):
        headers["cookie"] = "; ".join(event["cookies"])
    return headers


def request_body(event):
    body = event.get("body")
    if not body:
        return b""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("utf-8")


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


def _rest_api_prefix(event):
    """What precedes ``path`` in the URL the client used: ``/dev`` on the stage URL, the
    base path on a custom domain, nothing on a custom domain mapped at its root.

    ``path`` is the resource path; ``requestContext.path`` is the full one.
    """
    full = ((event.get("requestContext") or {}).get("path") or "").rstrip("/")
    path = (event.get("path") or "").rstrip("/")
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
    single = event.get("queryStringParameters")
    pairs = (
        [(name, value) for name, values in multi.items() for value in values or [""]]
        if multi
        else list((single or {}).items())
    )
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

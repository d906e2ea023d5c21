"""HTTP requests as the events API Gateway, function URLs and ALB send, and back.

The shapes follow AWS's documented examples: REST API proxy integration (payload 1.0,
with ``binaryMediaTypes = */*`` as Zappa's ``binary_support`` sets it, so every body is
base64), HTTP API and function URL payload 2.0 (repeated headers comma-joined, cookies
apart), and ALB with multi-value headers on (lower-case names, query parameters left
percent-encoded).
"""

import base64
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from deploy.tools import lambda_module

V1, V2, URL, ALB = "v1", "v2", "url", "alb"
KINDS = (V1, V2, URL, ALB)
ACCOUNT = "123456789012"


class Request:
    """An HTTP request as the local gateway received it (path and query still encoded)."""

    def __init__(self, method, path, query, headers, body, source_ip):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers  # [(name, value)], repeats kept
        self.body = body
        self.source_ip = source_ip

    def header(self, name, default=""):
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else default


def event_for(kind, request, stage, scheme):
    """The event ``kind``'s source would send for ``request`` (its path without the stage)."""
    forwarded = [
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Proto", scheme),
        ("X-Forwarded-Port", request.header("Host").rpartition(":")[2] or "80"),
    ]
    # The gateway sets the X-Forwarded-* headers itself; a client cannot choose them.
    headers = [
        (name, value)
        for name, value in request.headers
        if not name.lower().startswith("x-forwarded-")
    ] + forwarded
    return {V1: _rest, V2: _http_api, URL: _http_api, ALB: _alb}[kind](
        request, headers, stage if kind in (V1, V2) else None
    )


def _rest(request, headers, stage):
    multi_headers = _multi(headers)
    query = _multi(parse_qsl(request.query, keep_blank_values=True))
    body, encoded = _body(request, always_base64=True)
    now = datetime.now(UTC)
    return {
        "resource": "/{proxy+}",
        "path": request.path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {name: values[-1] for name, values in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": {"proxy": request.path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "proxy1",
            "resourcePath": "/{proxy+}",
            "httpMethod": request.method,
            "path": f"/{stage}{request.path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "requestId": str(uuid.uuid4()),
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "identity": {"sourceIp": request.source_ip, "userAgent": request.header("User-Agent")},
            "domainName": request.header("Host"),
            "apiId": "local",
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def _http_api(request, headers, stage):
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        if name.lower() == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        name = name.lower()
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    body, encoded = _body(request)
    raw_path = f"/{stage}{request.path}" if stage else request.path
    now = datetime.now(UTC)
    event = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": request.query,
        "headers": joined,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "local",
            "domainName": request.header("Host"),
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.source_ip,
                "userAgent": request.header("User-Agent"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": stage or "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


def _alb(request, headers, stage):
    query: dict[str, list[str]] = {}
    for pair in filter(None, request.query.split("&")):
        name, _, value = pair.partition("=")
        query.setdefault(name, []).append(value)
    body, encoded = _body(request)
    return {
        "requestContext": {
            "elb": {
                "targetGroupArn": (
                    f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/local/0"
                )
            }
        },
        "httpMethod": request.method,
        "path": request.path,
        "multiValueQueryStringParameters": query,
        "multiValueHeaders": _multi((name.lower(), value) for name, value in headers),
        "body": body or "",
        "isBase64Encoded": encoded,
    }


def _multi(pairs):
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    return multi


def _body(request, always_base64=False):
    if not request.body:
        return None, False
    content_type = request.header("Content-Type")
    is_binary = lambda_module("apigateway").is_binary
    if always_base64 or is_binary([("Content-Type", content_type)], request.body):
        return base64.b64encode(request.body).decode("ascii"), True
    return request.body.decode("utf-8"), False


def response_from(kind, payload):
    """``(status, [(name, value)], body bytes)`` from the function's response document."""
    document = json.loads(payload)
    if kind in (V2, URL) and not (isinstance(document, dict) and "statusCode" in document):
        # Payload 2.0 takes any other JSON value as a 200 response body.
        return 200, [("Content-Type", "application/json")], json.dumps(document).encode()
    headers: list[tuple[str, str]] = []
    multi = document.get("multiValueHeaders") or {}
    for name, values in multi.items():
        headers.extend((name, str(value)) for value in values)
    for name, value in (document.get("headers") or {}).items():
        # API Gateway merges both maps; a pair present in both is sent once.
        if str(value) not in [str(v) for v in multi.get(name, [])]:
            headers.append((name, str(value)))
    headers.extend(("Set-Cookie", cookie) for cookie in document.get("cookies") or [])
    body = document.get("body") or ""
    body = base64.b64decode(body) if document.get("isBase64Encoded") else body.encode("utf-8")
    return int(document.get("statusCode", 200)), headers, body

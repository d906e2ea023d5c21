"""One JSON line per request the emulated account answers: who called what.

The least-privilege check turns these lines into IAM actions, so a line carries what names
an action (service, method, raw path and query, ``X-Amz-Target``, the body of JSON and query
protocols) and who signed it, never an object's bytes. The line is taken before moto
dispatches (moto may consume or rewrite the request) and written once the response status is
known, so the check can tell calls that worked from refused ones.

Lines are appended with one ``os.write`` on an ``O_APPEND`` descriptor: the kernel keeps each
line whole and in the file as soon as it is written, with no lock of ours between concurrent
requests (the recorder runs under the end-to-end suite's load).
"""

import email.parser
import email.policy
import io
import json
import os
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, quote

# Larger bodies are not kept: they are uploads, not API calls.
MAX_BODY = 64 * 1024

_CREDENTIAL = re.compile(r"Credential=([^,\s]+)")
_LEGACY_HEADER = re.compile(r"AWS ([^:\s]+):")
# A presigned POST (browser upload) signs with a form field, not a header.
_FORM_CREDENTIAL = re.compile(rb'name="x-amz-credential"\r\n\r\n([^\r\n]+)', re.IGNORECASE)
_RECORDED_HEADERS = {
    "x-amz-target": "HTTP_X_AMZ_TARGET",
    "content-type": "CONTENT_TYPE",
    "host": "HTTP_HOST",
    # CopyObject/UploadPartCopy name their source only here (deploy/tools/iam/requests.py).
    "x-amz-copy-source": "HTTP_X_AMZ_COPY_SOURCE",
}


def read_body(environ):
    """The request body, read once and put back so the application reads it again."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > 0:
        body = stream.read(length)
    elif environ.get("wsgi.input_terminated"):  # chunked: the server marks the end
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def credential_scope(environ, body):
    """``(access key, region, service)`` from the request's signature, or Nones if unsigned."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        credential = match.group(1)
    else:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        credential = (query.get("X-Amz-Credential") or [""])[0]
        if not credential and body:
            form = _FORM_CREDENTIAL.search(body[: MAX_BODY * 4])
            credential = form.group(1).decode("ascii", "replace") if form else ""
    # AKID/20250101/us-east-1/s3/aws4_request
    parts = credential.split("/")
    if len(parts) >= 4:
        return parts[0], parts[2], parts[3]
    # Signature version 2 (S3's legacy presigned URLs) names the key but no scope.
    legacy = _LEGACY_HEADER.match(environ.get("HTTP_AUTHORIZATION", ""))
    if legacy:
        return legacy.group(1), None, None
    access_key = (parse_qs(environ.get("QUERY_STRING", "")).get("AWSAccessKeyId") or [None])[0]
    return access_key, None, None


def raw_path(environ):
    """The path as the client sent it, percent-encoding included (S3 keys keep theirs)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return raw.split("?", 1)[0]
    return quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""))


def _is_object_body(service, method, path, content_type):
    """S3 object uploads (PUT /bucket/key, a part, a browser's POST form) carry user data."""
    if service != "s3" or method not in ("PUT", "POST"):
        return False
    return content_type.startswith("multipart/form-data") or "/" in path.strip("/")


def request_line(environ, body):
    """The recorded fields of one request, without its status."""
    access_key, region, service = credential_scope(environ, body)
    method = environ.get("REQUEST_METHOD", "GET")
    path = raw_path(environ)
    headers = {name: environ[key] for name, key in _RECORDED_HEADERS.items() if environ.get(key)}
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "access_key": access_key,
        "service": service,
        "region": region,
        "method": method,
        "path": path,
        "query": environ.get("QUERY_STRING", ""),
        "headers": headers,
    }
    text = None
    if len(body) <= MAX_BODY and not _is_object_body(
        service, method, path, headers.get("content-type", "")
    ):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
    if text is None:
        line["body_omitted"] = len(body)
        if service == "s3" and headers.get("content-type", "").startswith("multipart/form-data"):
            # A browser's presigned POST: the key it writes is a form field.
            line["form"] = upload_form(body, headers["content-type"])
    else:
        line["body"] = text
    return line


def upload_form(body, content_type):
    """The text fields of a browser's upload form (the key it writes), never the file."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is None and name not in (None, "file", "policy", "x-amz-signature"):
            fields[name] = part.get_content()
    return fields


class RequestRecorder:
    """WSGI middleware appending one JSON line per request to ``path``."""

    def __init__(self, app, path):
        self.app = app
        self.path = os.fspath(path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def __call__(self, environ, start_response):
        line = request_line(environ, read_body(environ))

        def recording_start_response(status, headers, exc_info=None):
            line["status"] = int(status.split(" ", 1)[0])
            self.write(line)
            return start_response(status, headers, exc_info)

        return self.app(environ, recording_start_response)

    def write(self, line):
        data = (json.dumps(line, separators=(",", ":")) + "\n").encode()
        while data:  # a regular file takes it in one write; loop in case it does not
            written = os.write(self._fd, data)
            data = data[written:]

    def close(self):
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

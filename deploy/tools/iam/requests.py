"""Recorded HTTP requests back to the AWS API operations they called, from botocore's models.

A record is one line of the emulated account's request log (deploy/tools/rehearsal/recorder.py):
``{"service" (the SigV4 scope's service), "region", "method", "path" (raw, percent-encoded),
"query" (raw), "headers" (lower-case names), "body" or "body_omitted", ...}``. Nothing here is
a table per service: the protocol decides how an operation is named (``X-Amz-Target`` for the
JSON protocols, ``Action=`` for the query protocol, the smithy RPC v2 path) or found (rest-json
and rest-xml: method + path + query against every operation's ``requestUri``), and the
operation's input shape says where each parameter travels. S3 adds what its model cannot say:
virtual-hosted buckets and the browser's form upload (POST Object, which has no operation in
the SDK's model).
"""

import email.parser
import email.policy
import functools
import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, unquote

import botocore.session

# Headers the recorder must keep for the parsing below; the rest is signature noise. Besides the
# three the JSON and form parsers need, CopyObject and UploadPartCopy name their source only in
# x-amz-copy-source (without it a copy reads as a PutObject with no source).
RECORDED_HEADERS = ("x-amz-target", "content-type", "host", "x-amz-copy-source")

# The first label of a virtual-hosted S3 host is the bucket: bucket.s3.amazonaws.com,
# bucket.s3.eu-west-1.amazonaws.com, bucket.s3-eu-west-1..., bucket.localhost:5000 (moto).
S3_VIRTUAL_HOST = re.compile(r"^(?P<bucket>[a-z0-9][a-z0-9.-]*?)\.(?:s3[.-].*|localhost)$")

RPC_V2_PATH = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)$")


class UnknownRequest(ValueError):
    """A record that matches no operation of the services its signing name stands for."""


@functools.cache
def _session():
    return botocore.session.get_session()


@functools.cache
def service_model(name):
    return _session().get_service_model(name)


@functools.cache
def _service_index():
    """(signing name -> service names, JSON target prefix -> service names). Loading every
    model takes seconds, so only requests the named service cannot explain come here."""
    loader = _session().get_component("data_loader")
    signing: dict[str, list[str]] = {}
    targets: dict[str, list[str]] = {}
    for name in loader.list_available_services("service-2"):
        metadata = loader.load_service_model(name, "service-2")["metadata"]
        signing_name = metadata.get("signingName", metadata["endpointPrefix"])
        signing.setdefault(signing_name, []).append(name)
        if metadata.get("targetPrefix"):
            targets.setdefault(metadata["targetPrefix"], []).append(name)
    return signing, targets


def candidate_services(signing_name, target=None):
    """Botocore services that may have answered: the one named like the signing name first
    (``dynamodb`` before ``dynamodbstreams``, ``s3`` before ``s3control``), then the others
    signed so. An unsigned request (Cognito's public operations) names no signing name: its
    ``X-Amz-Target`` prefix does, and a form post (S3's POST Object) only S3 takes."""
    available = _session().get_available_services()
    if signing_name in available:
        yield signing_name
    # Only now the index (seconds to build), and only when the named service did not match.
    signing, targets = _service_index()
    if signing_name:
        others = signing.get(signing_name, [])
    else:
        others = targets.get(target.rpartition(".")[0], []) if target else ["s3"]
    yield from (name for name in others if name != signing_name)


def operation_of(record):
    """``(service model name, operation name, params)`` of one recorded request.

    Raises ``UnknownRequest`` (with the method and path) when no model explains it.
    """
    signing_name = record.get("service") or ""
    target = _headers(record).get("x-amz-target")
    for name in candidate_services(signing_name, target):
        found = _parse(service_model(name), record)
        if found is not None:
            operation, params = found
            return name, operation, params
    raise UnknownRequest(
        f"no {signing_name or '(unsigned)'} operation matches "
        f"{record.get('method')} {record.get('path')}?{record.get('query', '')}"
    )


def _headers(record):
    return {key.lower(): value for key, value in (record.get("headers") or {}).items()}


def _query(record):
    return parse_qsl(record.get("query") or "", keep_blank_values=True)


def _parse(model, record):
    headers = _headers(record)
    target = headers.get("x-amz-target")
    if target:
        return _parse_json(model, target, record)
    form = dict(_query(record))
    content_type = headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded") and record.get("body"):
        form.update(parse_qsl(record["body"], keep_blank_values=True))
    # SQS and friends moved to JSON but still take the query protocol of older SDKs.
    if "Action" in form and (
        model.protocol in ("query", "ec2") or "awsQueryCompatible" in model.metadata
    ):
        return _parse_query(model, form)
    rpc = RPC_V2_PATH.match(record.get("path") or "")
    if rpc and rpc["operation"] in model.operation_names:
        # The body is CBOR; the operation is in the path, the parameters are not decoded.
        return rpc["operation"], {}
    if model.protocol in ("rest-json", "rest-xml"):
        return _parse_rest(model, record, headers)
    return None


# --- JSON and query protocols ------------------------------------------------------------------


def _parse_json(model, target, record):
    prefix, _, operation = target.rpartition(".")
    if prefix != model.metadata.get("targetPrefix") or operation not in model.operation_names:
        return None
    body = record.get("body") or "{}"
    try:
        params = json.loads(body)
    except ValueError:
        raise UnknownRequest(f"{target}: the body is not JSON") from None
    return operation, params if isinstance(params, dict) else {}


def _parse_query(model, form):
    operation = form["Action"]
    if operation not in model.operation_names:
        return None
    shape = model.operation_model(operation).input_shape
    ec2 = model.protocol == "ec2"
    return operation, _unflatten(shape, form, "", ec2) if shape else {}


def _unflatten(shape, form, prefix, ec2=False):
    """The query protocol's ``Names.member.1=...`` keys (EC2's ``Names.1``) back into the
    input shape's values, the way botocore's serializers flattened them."""
    if shape.type_name == "structure":
        value = {}
        for name, member in shape.members.items():
            key = member.serialization.get("name", name)
            found = _unflatten(member, form, f"{prefix}.{key}" if prefix else key, ec2)
            if found not in (None, [], {}):
                value[name] = found
        return value
    if shape.type_name == "list":
        member_name = shape.member.serialization.get("name")
        if ec2:
            base = prefix
        elif shape.serialization.get("flattened"):
            base = ".".join([*prefix.split(".")[:-1], member_name]) if member_name else prefix
        else:
            base = f"{prefix}.{member_name or 'member'}"
        items: list[object] = []
        while (item := _unflatten(shape.member, form, f"{base}.{len(items) + 1}", ec2)) not in (
            None,
            {},
        ):
            items.append(item)
        return items
    if shape.type_name == "map":
        base = prefix if shape.serialization.get("flattened") else f"{prefix}.entry"
        entries = {}
        index = 1
        while f"{base}.{index}.key" in form:
            value_prefix = f"{base}.{index}.value"
            entries[form[f"{base}.{index}.key"]] = _unflatten(shape.value, form, value_prefix, ec2)
            index += 1
        return entries
    return form.get(prefix)


# --- rest-json and rest-xml --------------------------------------------------------------------


@functools.cache
def _routes(service_name):
    """Every operation's (method, path regex, literal query, operation model)."""
    model = service_model(service_name)
    routes = []
    for name in model.operation_names:
        operation = model.operation_model(name)
        http = operation.http
        path, _, literal = http["requestUri"].partition("?")
        pattern = re.escape(path)
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", pattern)
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        routes.append(
            (http["method"], re.compile(f"^{pattern}$"), dict(parse_qsl(literal, True)), operation)
        )
    return routes


def _parse_rest(model, record, headers):
    method = (record.get("method") or "").upper()
    path = (record.get("path") or "/").split("?", 1)[0]
    query = dict(_query(record))
    if model.service_name == "s3":
        virtual = S3_VIRTUAL_HOST.match(headers.get("host", "").rsplit(":", 1)[0])
        if virtual:
            path = f"/{virtual['bucket']}{path if path != '/' else ''}"
        form_upload = _s3_form_upload(method, path, query, headers, record)
        if form_upload:
            return form_upload
    best = None
    for route_method, pattern, literal, operation in _routes(model.service_name):
        match = pattern.match(path) if route_method == method else None
        # x-id (?x-id=GetObject) is the SDK's own marker; presigned URLs and other clients
        # leave it out.
        if not match or any(
            query.get(key) != value
            for key, value in literal.items()
            if key != "x-id" or key in query
        ):
            continue
        params = {key: unquote(value) for key, value in match.groupdict().items()}
        params.update(_located_params(operation, query, headers, record))
        required = operation.input_shape.required_members if operation.input_shape else []
        if any(name not in params for name in required):
            continue
        # The most specific route wins: more literal query keys (?tagging over the object),
        # then more required members present (CopyObject's x-amz-copy-source over PutObject).
        score = (len(literal), len(required), len(pattern.pattern))
        if best is None or score > best[0]:
            best = (score, operation.name, params)
    return best[1:] if best else None


def _located_params(operation, query, headers, record):
    shape = operation.input_shape
    if shape is None:
        return {}
    params = {}
    payload = shape.serialization.get("payload")
    for name, member in shape.members.items():
        location = member.serialization.get("location")
        key = member.serialization.get("name", name)
        if location == "querystring" and key in query:
            params[name] = query[key]
        elif location == "header" and key.lower() in headers:
            params[name] = headers[key.lower()]
    body = record.get("body")
    if payload and (body or record.get("body_omitted")):
        # An omitted body (object bytes, anything large) was still sent: the member is there.
        structure = shape.members[payload].type_name == "structure"
        params[payload] = _xml_or_json(shape.members[payload], body) if structure and body else {}
    elif body and not payload and operation.metadata["protocol"] == "rest-json":
        try:
            document = json.loads(body)
        except ValueError:
            document = {}
        if isinstance(document, dict):
            params.update({key: value for key, value in document.items() if key not in params})
    return params


def _xml_or_json(shape, body):
    if body.lstrip().startswith("{"):
        try:
            return json.loads(body)
        except ValueError:
            return {}
    try:
        root = ET.fromstring(body)  # noqa: S314 (a request body botocore serialized)
    except ET.ParseError:
        return {}
    return _from_xml(shape, root)


def _from_xml(shape, element):
    """A rest-xml payload back into the input shape's values (DeleteObjects' keys, ...)."""
    if shape.type_name != "structure":
        return element.text or ""
    value = {}
    children = [(child.tag.rpartition("}")[2], child) for child in element]
    for name, member in shape.members.items():
        tag = member.serialization.get("name", name)
        if member.type_name == "list":
            if member.serialization.get("flattened"):
                items = [child for child_tag, child in children if child_tag == tag]
            else:
                wrapper = next((child for child_tag, child in children if child_tag == tag), None)
                items = list(wrapper) if wrapper is not None else []
            if items:
                value[name] = [_from_xml(member.member, item) for item in items]
        else:
            child = next((child for child_tag, child in children if child_tag == tag), None)
            if child is not None:
                value[name] = _from_xml(member, child)
    return value


def _s3_form_upload(method, path, query, headers, record):
    """The browser's presigned POST (S3's POST Object): a form post to the bucket itself,
    whose ``key`` field names the object. ``(operation, params)`` or None."""
    content_type = headers.get("content-type", "")
    bucket = path.strip("/")
    if method != "POST" or not content_type.startswith("multipart/form-data"):
        return None
    if not bucket or "/" in bucket or query:
        return None
    params = {"Bucket": unquote(bucket)}
    # The recorder keeps the form's fields (not the file) as "form"; a text body has them too.
    fields = {key.lower(): value for key, value in (record.get("form") or {}).items()}
    if not fields and record.get("body"):
        fields = _form_fields(content_type, record["body"])
    if "key" in fields:
        filename = fields.get("filename")
        key = fields["key"]
        params["Key"] = key.replace("${filename}", filename) if filename else key
    return "PostObject", params


def _form_fields(content_type, body):
    """The form's fields, and the file part's name as ``filename`` (S3 fills ``${filename}``
    in the key with it)."""
    message = email.parser.Parser(policy=email.policy.HTTP).parsestr(
        f"Content-Type: {content_type}\r\n\r\n{body}"
    )
    fields = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        if name == "file":
            fields["filename"] = part.get_filename()
        else:
            fields[name.lower()] = part.get_content().strip("\r\n")
    return fields

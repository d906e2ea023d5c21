"""The emulated account's execute-api: the REST and HTTP APIs moto holds, served on loopback.

moto keeps the APIs a deploy creates (Zappa's REST API, or an HTTP API) but serves none of
them. ``start(account)`` serves them on a second loopback port (``account.execute_api_url``):
``/<api id>/<stage>/<path>`` finds the API in moto's apigateway (REST, v1) or apigatewayv2
(HTTP API) backend, the route or resource the path and method match, and its proxy
integration's function, which it invokes through the emulated Lambda (``functions``) with
the event that API sends (``locallambda.http_events``: payload 1.0 for REST, 2.0 for HTTP
APIs unless the integration asks for 1.0). An HTTP API's ``$default`` stage has no path
segment of its own, as on AWS.

As API Gateway answers: an unknown API 404, a REST API's unknown stage 403 ``Forbidden``
and unmatched route 403 ``Missing Authentication Token``, an HTTP API's 404 ``Not Found``;
a function error 502 (REST) or 500 (HTTP API), no answer within the integration timeout 504.
The event says ``https``, as API Gateway's always does, though this port speaks plain HTTP.
"""

import json
import logging
import re

from deploy.tools.locallambda import http_events
from deploy.tools.locallambda.gateway import (
    FUNCTION_ERROR,  # the status codes the local gateway gives too
    INTEGRATION_TIMEOUTS,
    MAX_EVENT_BYTES,
    Front,
)
from deploy.tools.locallambda.http_events import V1, V2

from . import functions

logger = logging.getLogger(__name__)

_FUNCTION_ARN = re.compile(r"arn:aws[\w-]*:lambda:[\w-]+:\d{12}:function:[\w-]+")
_NOT_FOUND = (404, {"message": "Not Found"})

_server: "ExecuteAPI | None" = None


def start(account):
    """Serve the account's APIs on a free loopback port; sets ``account.execute_api_url``."""
    global _server
    if _server is not None:
        raise RuntimeError("execute-api is served already; stop() it first.")
    _server = ExecuteAPI().start()
    account.execute_api_url = _server.url
    return _server


def stop():
    global _server
    if _server is not None:
        _server.stop()
        _server = None


class ExecuteAPI(Front):
    """The HTTP front: the local gateway's server and handler, routing by API id and stage."""

    @property
    def url(self):
        return self.origin

    def respond(self, request):
        """``(status, [(name, value)], body)`` for one ``http_events.Request``."""
        api_id, _, rest = request.path.lstrip("/").partition("/")
        found = find_api(api_id)
        if found is None:
            return _json(*_NOT_FOUND)
        kind, api = found
        try:
            route = _rest_route if kind == V1 else _http_route
            stage, path, integration = route(api, request, rest)
        except NoRoute as refusal:
            return _json(refusal.status, refusal.document)
        request.path = path
        kind, function_arn, timeout = _proxy_target(kind, integration)
        if function_arn is None:
            return _json(*FUNCTION_ERROR[kind])
        if kind == V1 and stage is None:
            stage = "$default"  # an HTTP API's payload 1.0 names the stage it has no path for
        event = http_events.event_for(kind, request, stage, scheme="https")
        event["requestContext"]["apiId"] = api_id
        payload = json.dumps(event).encode()
        if len(payload) > MAX_EVENT_BYTES:
            return _json(413, {"message": "Request Entity Too Large"})
        try:
            invocation = functions.submit(function_arn, payload)
        except Exception:  # moto's own error: the function is missing or cannot run
            logger.exception("execute-api %s: cannot invoke %s", api_id, function_arn)
            return _json(*FUNCTION_ERROR[kind])
        if not invocation.done.wait(timeout):
            return _json(504, {"message": "Endpoint request timed out"})
        if invocation.error is not None:
            return _json(*FUNCTION_ERROR[kind])
        try:
            return http_events.response_from(kind, invocation.result)
        except (ValueError, TypeError, AttributeError):
            return _json(*FUNCTION_ERROR[kind])


class NoRoute(Exception):
    """What API Gateway answers when a request matches no stage or route of the API."""

    def __init__(self, status, document):
        super().__init__(document["message"])
        self.status = status
        self.document = document


def find_api(api_id):
    """``(V1, RestAPI)`` or ``(V2, Api)`` for ``api_id`` in any account and region, or None."""
    from moto.apigateway.models import apigateway_backends
    from moto.apigatewayv2.models import apigatewayv2_backends

    for kind, backends in ((V1, apigateway_backends), (V2, apigatewayv2_backends)):
        api = _api_in(backends, api_id)
        if api is not None:
            return kind, api
    return None


def _api_in(backends, api_id):
    for regions in list(backends.values()):
        for backend in list(regions.values()):
            if api_id in backend.apis:
                return backend.apis[api_id]
    return None


def _rest_route(api, request, rest):
    stage, _, path = rest.partition("/")
    if stage not in api.stages:
        raise NoRoute(403, {"message": "Forbidden"})
    path = f"/{path}"
    resources = {resource.get_path(): resource for resource in api.resources.values()}
    for template in _most_specific_first(resources, path):
        methods = resources[template].resource_methods
        method = methods.get(request.method) or methods.get("ANY")
        if method is not None and method.method_integration is not None:
            return stage, path, method.method_integration
    raise NoRoute(403, {"message": "Missing Authentication Token"})


def _http_route(api, request, rest):
    stage, _, path = rest.partition("/")
    if stage not in api.stages:
        if "$default" not in api.stages:
            raise NoRoute(*_NOT_FOUND)
        stage, path = None, rest  # the $default stage is served at the API's root
    path = f"/{path}"
    routes = {}
    for route in api.routes.values():
        method, _, template = route.route_key.partition(" ")
        if method in (request.method, "ANY") and template:
            routes[template] = route
    candidates = [routes[template] for template in _most_specific_first(routes, path)]
    candidates += [route for route in api.routes.values() if route.route_key == "$default"]
    for route in candidates:
        integration_id = (route.target or "").removeprefix("integrations/")
        if integration_id in api.integrations:
            return stage, path, api.integrations[integration_id]
    raise NoRoute(*_NOT_FOUND)


def _most_specific_first(templates, path):
    """The route or resource ``templates`` that ``path`` fits, literal ones first, then
    ``{name}`` segments, then greedy ``{name+}`` ones (API Gateway's order)."""
    fitting = [template for template in templates if _fits(template, path)]
    return sorted(
        fitting,
        key=lambda template: (
            "+}" in template,
            -sum(not part.startswith("{") for part in template.split("/") if part),
            -template.count("/"),
        ),
    )


def _fits(template, path):
    wanted = [part for part in template.split("/") if part]
    given = [part for part in path.split("/") if part]
    for index, part in enumerate(wanted):
        if part.startswith("{") and part.endswith("+}"):
            return len(given) > index  # greedy: one segment at least
        if index >= len(given) or (not part.startswith("{") and part != given[index]):
            return False
    return len(wanted) == len(given)


def _proxy_target(kind, integration):
    """``(event kind, function ARN or None, integration timeout in s)`` for a REST API or
    HTTP API integration; only Lambda proxy integrations run (None: anything else)."""
    if kind == V1:
        uri, payload_v2 = integration.uri, False
    else:
        uri = integration.integration_uri
        payload_v2 = (integration.payload_format_version or "2.0") == "2.0"
    kind = V2 if payload_v2 else V1
    match = _FUNCTION_ARN.search(uri or "")
    if integration.integration_type != "AWS_PROXY" or match is None:
        return kind, None, 0.0
    millis = integration.timeout_in_millis
    return kind, match.group(0), int(millis) / 1000 if millis else INTEGRATION_TIMEOUTS[kind]


def _json(status, document):
    return status, [("Content-Type", "application/json")], json.dumps(document).encode()

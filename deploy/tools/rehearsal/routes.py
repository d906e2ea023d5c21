"""API operations moto's server lacks or answers unlike AWS, where the deploy depends on it.

``zappa update`` lists the function's URL configurations last (Lambda's
``ListFunctionUrlConfigs``, ``GET /2021-10-31/functions/<name>/urls``); moto 5.2.5 keeps the
configuration (``create_function_url_config``) but routes no list for it, so the deploy
would end on a 404. Each route here reads the backend moto's own responses would.

``STATUS_FIXES`` correct moto's status codes where a client checks them: Lambda's
``AddPermission`` is ``201 Created``, and Zappa logs "Problem creating permission to invoke
Lambda function" for each schedule and event source on moto's ``200``.
"""

import json
import os
import re
from collections.abc import Callable
from urllib.parse import unquote

from deploy.tools.rehearsal import sibling
from deploy.tools.rehearsal.recorder import credential_scope

DEFAULT_REGION = "us-east-1"


def account_and_region(environ):
    """Which account and region moto would serve this request from (the signature's)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from

    access_key, region, _service = credential_scope(environ, b"")
    account = os.environ.get("MOTO_ACCOUNT_ID") or (
        get_account_id_from(access_key) if access_key else DEFAULT_ACCOUNT_ID
    )
    return account, region or DEFAULT_REGION


def _json(status, document, error_type=None):
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return status, headers, json.dumps(document).encode()


def list_function_url_configs(environ, function_name):
    """Lambda ``ListFunctionUrlConfigs``: the function's one URL configuration, if any."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.models import lambda_backends

    account, region = account_and_region(environ)
    try:
        function = lambda_backends[account][region].get_function(unquote(function_name))
    except UnknownFunctionException:
        return _json(
            "404 Not Found",
            {"Type": "User", "Message": f"Function not found: {function_name}"},
            error_type="ResourceNotFoundException",
        )
    configs = [function.url_config.to_dict()] if function.url_config else []
    return _json("200 OK", {"FunctionUrlConfigs": configs})


def rehearsal_databases(environ):
    """The RDS endpoints and the local databases behind them, for a local Lambda started
    outside the account (functions.local_environment); not an AWS API: unsigned."""
    databases = sibling("databases")
    return _json("200 OK", databases.endpoints() if databases else {})


# (method, path) -> handler(environ, *path groups)
ROUTES: list[tuple[str, re.Pattern, Callable[..., tuple]]] = [
    ("GET", re.compile(r"^/2021-10-31/functions/([^/]+)/urls/?$"), list_function_url_configs),
    ("GET", re.compile(r"^/_rehearsal/databases$"), rehearsal_databases),
]


# (method, path, moto's status, AWS's status)
STATUS_FIXES = [
    ("POST", re.compile(r"^/2015-03-31/functions/[^/]+/policy/?$"), "200", "201 Created"),
]


class ExtraRoutes:
    """WSGI middleware: answer ``ROUTES`` here, pass everything else to moto (with
    ``STATUS_FIXES`` applied)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        for route_method, pattern, handler in ROUTES:
            match = pattern.match(path)
            if match and method == route_method:
                status, headers, body = handler(environ, *match.groups())
                start_response(status, [*headers, ("Content-Length", str(len(body)))])
                return [body]
        for fix_method, pattern, moto_status, aws_status in STATUS_FIXES:
            if method == fix_method and pattern.match(path):
                fixed = _replacing_status(start_response, moto_status, aws_status)
                return self.app(environ, fixed)
        return self.app(environ, start_response)


def _replacing_status(start_response, moto_status, aws_status):
    def replaced(status, headers, exc_info=None):
        if status.split(" ", 1)[0] == moto_status:
            status = aws_status
        return start_response(status, headers, exc_info)

    return replaced

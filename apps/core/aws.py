"""The one place that creates AWS clients.

boto3 costs hundreds of milliseconds to import, so it is imported inside these functions,
never at module level: a Lambda cold start that does not need AWS does not pay for it.
Clients are created once per configuration and reused (they are thread-safe); every
client has explicit timeouts and botocore's ``standard`` retry mode.
"""

import threading
from contextlib import contextmanager
from typing import Any

from django.conf import settings

# boto3 spells the per-service endpoint variables after the service id
# (AWS_ENDPOINT_URL_<SERVICE_ID>); these are the services this project uses.
_SERVICE_IDS = {
    "cloudformation": "CLOUDFORMATION",
    "cognito-idp": "COGNITO_IDENTITY_PROVIDER",
    "dynamodb": "DYNAMODB",
    "lambda": "LAMBDA",
    "s3": "S3",
    "secretsmanager": "SECRETS_MANAGER",
    "ssm": "SSM",
    "sts": "STS",
}

_clients: dict[tuple, Any] = {}  # botocore clients by _config_key
_lock = threading.Lock()
_thread = threading.local()


def endpoint_url(service):
    """The endpoint override for ``service``, or None for AWS's own endpoint."""
    overrides = settings.AWS_ENDPOINT_URLS
    service_id = _SERVICE_IDS.get(service, service.upper().replace("-", "_"))
    return overrides.get(service_id) or settings.AWS_ENDPOINT_URL


def client_config(service=None, *, connect_timeout=None, read_timeout=None, max_attempts=None):
    """botocore ``Config`` with the project's timeouts and retry policy."""
    return botocore_config(
        service,
        region=settings.AWS_REGION,
        connect_timeout=connect_timeout or settings.AWS_CONNECT_TIMEOUT,
        read_timeout=read_timeout or settings.AWS_READ_TIMEOUT,
        max_attempts=max_attempts or settings.AWS_MAX_ATTEMPTS,
    )


def botocore_config(service, *, region, connect_timeout, read_timeout, max_attempts):
    """The retry and timeout policy itself, for callers that run before settings exist."""
    from botocore.config import Config

    # Presigned S3 URLs and POSTs must use SigV4 (required in newer regions, and by KMS).
    signature = {"signature_version": "s3v4"} if service == "s3" else {}
    return Config(
        **signature,
        region_name=region,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={
            "mode": "standard",
            # Total attempts, first call included (botocore's "max_attempts" counts retries).
            "total_max_attempts": max_attempts,
        },
    )


def credentials():
    """Explicit keys when settings give them (the local stack); else boto3's default chain."""
    if settings.AWS_ACCESS_KEY_ID:
        return {
            "aws_access_key_id": settings.AWS_ACCESS_KEY_ID,
            "aws_secret_access_key": settings.AWS_SECRET_ACCESS_KEY,
        }
    return {}


def _config_key(service, endpoint, connect_timeout, read_timeout, max_attempts):
    return (
        service,
        settings.AWS_REGION,
        endpoint,
        settings.AWS_ACCESS_KEY_ID,
        connect_timeout or settings.AWS_CONNECT_TIMEOUT,
        read_timeout or settings.AWS_READ_TIMEOUT,
        max_attempts or settings.AWS_MAX_ATTEMPTS,
    )


def client(service, *, connect_timeout=None, read_timeout=None, max_attempts=None, endpoint=None):
    """A cached boto3 client for ``service`` built from the current settings.

    Pass shorter timeouts or fewer attempts for latency-critical calls (health checks),
    or an explicit ``endpoint`` (the local stack talking to itself); each distinct
    combination is its own cached client.
    """
    endpoint = endpoint or endpoint_url(service)
    timeouts = {
        "connect_timeout": connect_timeout,
        "read_timeout": read_timeout,
        "max_attempts": max_attempts,
    }
    key = _config_key(service, endpoint, **timeouts)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        found = _clients.get(key)
        if found is None:
            found = _clients[key] = _session().client(
                service,
                endpoint_url=endpoint,
                config=client_config(service, **timeouts),
                **credentials(),
            )
        return found


def resource(service):
    """A boto3 resource for ``service``, configured as ``client`` is (django-storages works on
    resources). Resources are not thread-safe: one per thread and configuration."""
    endpoint = endpoint_url(service)
    key = _config_key(service, endpoint, None, None, None)
    cache = _thread.__dict__.setdefault("resources", {})
    found = cache.get(key)
    if found is None:
        found = cache[key] = _session().resource(
            service, endpoint_url=endpoint, config=client_config(service), **credentials()
        )
    return found


def forget_clients():
    """Close and drop every cached client and this thread's resources (their connection pools
    hold sockets): a SnapStart snapshot must not carry them, since a restored copy would
    share the connections and the credentials of the moment of the snapshot. The next call
    to ``client``/``resource`` creates fresh ones."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for found in clients:
        found.close()
    _thread.__dict__.pop("resources", None)


def _session():
    import boto3.session

    # A private session: boto3's default session is not thread-safe to create clients from.
    return boto3.session.Session()


def pages(client, method, key, **kwargs):
    """Every item of a paged list call (botocore's paginator), flattened."""
    for page in client.get_paginator(method).paginate(**kwargs):
        yield from page.get(key, [])


# Error codes that mean "the service or resource is not there right now", not "bad request".
_UNAVAILABLE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalServerError",
        "InternalErrorException",
        "SlowDown",
        "NoSuchBucket",
    }
)


@contextmanager
def unavailable_as(error, describe=str):
    """Re-raise, inside the block, an error that means AWS is down as ``error(describe(exc))``.

    Only what ``is_unavailable`` recognises changes; anything else (a bad request, a bug)
    passes unchanged, so it is never mistaken for an outage.
    """
    try:
        yield
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        raise error(describe(exc)) from exc


def is_unavailable(exc):
    """True when ``exc`` means an AWS dependency is down (answer 503), not a bad request."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionClosedError,
        ConnectionError,
        NoCredentialsError,
    )

    if isinstance(exc, ConnectionError | ConnectionClosedError | NoCredentialsError):
        return True
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error.get("Code") in _UNAVAILABLE_CODES or status == 429 or status >= 500
    return isinstance(exc, BotoCoreError) and "Timeout" in type(exc).__name__

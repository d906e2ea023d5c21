"""Secrets from SSM Parameter Store, loaded once at start-up into the environment.

The deployed settings (``server``, ``lambda``) call ``load_into_environ()`` before anything
reads the environment. With ``SECRETS_SSM_PATH`` unset it does nothing: the variables come
from the environment as before, and local and test runs never touch the network. With it set,
each name in ``SECRETS_SSM_NAMES`` is read from the SecureString parameter
``<SECRETS_SSM_PATH>/<NAME>`` in one ``GetParameters`` call (decrypted), and the values
replace the environment's, so ``env.require()`` and every ``env.get()`` in the settings see
them. A parameter path that cannot be read stops start-up with an error naming it.

This runs while settings are being imported, so it lives with them: it cannot use
``django.conf.settings`` or ``apps.core.aws.client`` (which read them), and builds its one
client from the same environment variables, parsed by the same ``env`` functions.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from . import env

DEFAULT_NAMES = ("DJANGO_SECRET_KEY", "DATABASE_URL")
# GetParameters takes at most 10 names: more would need a second call.
MAX_NAMES = 10

_loaded: dict[tuple[str, tuple[str, ...]], dict[str, str]] = {}


def parameter_names(path, names):
    """The full SSM parameter name of each variable in ``names``."""
    return [f"{path.rstrip('/')}/{name}" for name in names]


def load(path, names=DEFAULT_NAMES, *, environ=os.environ, session=None):
    """``{variable: value}`` for ``names`` from the SecureStrings under ``path``.

    One ``GetParameters`` call, cached for the life of the process. ``session`` is a
    ``boto3.session.Session`` to build the client from (default: a new one).
    Raises ImproperlyConfigured naming the path when the call fails or a parameter is missing.
    """
    names = tuple(names)
    if not names:
        raise ImproperlyConfigured(f"SECRETS_SSM_NAMES is empty; nothing to load from {path}.")
    if len(names) > MAX_NAMES:
        raise ImproperlyConfigured(
            f"SECRETS_SSM_NAMES lists {len(names)} secrets; at most {MAX_NAMES} load in one call."
        )
    key = (path, names)
    if key not in _loaded:
        _loaded[key] = _fetch(path, names, environ, session)
    return dict(_loaded[key])


def load_into_environ(environ=os.environ):
    """Load the secrets when ``SECRETS_SSM_PATH`` is set, into ``environ``; returns their names.

    Call it at the top of a deployed target's settings, before ``from .base import *``.
    """
    path = env.get("SECRETS_SSM_PATH", environ=environ)
    if not path:
        return []
    names = env.as_list("SECRETS_SSM_NAMES", DEFAULT_NAMES, environ=environ)
    values = load(path, names, environ=environ)
    environ.update(values)
    return sorted(values)


def _fetch(path, names, environ, session):
    # boto3 only here: a process without SECRETS_SSM_PATH never imports it for secrets.
    import boto3.session
    from botocore.exceptions import BotoCoreError, ClientError

    from apps.core.aws import botocore_config

    session = session or boto3.session.Session()
    region = env.get("AWS_REGION", environ=environ) or env.get(
        "AWS_DEFAULT_REGION", environ=environ
    )
    endpoint = env.get("AWS_ENDPOINT_URL_SSM", environ=environ) or env.get(
        "AWS_ENDPOINT_URL", environ=environ
    )
    try:
        client = session.client(
            "ssm",
            region_name=region,
            endpoint_url=endpoint,
            config=botocore_config(
                "ssm",
                region=region,
                connect_timeout=env.as_float("AWS_CONNECT_TIMEOUT", 2.0, environ=environ),
                read_timeout=env.as_float("AWS_READ_TIMEOUT", 5.0, environ=environ),
                max_attempts=env.as_int("AWS_MAX_ATTEMPTS", 3, environ=environ),
            ),
        )
        response = client.get_parameters(Names=parameter_names(path, names), WithDecryption=True)
    except (BotoCoreError, ClientError) as exc:
        raise ImproperlyConfigured(
            f"Could not read the secrets under SSM parameter path {path} "
            f"({type(exc).__name__}: {exc}). Check SECRETS_SSM_PATH, AWS_REGION and that the "
            "role may call ssm:GetParameters there."
        ) from exc
    if response.get("InvalidParameters"):
        missing = ", ".join(sorted(response["InvalidParameters"]))
        raise ImproperlyConfigured(
            f"SSM parameter path {path} is missing {missing}; create each as a SecureString "
            "(aws ssm put-parameter --type SecureString) or drop it from SECRETS_SSM_NAMES."
        )
    by_name = {parameter["Name"]: parameter["Value"] for parameter in response["Parameters"]}
    return {
        name: by_name[full] for name, full in zip(names, parameter_names(path, names), strict=True)
    }

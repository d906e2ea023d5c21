"""Secrets from SSM Parameter Store and Secrets Manager, loaded once at start-up into the
environment.

The deployed settings (``server``, ``lambda``) call ``load_into_environ()`` before anything
reads the environment. With ``SECRETS_SSM_PATH`` unset it does nothing: the variables come
from the environment as before, and local and test runs never touch the network. With it set,
each name in ``SECRETS_SSM_NAMES`` is read from the SecureString parameter
``<SECRETS_SSM_PATH>/<NAME>`` in one ``GetParameters`` call (decrypted), and the values
replace the environment's, so ``env.require()`` and every ``env.get()`` in the settings see
them. A parameter path that cannot be read stops start-up with an error naming it.

The database's credentials are RDS's own: the stack's instance keeps its master password in
Secrets Manager (``ManageMasterUserPassword``; RDS generates and rotates it), so it is never a
parameter, an SSM value or a variable. With ``DATABASE_SECRET_ARN`` set (and no
``DATABASE_URL``), ``DATABASE_URL`` is built at start-up from that secret's username and password
and the non-secret ``DATABASE_HOST`` (the instance, or RDS Proxy for Lambda), ``DATABASE_PORT``,
``DATABASE_NAME`` and ``DATABASE_SSLMODE`` (default ``require``: RDS Proxy refuses plain TCP), in
one ``GetSecretValue`` call; ``DATABASE_URL`` then leaves the default SSM names.

This runs while settings are being imported, so it lives with them: it cannot use
``django.conf.settings`` or ``apps.core.aws.client`` (which read them), and builds its one
client from the same environment variables, parsed by the same ``env`` functions.
"""

import json
import os
import time
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured

from . import env

DEFAULT_NAMES = ("DJANGO_SECRET_KEY", "DATABASE_URL")
# What the database's variables are built from when DATABASE_SECRET_ARN is set.
DATABASE_VARIABLES = ("DATABASE_HOST", "DATABASE_NAME")
# GetParameters takes at most 10 names: more would need a second call.
MAX_NAMES = 10

_loaded: dict[tuple, dict] = {}
_loaded_at: dict[tuple, float] = {}  # time.time() of each fetch, for refresh_database_url


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
    """Load the secrets into ``environ``: the SSM ones when ``SECRETS_SSM_PATH`` is set, and
    ``DATABASE_URL`` from ``DATABASE_SECRET_ARN`` when that is set; returns the names loaded.

    Call it at the top of a deployed target's settings, before ``from .base import *``.
    """
    loaded = []
    from_secret = bool(env.get("DATABASE_SECRET_ARN", environ=environ)) and not env.get(
        "DATABASE_URL", environ=environ
    )
    path = env.get("SECRETS_SSM_PATH", environ=environ)
    if path:
        defaults = tuple(
            name for name in DEFAULT_NAMES if not (from_secret and name == "DATABASE_URL")
        )
        names = env.as_list("SECRETS_SSM_NAMES", defaults, environ=environ)
        values = load(path, names, environ=environ)
        environ.update(values)
        loaded += values
    if from_secret and not env.get("DATABASE_URL", environ=environ):
        environ["DATABASE_URL"] = database_url(environ)
        loaded.append("DATABASE_URL")
    return sorted(loaded)


def database_url(environ=os.environ, *, session=None):
    """``DATABASE_URL`` from the RDS master secret ``DATABASE_SECRET_ARN`` and the database's
    non-secret variables (see the module docstring). Cached like ``load``."""
    arn = env.get("DATABASE_SECRET_ARN", environ=environ)
    missing = [name for name in DATABASE_VARIABLES if not env.get(name, environ=environ)]
    if missing:
        raise ImproperlyConfigured(
            f"DATABASE_SECRET_ARN is set but {', '.join(missing)} is not: the stack's outputs "
            "name them (manage.py stackenv)."
        )
    key = ("secretsmanager", arn)
    if key not in _loaded:
        _loaded[key] = _fetch_secret(arn, environ, session)
        _loaded_at[key] = time.time()
    credentials = _loaded[key]
    host = env.get("DATABASE_HOST", environ=environ)
    port = env.get("DATABASE_PORT", environ=environ) or credentials.get("port") or 5432
    name = env.get("DATABASE_NAME", environ=environ)
    sslmode = env.get("DATABASE_SSLMODE", "require", environ=environ)
    user, password = (
        quote(str(credentials[field]), safe="") for field in ("username", "password")
    )
    return f"postgres://{user}:{password}@{host}:{port}/{quote(name)}?sslmode={quote(sslmode)}"


def refresh_database_url(max_age, environ=os.environ, *, session=None):
    """``DATABASE_URL`` read again from ``DATABASE_SECRET_ARN`` if the cached secret is older
    than ``max_age`` seconds, else None (also None without a secret, or with an explicit
    ``DATABASE_URL`` of the operator's own).

    RDS rotates the master password it manages (every 7 days by default); a process that
    lives long, or a SnapStart snapshot restored days after it was taken, would still hold
    the old one. The wall clock, not the monotonic one: a restore resumes the monotonic clock
    of the snapshot.
    """
    arn = env.get("DATABASE_SECRET_ARN", environ=environ)
    key = ("secretsmanager", arn)
    if not arn or key not in _loaded_at or time.time() - _loaded_at[key] < max_age:
        return None
    del _loaded[key], _loaded_at[key]
    environ["DATABASE_URL"] = url = database_url(environ, session=session)
    return url


def _client(service, environ, session):
    """A client for ``service`` from the environment alone (settings are not ready yet)."""
    # boto3 only here: a process that loads no secret never imports it for secrets.
    import boto3.session

    from apps.core.aws import botocore_config

    session = session or boto3.session.Session()
    region = env.get("AWS_REGION", environ=environ) or env.get(
        "AWS_DEFAULT_REGION", environ=environ
    )
    suffix = service.upper().replace("-", "_")
    endpoint = env.get(f"AWS_ENDPOINT_URL_{suffix}", environ=environ) or env.get(
        "AWS_ENDPOINT_URL", environ=environ
    )
    return session.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        config=botocore_config(
            service,
            region=region,
            connect_timeout=env.as_float("AWS_CONNECT_TIMEOUT", 2.0, environ=environ),
            read_timeout=env.as_float("AWS_READ_TIMEOUT", 5.0, environ=environ),
            max_attempts=env.as_int("AWS_MAX_ATTEMPTS", 3, environ=environ),
        ),
    )


def _fetch_secret(arn, environ, session):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        secret = _client("secretsmanager", environ, session).get_secret_value(SecretId=arn)
        credentials = json.loads(secret["SecretString"])
        if not all(isinstance(credentials.get(field), str) for field in ("username", "password")):
            raise ValueError("it holds no username and password")
    except (BotoCoreError, ClientError, KeyError, TypeError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"Could not read the database credentials from secret {arn} "
            f"({type(exc).__name__}: {exc}). Check DATABASE_SECRET_ARN, AWS_REGION and that the "
            "role may call secretsmanager:GetSecretValue on it."
        ) from exc
    return credentials


def _fetch(path, names, environ, session):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        client = _client("ssm", environ, session)
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

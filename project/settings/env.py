"""Read configuration from the environment (12-factor), with errors that say what to do.

Only the settings modules use this; application code reads ``django.conf.settings``.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def get(name, default=None, environ=os.environ):
    value = environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip()


def as_bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use true or false.")


def as_int(name, default, environ=os.environ):
    value = get(name, environ=environ)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from None


def as_float(name, default, environ=os.environ):
    value = get(name, environ=environ)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from None


def as_list(name, default=(), environ=os.environ):
    """A comma-separated list; blanks are dropped."""
    value = get(name, environ=environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def endpoint_overrides(prefix="AWS_ENDPOINT_URL_"):
    """boto3's per-service endpoint variables, e.g. ``AWS_ENDPOINT_URL_S3``.

    Keys are the suffix as boto3 spells it (``S3``, ``DYNAMODB``,
    ``COGNITO_IDENTITY_PROVIDER``), so the names users know from boto3 keep working.
    """
    return {
        key[len(prefix) :]: value.strip()
        for key, value in os.environ.items()
        if key.startswith(prefix) and value.strip()
    }


def require(names, target):
    """Fail start-up naming every variable in ``names`` that is unset or blank."""
    missing = [name for name in names if get(name) is None]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        them = "it" if len(missing) == 1 else "them"
        raise ImproperlyConfigured(
            f"{', '.join(missing)} {verb} not set; the {target} target needs {them}. "
            "See README.md, 'Configuration'."
        )

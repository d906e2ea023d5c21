"""Failed-login throttling per username + client address (``apps.core.limits``)."""

from django.conf import settings

from apps.core import limits


def _counter(username, address):
    return limits.key("login-failures", username.strip().lower(), address)


def is_locked(username, address):
    return limits.count(_counter(username, address)) >= settings.LOGIN_FAILURE_LIMIT


def record_failure(username, address):
    limits.hit(_counter(username, address), settings.LOGIN_FAILURE_WINDOW)


def clear(username, address):
    limits.reset(_counter(username, address))

"""Dependencies that cannot answer: one exception for all of them, each naming its own.

A store or client raises its subclass where it finds its service down
(``SessionStoreUnavailable``, ``CognitoUnavailable``, ``JWKSUnavailable``...), and nothing
on the way up catches it unless it has something to undo first. One hook answers them all,
Django's database errors included: ``apps.core.middleware.DependencyUnavailableMiddleware``,
with the 503 of ``apps.core.http.dependency_unavailable``.
"""

import sys

from django.db import InterfaceError, OperationalError

from apps.core import aws


class DependencyUnavailable(Exception):
    """A service the request needs cannot answer right now: a 503 with Retry-After, never a
    500, and never a success.

    Each subclass's ``dependency`` says which one, for the log line; the message says why:
    the endpoint, table or bucket and the error, never a token or a secret. Neither
    reaches the client.
    """

    dependency = "a dependency"


class DatabaseUnavailable(DependencyUnavailable):
    dependency = "database"


class AWSUnavailable(DependencyUnavailable):
    """An AWS call failed as ``aws.is_unavailable`` recognises, where no store named it."""

    dependency = "AWS"


# Django raises its database errors itself, so they cannot be subclasses. PEP 249's
# OperationalError is the database's trouble, not the program's (it cannot connect, the
# connection dropped, a lock timed out); InterfaceError, a connection that is unusable.
DATABASE_ERRORS = (OperationalError, InterfaceError)
# What a view catches when it must undo something before the 503 (and then raises again).
UNAVAILABLE_ERRORS = (DependencyUnavailable, *DATABASE_ERRORS)


def unavailable_cause(exc):
    """``exc`` as a DependencyUnavailable if it means a dependency is down, else None.

    Ours as they are; the database's errors (``DATABASE_ERRORS``); and an AWS error that
    ``aws.is_unavailable`` recognises but that no store wrapped, so that a call someone
    forgot to wrap is still a 503, and the log says which.
    """
    if isinstance(exc, DependencyUnavailable):
        return exc
    if isinstance(exc, DATABASE_ERRORS):
        return DatabaseUnavailable(describe(exc))
    # Without botocore loaded no exception can be one of its own; checking would load it
    # (a cold start's every 404 reaches here).
    if "botocore" in sys.modules and aws.is_unavailable(exc):
        return AWSUnavailable(describe(exc))
    return None


def describe(exc):
    """``exc`` in one line, for a log: its type and message (a driver's may span lines)."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"

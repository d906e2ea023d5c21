"""Direct access to the sessions table for tests: the calls a request makes, raw items."""

from contextlib import contextmanager

from django.conf import settings

from apps.core import aws
from apps.sessions.backends.dynamodb import TTL_ATTRIBUTE as SESSIONS_TTL_ATTRIBUTE
from apps.sessions.backends.dynamodb import SessionStore


@contextmanager
def recorded_calls():
    """Record ``(operation, params)`` of every DynamoDB call made through the shared client.

    botocore emits ``before-parameter-build`` once per API call (retries are not calls) with
    the call's parameters, on the very client the session store uses with these settings.
    """
    calls = []

    def record(model, params, **kwargs):
        calls.append((model.name, dict(params)))

    events = aws.client("dynamodb").meta.events
    events.register("before-parameter-build.dynamodb.*", record)
    try:
        yield calls
    finally:
        events.unregister("before-parameter-build.dynamodb.*", record)


def operations(calls):
    return [operation for operation, _ in calls]


def get_item(session_key):
    """The stored item of ``session_key`` (its key hashed as the store would), or None."""
    response = aws.client("dynamodb").get_item(
        TableName=settings.SESSIONS_TABLE,
        Key=SessionStore()._key(session_key),
        ConsistentRead=True,
    )
    return response.get("Item")


def put_item(session_key, attributes):
    """Write the item of ``session_key`` with ``attributes``, behind the store's back."""
    aws.client("dynamodb").put_item(
        TableName=settings.SESSIONS_TABLE,
        Item={**attributes, **SessionStore()._key(session_key)},
    )


def stored_expiry(session_key):
    return int(get_item(session_key)[SESSIONS_TTL_ATTRIBUTE]["N"])


def set_stored_expiry(session_key, expires_at):
    """Move the stored expiry (epoch seconds), as time passing would, keeping the data."""
    item = get_item(session_key)
    item[SESSIONS_TTL_ATTRIBUTE] = {"N": str(int(expires_at))}
    aws.client("dynamodb").put_item(TableName=settings.SESSIONS_TABLE, Item=item)

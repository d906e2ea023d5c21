"""The one counter every rate limit uses: events in a fixed window, counted atomically.

A limit counts first and decides after (``hit`` returns the count including this event),
so concurrent requests cannot all pass a check made before any of them was counted.
Two backends, chosen by ``RATE_LIMIT_BACKEND`` when a count is made:

- ``cache``: Django's cache (``add``/``incr``, atomic in Redis and within one process for
  the local-memory cache). Global only when the cache is shared (Redis/ElastiCache);
- ``dynamodb``: one item per counter and window in RATE_LIMITS_TABLE, counted with an
  atomic ``ADD``: global across Lambda instances and servers, where the cache is per process.

``check --deploy`` refuses a deployed target whose limits would count per process.
"""

import contextlib
import hashlib
import time

from django.conf import settings
from django.core.cache import cache

from apps.core import aws
from apps.core.errors import DependencyUnavailable, describe
from apps.core.tables import KeyTable

KEY_ATTRIBUTE = "counter"
TTL_ATTRIBUTE = "expires_at"
COUNT_ATTRIBUTE = "hits"
# The DynamoDB backend's table (the local stack and deploy/aws create it from this).
TABLE = KeyTable(key_attribute=KEY_ATTRIBUTE, ttl_attribute=TTL_ATTRIBUTE)


class LimitsUnavailable(DependencyUnavailable):
    """The counters could not be reached: refuse (503), never let the request through."""

    dependency = "rate-limit counters"


def key(scope, *parts):
    """A counter for ``parts`` under ``scope``; hashed, so any user input fits."""
    raw = "|".join(str(part) for part in parts).encode("utf-8", "surrogatepass")
    return f"{scope}:{hashlib.sha256(raw).hexdigest()}"


def hit(counter, window):
    """Count one event of ``counter`` in its ``window`` (seconds); the count including it."""
    return _backend().hit(counter, window)


def undo(counter, window):
    """Take back one event counted in the current window (it turned out not to count)."""
    _backend().add(counter, window, -1)


def reset(counter, window):
    """Forget the current window's events of ``counter``."""
    _backend().reset(counter, window)


def _backend():
    return _BACKENDS[settings.RATE_LIMIT_BACKEND]


class CacheCounter:
    """Windows start with their first event (the cache entry's timeout)."""

    @staticmethod
    def hit(counter, window):
        if cache.add(counter, 1, window):
            return 1
        try:
            return cache.incr(counter)
        except ValueError:  # the window ended between add and incr
            cache.add(counter, 1, window)
            return 1

    @staticmethod
    def add(counter, window, delta):
        with contextlib.suppress(ValueError):  # the window is over: nothing to take back
            cache.incr(counter, delta)

    @staticmethod
    def reset(counter, window):
        cache.delete(counter)


class DynamoDBCounter:
    """Windows aligned on multiples of their length: each is its own item, so one atomic
    ``ADD`` counts and no read or condition is needed; DynamoDB's TTL removes old ones."""

    @staticmethod
    def _item(counter, window):
        start = int(time.time() // window * window)
        return TABLE.key(f"{counter}@{start}"), start + window

    @classmethod
    def hit(cls, counter, window):
        return cls.add(counter, window, 1)

    @classmethod
    def add(cls, counter, window, delta):
        item_key, expires_at = cls._item(counter, window)
        with aws.unavailable_as(LimitsUnavailable, _describe("update_item")):
            response = aws.client("dynamodb").update_item(
                TableName=settings.RATE_LIMITS_TABLE,
                Key=item_key,
                UpdateExpression="ADD #hits :delta SET #ttl = if_not_exists(#ttl, :expires)",
                ExpressionAttributeNames={"#hits": COUNT_ATTRIBUTE, "#ttl": TTL_ATTRIBUTE},
                ExpressionAttributeValues={
                    ":delta": {"N": str(delta)},
                    ":expires": {"N": str(expires_at)},
                },
                ReturnValues="UPDATED_NEW",
            )
        return int(response["Attributes"][COUNT_ATTRIBUTE]["N"])

    @classmethod
    def reset(cls, counter, window):
        item_key, _ = cls._item(counter, window)
        with aws.unavailable_as(LimitsUnavailable, _describe("delete_item")):
            aws.client("dynamodb").delete_item(TableName=settings.RATE_LIMITS_TABLE, Key=item_key)


def _describe(operation):
    return lambda exc: f"DynamoDB {operation} on {settings.RATE_LIMITS_TABLE}: {describe(exc)}"


_BACKENDS = {"cache": CacheCounter, "dynamodb": DynamoDBCounter}

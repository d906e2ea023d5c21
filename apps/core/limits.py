"""The one counter every rate limit uses: events in a fixed window, in Django's cache.

With the default per-process cache a limit holds per instance; point CACHES at a shared
cache (Redis, ElastiCache) to make it global across Lambda instances or servers.
"""

import hashlib

from django.core.cache import cache


def key(scope, *parts):
    """A cache key for ``parts`` under ``scope``; hashed, so any user input fits."""
    raw = "|".join(str(part) for part in parts).encode()
    return f"{scope}:{hashlib.sha256(raw).hexdigest()}"


def count(counter):
    """How many hits ``counter`` has in its current window."""
    return cache.get(counter, 0)


def hit(counter, window):
    """Count one event; the window (seconds) starts with the first hit."""
    if cache.add(counter, 1, window):
        return 1
    try:
        return cache.incr(counter)
    except ValueError:  # the window ended between add and incr
        cache.add(counter, 1, window)
        return 1


def reset(counter):
    cache.delete(counter)

"""Failed-login throttling per username + client address, in Django's cache.

With the default per-process cache the limit holds per instance; point CACHES at a shared
cache to make it global across Lambda instances or servers.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(username, address):
    raw = f"{username.strip().lower()}|{address}".encode()
    return "login-failures:" + hashlib.sha256(raw).hexdigest()


def is_locked(username, address):
    return cache.get(_key(username, address), 0) >= settings.LOGIN_FAILURE_LIMIT


def record_failure(username, address):
    key = _key(username, address)
    if not cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW):
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, settings.LOGIN_FAILURE_WINDOW)


def clear(username, address):
    cache.delete(_key(username, address))

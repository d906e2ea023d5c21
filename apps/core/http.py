"""Responses for "a dependency is down": 503 with Retry-After, never cached, never a 500."""

from django.http import JsonResponse
from django.utils.cache import add_never_cache_headers

RETRY_AFTER_SECONDS = 5


def unavailable(response):
    """Turn ``response`` into a 503 that tells clients when to retry."""
    response.status_code = 503
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def unavailable_json(**body):
    return unavailable(JsonResponse(body))

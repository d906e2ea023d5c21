"""Error responses with a reason: 401 for API calls without credentials, 503 when a
dependency is down (with Retry-After, never cached), instead of a 500."""

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


def unauthorized(error=None, description=None):
    """401 with ``WWW-Authenticate: Bearer`` (RFC 6750) and the same reason in JSON.

    Without ``error`` (no credentials at all) the challenge names only the realm, as the
    RFC asks.
    """
    response = JsonResponse(
        {"error": error or "authentication_required", "detail": description or ""}, status=401
    )
    challenge = 'Bearer realm="api"'
    if error:
        challenge += f', error="{error}"'
    if description:
        challenge += f', error_description="{description}"'
    response["WWW-Authenticate"] = challenge
    return response

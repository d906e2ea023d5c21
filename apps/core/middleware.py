"""Request id and the one access-log line per request."""

import logging
import time

from django.utils.functional import empty

from apps.core import request_id

access_log = logging.getLogger("apps.core.access")


class RequestIDMiddleware:
    """Give every request an id, echo it in ``X-Request-ID`` and log the request once.

    The log line carries method, path, status, duration and, if the view already looked
    at it, the user id: resolving ``request.user`` here would load the session just to log.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        request.id = request_id.for_request(request)
        token = request_id.set(request.id)
        try:
            response = self.get_response(request)
            response[request_id.HEADER] = request.id
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                response.status_code,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": _resolved_user_id(request),
                },
            )
            return response
        finally:
            request_id.reset(token)


def _resolved_user_id(request):
    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return None
    return user.pk if user.is_authenticated else None

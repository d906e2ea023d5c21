"""Django's session middleware, answering 503 when the session store is unavailable."""

import logging

from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import JsonResponse

from apps.core import request_id
from apps.core.http import unavailable
from apps.sessions.exceptions import SessionStoreUnavailable

logger = logging.getLogger(__name__)


class SessionStoreUnavailableResponse(JsonResponse):
    """What a request that needed the session gets while the store is unavailable."""

    status_code = 503


class SessionMiddleware(DjangoSessionMiddleware):
    """
    Django's SessionMiddleware, answering 503 with Retry-After when the store is down.

    The store raises SessionStoreUnavailable where the session is first read or written:
    in the view (process_exception) or when this middleware saves it (process_response);
    no cookie is set for a save that failed. The store also keeps the error, so a response
    built after a failed call (by code that caught it, or by a later middleware's 500) is
    replaced too: no response claims a session that could not be read or written.
    A concurrent logout still gives Django's 400 (UpdateError -> SessionInterrupted).
    """

    def process_exception(self, request, exception):
        if isinstance(exception, SessionStoreUnavailable):
            return self.unavailable(exception)
        return None

    def process_response(self, request, response):
        if isinstance(response, SessionStoreUnavailableResponse):
            return response
        error = getattr(getattr(request, "session", None), "unavailable", None)
        if error is None:
            try:
                return super().process_response(request, response)
            except SessionStoreUnavailable as exc:
                error = exc
        # A new response: nothing the failed request set, cookies included, goes out.
        return self.unavailable(error)

    def unavailable(self, error):
        logger.error(
            "session store unavailable: %s", error, extra={"request_id": request_id.get()}
        )
        return unavailable(
            SessionStoreUnavailableResponse(
                {"status": "unavailable", "detail": "session store unavailable"}
            )
        )

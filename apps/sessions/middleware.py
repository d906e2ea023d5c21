"""Django's session middleware, answering 503 when the session store is unavailable."""

from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware

from apps.core.http import dependency_unavailable
from apps.sessions.exceptions import SessionStoreUnavailable


class SessionMiddleware(DjangoSessionMiddleware):
    """
    Django's SessionMiddleware, answering 503 with Retry-After when the store is down.

    The store raises SessionStoreUnavailable where the session is first read or written.
    In a view, DependencyUnavailableMiddleware answers it, as any dependency that is down;
    when this middleware saves the session, this middleware does, with the same answer
    (``apps.core.http.dependency_unavailable``), and no cookie is set for a save that
    failed. The store also keeps the error, so a response built after a failed call (by
    code that caught it, or by a later middleware's 500) is replaced too: no response
    claims a session that could not be read or written.
    A concurrent logout still gives Django's 400 (UpdateError -> SessionInterrupted).
    """

    def process_response(self, request, response):
        error = getattr(getattr(request, "session", None), "unavailable", None)
        if error is None:
            try:
                return super().process_response(request, response)
            except SessionStoreUnavailable as exc:
                error = exc
        if getattr(response, "dependency_unavailable", None) is error:
            return response  # already the answer to it, and logged
        # A new response: nothing the failed request set, cookies included, goes out.
        return dependency_unavailable(request, error)

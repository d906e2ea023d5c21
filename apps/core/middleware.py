"""Request id and the one access-log line per request; the one canonical redirect; the
one 503 for every dependency that is down."""

import logging
import time

from django.http import HttpResponsePermanentRedirect, HttpResponseRedirect
from django.utils import translation
from django.utils.cache import patch_vary_headers

from apps.core import canonical, errors, http, request_id, views

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
    user = http.known_user(request)
    return user.pk if user.is_authenticated else None


class CanonicalURLMiddleware:
    """At most one redirect to the canonical URL (https, host, language prefix, slash).

    It runs before Django's SecurityMiddleware, which then only ever sees canonical
    requests. It also activates the language: the URL's for prefixed pages, else the
    visitor's (cookie, then Accept-Language), and says so in ``Vary``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        target = canonical.canonical_redirect(request)
        if target is not None:
            url, permanent, by_language = target
            response = (HttpResponsePermanentRedirect if permanent else HttpResponseRedirect)(url)
            if by_language:
                patch_vary_headers(response, ("Accept-Language", "Cookie"))
            return response
        language = canonical.language_for(request)
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        if not translation.get_language_from_path(request.path_info):
            patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", language)
        return response


class HealthCheckMiddleware:
    """Answer /healthz and /readyz before host validation and redirects.

    Load balancers and orchestrators probe with the instance's address as the Host
    (ALB target groups, Kubernetes), which ALLOWED_HOSTS rightly refuses for real pages.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = {"/healthz": views.healthz, "/readyz": views.readyz}.get(request.path_info)
        if probe is not None:
            response = probe(request)
            # SecurityMiddleware, which the probes skip, would have said this.
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            return response
        return self.get_response(request)


class DependencyUnavailableMiddleware:
    """A dependency that is down, wherever a view or its template finds it, is the 503 of
    ``http.dependency_unavailable``, never a 500.

    Whatever ``errors.unavailable_cause`` recognises: every DependencyUnavailable (the
    session store, Cognito, its key set, the deny-list, the rate-limit counters, the media
    bucket), the database's connection errors, and AWS errors no store wrapped. Views
    catch these only to undo something, then raise again. Middleware that calls a
    dependency before any view runs answers with the same function itself (exceptions
    there never reach a process_exception).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        error = errors.unavailable_cause(exception)
        return None if error is None else http.dependency_unavailable(request, error)

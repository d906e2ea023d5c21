"""Small views (and one middleware) that use the session the ways real ones do."""

import contextlib

from django.contrib.auth import get_user_model, login, logout
from django.http import JsonResponse

from apps.sessions.backends.dynamodb import SessionStore
from apps.sessions.exceptions import SessionStoreUnavailable


def read(request):
    return JsonResponse({"session": dict(request.session.items())})


def write(request):
    request.session["count"] = request.session.get("count", 0) + 1
    return JsonResponse({"session": dict(request.session.items())})


def write_without_reading(request):
    request.session["cart"] = ["book"]
    response = JsonResponse({"saved": True})
    response.set_cookie("cart_hint", "1")
    return response


def sign_in(request):
    user = get_user_model().objects.get(pk=request.POST["user"])
    login(request, user)
    return JsonResponse({"user": user.pk})


def sign_out(request):
    logout(request)
    return JsonResponse({"signed_out": True})


def whoami(request):
    return JsonResponse({"authenticated": request.user.is_authenticated})


def write_after_logout_elsewhere(request):
    request.session.get("count")
    # Another request logs the same session out while this one is running.
    SessionStore(request.session.session_key).delete()
    request.session["count"] = 99
    return JsonResponse({"saved": True})


def read_or_shrug(request):
    """A view that catches the failure and carries on: the response must not claim success."""
    with contextlib.suppress(SessionStoreUnavailable):
        request.session.get("count")
    return JsonResponse({"ok": True})


class TouchSessionMiddleware:
    """A middleware after SessionMiddleware that reads the session before any view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.session.get("count")
        return self.get_response(request)

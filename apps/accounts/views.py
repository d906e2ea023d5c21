import hmac
import logging

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.accounts import cognito, conf, login_state, ratelimit, services
from apps.accounts.forms import PasswordLoginForm
from apps.core import canonical
from apps.core.addresses import client_address
from apps.core.errors import UNAVAILABLE_ERRORS
from apps.core.http import unauthorized

logger = logging.getLogger(__name__)

GENERIC_LOGIN_ERROR = gettext_lazy("Incorrect email or password.")


@never_cache
@require_http_methods(["GET", "POST"])
def login(request):
    """Hosted UI when a domain is configured, else the username/password form.

    A dependency that is down (the counters, Cognito, its key set, the deny-list, the
    sessions, the database) raises through to DependencyUnavailableMiddleware's 503.
    """
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if conf.hosted_ui_url():
        pending, authorize_url = cognito.new_login_request(
            request.build_absolute_uri(reverse("accounts:callback"))
        )
        return login_state.remember(redirect(authorize_url), {**pending, "next": next_url})

    form = PasswordLoginForm(request.POST if request.method == "POST" else None)
    status = 200
    if form.is_valid():
        username = form.cleaned_data["username"]
        try:
            attempt = ratelimit.attempt(
                username,
                client_address(request),
                known_device=ratelimit.is_known_device(request, username),
            )
        except ratelimit.Throttled as exc:
            form.add_error(None, _("Too many failed attempts. Try again in a few minutes."))
            response = render(request, "accounts/login.html", {"form": form, "next": next_url})
            response.status_code = 429
            response["Retry-After"] = str(exc.retry_after)
            return response
        try:
            tokens = cognito.password_login(username, form.cleaned_data["password"])
            user = services.complete_login(request, tokens)
        except cognito.CognitoRejected as exc:
            logger.info("password login refused: %s", exc.code)
            form.add_error(None, GENERIC_LOGIN_ERROR)
            status = 400
        except UNAVAILABLE_ERRORS:
            # Cognito could not be asked, or its answer not checked and kept: not a failed
            # attempt, so it is not counted against the user (the middleware answers 503).
            attempt.abandoned()
            raise
        else:
            if user is not None:
                attempt.succeeded()
                _signed_in(request, user, next_url)
                return ratelimit.remember_device(redirect(next_url), username)
            logger.warning("ID token from InitiateAuth rejected: %s", request.auth_error)
            form.add_error(None, GENERIC_LOGIN_ERROR)
            status = 400
    elif request.method == "POST":
        status = 400
    return render(request, "accounts/login.html", {"form": form, "next": next_url}, status=status)


@never_cache
@require_GET
def callback(request):
    """The hosted UI's redirect back: check state, exchange the code, verify, log in."""
    # Used once. A dependency that is down raises past this to the middleware's 503 and
    # leaves the state in place: the same link may then be retried.
    return login_state.forget(_callback(request, login_state.recall(request)))


def _callback(request, pending):
    if request.GET.get("error"):
        return _login_failed(request, _("Sign-in was cancelled or refused."))
    state = request.GET.get("state", "")
    code = request.GET.get("code", "")
    # No hosted UI (any more): a cookie left from when there was one starts nothing.
    if not conf.hosted_ui_url() or not pending or not code or not _same(state, pending["state"]):
        return _login_failed(request, _("This sign-in link is stale or was not started here."))
    try:
        tokens = cognito.exchange_code(code, pending)
    except cognito.CognitoRejected as exc:
        logger.info("code exchange refused: %s", exc.code)
        return _login_failed(request, _("Sign-in failed. Please try again."))
    user = services.complete_login(request, tokens, nonce=pending["nonce"])
    if user is None:
        logger.warning("ID token from the hosted UI rejected: %s", request.auth_error)
        return _login_failed(request, _("Sign-in failed. Please try again."))
    _signed_in(request, user, pending["next"])
    return redirect(pending["next"])


@never_cache
@require_POST
def logout(request):
    """Deny-list the tokens, end the session, revoke the refresh token, leave the hosted UI.

    If the deny-list or the session store is down, the middleware's 503: still signed in.
    """
    refresh_token = services.complete_logout(request)
    if refresh_token:
        try:
            cognito.revoke_refresh_token(refresh_token)
        except (cognito.CognitoRejected, cognito.CognitoUnavailable) as exc:
            # The token lived only in the session just deleted; listed jti end the rest.
            logger.warning("refresh token revocation failed: %r", exc)
    home = request.build_absolute_uri(resolve_url(settings.LOGOUT_REDIRECT_URL))
    if conf.hosted_ui_url():
        return redirect(cognito.logout_url(home))
    return redirect(home)


@never_cache
@require_GET
def me(request):
    """The signed-in user and their groups, for Bearer clients (and the browser)."""
    if not request.user.is_authenticated:
        return unauthorized()
    user = request.user
    return JsonResponse(
        {
            "sub": user.sub,
            "username": user.get_username(),
            "email": user.email,
            "name": user.get_full_name(),
            "groups": sorted(user.groups.values_list("name", flat=True)),
            "is_staff": user.is_staff,
            "is_superuser": user.is_superuser,
        }
    )


def _safe_next(request, candidate):
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _same(a, b):
    return hmac.compare_digest(a.encode(), b.encode())


def _login_failed(request, message):
    return render(request, "accounts/login_failed.html", {"message": message}, status=400)


def _signed_in(request, user, next_url):
    """Say who the browser is signed in as now, and where their files are, in the language
    of the page it lands on (the sign-in URLs have none of their own)."""
    landing = canonical.language_of(resolve_url(next_url)) or translation.get_language()
    with translation.override(landing):
        text = _("Signed in as %(email)s. Your files are under “My files”.") % {
            "email": user.email or user.get_username()
        }
    messages.success(request, text)

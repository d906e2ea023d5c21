from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.cache import patch_cache_control
from django.views import i18n
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from apps.core import canonical, csp, health
from apps.core.http import parse_json, unavailable

# What violation reports come as: report-uri's type, the Reporting API's, and plain JSON,
# which some clients send.
CSP_REPORT_TYPES = ("application/csp-report", "application/reports+json", "application/json")


@never_cache
@require_safe
def healthz(request):
    """Liveness: the process answers. Touches no dependency, so it is always fast."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """Readiness: database, sessions table and media bucket reachable, else 503; which one
    is down only for a health-check source (``health.shows_details``)."""
    ready, checks = health.readiness()
    body = {"status": "ok" if ready else "unavailable"}
    if health.shows_details(request):
        body["checks"] = checks
    return JsonResponse(body) if ready else unavailable(JsonResponse(body))


@require_safe
def robots_txt(request):
    sitemap = request.build_absolute_uri(reverse("django.contrib.sitemaps.views.sitemap"))
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /api/",
        "Disallow: /accounts/",
        "Disallow: /i18n/",
        f"Sitemap: {sitemap}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")


@require_safe
def favicon(request):
    """/favicon.ico, which browsers and crawlers ask for whatever the pages link: a redirect
    to the icon among the static files (hashed, on the CDN where the target puts them), so
    it is not a 404 in the logs. Cached for a day: the target changes with each release."""
    response = HttpResponseRedirect(static("favicon.svg"))
    patch_cache_control(response, public=True, max_age=86400)
    return response


def set_language(request):
    """Django's set_language, translating ``next`` from the language it is written in.

    Django resolves ``next`` in the request's language, so /fr/a-propos/ would not be
    recognised from an English request and the visitor would stay on the French page.
    """
    next_url = request.POST.get("next", request.GET.get("next", ""))
    with translation.override(canonical.language_of(next_url) or translation.get_language()):
        response = i18n.set_language(request)
    # ``next`` is a path inside the app; under API Gateway's stage (SCRIPT_NAME) the browser
    # must go back to /dev/fr/..., not /fr/....
    script = request.META.get("SCRIPT_NAME", "").rstrip("/")
    location = response.get("Location", "")
    if script and location.startswith("/") and not location.startswith(script + "/"):
        response["Location"] = script + location
    return response


@csrf_exempt  # browsers send reports without cookies or tokens
@require_POST
def csp_report(request):
    """Content-Security-Policy violation reports, in report-uri's format or the Reporting
    API's: one log line per violation, nothing stored. 413 past CSP_REPORT_MAX_BYTES, 400
    for anything that is not a JSON report."""
    limit = settings.CSP_REPORT_MAX_BYTES
    too_large = f"Reports stop at {limit} bytes."
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _plain("Bad Content-Length.", 400)
    if declared > limit:
        return _plain(too_large, 413)
    if request.content_type not in CSP_REPORT_TYPES:
        return _plain(f"Reports are JSON ({', '.join(CSP_REPORT_TYPES)}).", 400)
    raw = request.read(limit + 1)  # the stream stops at Content-Length; this, at the limit
    if len(raw) > limit:
        return _plain(too_large, 413)
    try:
        csp.log_violations(parse_json(raw))
    except ValueError as exc:  # parse_json's InvalidInput is one too
        return _plain(str(exc), 400)
    return HttpResponse(status=204)


def _plain(text, status):
    return HttpResponse(text, status=status, content_type="text/plain")


def csrf_failure(request, reason=""):
    """Django's CSRF rejection, as a page in the visitor's language."""
    return render(request, "403_csrf.html", status=403)

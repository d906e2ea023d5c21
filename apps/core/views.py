from urllib.parse import urlsplit

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views import i18n
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from apps.core import health
from apps.core.http import unavailable


@never_cache
@require_safe
def healthz(request):
    """Liveness: the process answers. Touches no dependency, so it is always fast."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request):
    """Readiness: database, sessions table and media bucket reachable; 503 names what is not."""
    ready, checks = health.readiness()
    if ready:
        return JsonResponse({"status": "ok", "checks": checks})
    return unavailable(JsonResponse({"status": "unavailable", "checks": checks}))


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


def set_language(request):
    """Django's set_language, translating ``next`` from the language it is written in.

    Django resolves ``next`` in the request's language, so /fr/a-propos/ would not be
    recognised from an English request and the visitor would stay on the French page.
    """
    next_url = request.POST.get("next", request.GET.get("next", ""))
    written_in = translation.get_language_from_path(urlsplit(next_url).path)
    with translation.override(written_in or translation.get_language()):
        response = i18n.set_language(request)
    # ``next`` is a path inside the app; under API Gateway's stage (SCRIPT_NAME) the browser
    # must go back to /dev/fr/..., not /fr/....
    script = request.META.get("SCRIPT_NAME", "").rstrip("/")
    location = response.get("Location", "")
    if script and location.startswith("/") and not location.startswith(script + "/"):
        response["Location"] = script + location
    return response


def csrf_failure(request, reason=""):
    """Django's CSRF rejection, as a page in the visitor's language."""
    return render(request, "403_csrf.html", status=403)

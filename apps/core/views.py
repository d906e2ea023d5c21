from django.http import JsonResponse
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

from collections.abc import Iterable
from typing import cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.http import InvalidInput, json_body, unauthorized
from apps.files import services
from apps.files.forms import FallbackUploadForm
from apps.files.models import StoredFile


def _api_login_required(view):
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return unauthorized()
        return view(request, *args, **kwargs)

    return wrapped


def serialize(stored):
    data = {
        "id": str(stored.pk),
        "name": stored.original_name,
        "size": stored.size,
        "type": stored.verified_type or stored.declared_type,
        "status": stored.status,
        "reject_reason": stored.reject_reason,
        "created_at": stored.created_at.isoformat(),
        "complete_url": reverse("files-api:complete", args=[stored.pk]),
    }
    if stored.status == StoredFile.Status.READY:
        data["download_url"] = reverse("files:download", args=[stored.pk])
        if stored.thumbnail_key:
            data["thumbnail_url"] = reverse("files:thumbnail", args=[stored.pk])
    return data


# --- JSON API (session + CSRF in the browser, Bearer tokens for API clients) -------------


@never_cache
@require_http_methods(["GET", "POST"])
@_api_login_required
def api_files(request):
    if request.method == "GET":
        files = StoredFile.objects.filter(owner=request.user)
        return JsonResponse({"files": [serialize(f) for f in files]})
    try:
        body = json_body(request)
    except InvalidInput as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    try:
        name, size, content_type = body["name"], body["size"], body["content_type"]
    except (KeyError, TypeError):
        return JsonResponse(
            {"error": "Send JSON with name, size (bytes) and content_type."}, status=400
        )
    try:
        stored, post = services.file_start_upload(
            owner=request.user, name=name, size=size, content_type=content_type
        )
    except services.UploadRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(
        {
            "file": serialize(stored),
            "upload": {"url": post["url"], "fields": post["fields"]},
            "expires_in": settings.FILES_UPLOAD_URL_EXPIRY,
        },
        status=201,
    )


@never_cache
@require_POST
@_api_login_required
def api_complete(request, file_id):
    try:
        stored = services.file_complete_upload(file_id, owner=request.user)
    except StoredFile.DoesNotExist:
        return JsonResponse({"error": "No such file."}, status=404)
    except services.UploadMissing as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"file": serialize(stored)})


@never_cache
@require_http_methods(["DELETE"])
@_api_login_required
def api_delete(request, file_id):
    try:
        services.file_delete(get_object_or_404(StoredFile, pk=file_id, owner=request.user))
    except Http404:
        return JsonResponse({"error": "No such file."}, status=404)
    return HttpResponse(status=204)


# --- pages ---------------------------------------------------------------------------------


@never_cache
@login_required
@require_GET
def file_list(request):
    files = StoredFile.objects.filter(owner=request.user)
    return render(
        request,
        "files/list.html",
        {
            "files": files,
            "form": FallbackUploadForm(),
            "max_bytes": settings.FILES_MAX_BYTES,
            "fallback_max_bytes": settings.FILES_FALLBACK_MAX_BYTES,
            "allowed_types": settings.FILES_ALLOWED_TYPES,
        },
    )


@never_cache
@login_required
@require_POST
def fallback_upload(request):
    """A plain multipart form for small files; bigger bodies get 413 before being read."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > settings.FILES_FALLBACK_MAX_BYTES:
        message = _(
            "This upload is too large for the simple form (at most %(limit)s bytes). "
            "Use the drag-and-drop uploader, which sends files straight to storage."
        ) % {"limit": settings.FILES_FALLBACK_MAX_BYTES}
        return render(request, "files/too_large.html", {"message": message}, status=413)
    form = FallbackUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        # An ErrorList yields its messages as str; the stubs say ValidationError | str.
        errors = cast(Iterable[str], form.errors.get("file", [_("Choose a file.")]))
        messages.error(request, " ".join(errors))
        return redirect("files:list")
    try:
        stored = services.file_upload_through_app(
            owner=request.user, uploaded=form.cleaned_data["file"]
        )
    except services.UploadRefused as exc:
        messages.error(request, str(exc))
        return redirect("files:list")
    if stored.status == StoredFile.Status.READY:
        messages.success(request, _("Uploaded %(name)s.") % {"name": stored.original_name})
    else:
        messages.error(
            request,
            _("%(name)s was refused: %(reason)s.")
            % {"name": stored.original_name, "reason": stored.reject_reason},
        )
    return redirect("files:list")


@never_cache
@login_required
@require_GET
def download(request, file_id):
    stored = get_object_or_404(StoredFile, pk=file_id, owner=request.user)
    if stored.status != StoredFile.Status.READY:
        raise Http404("This file is not ready.")
    return redirect(services.download_url(stored))


@never_cache
@login_required
@require_GET
def thumbnail(request, file_id):
    stored = get_object_or_404(StoredFile, pk=file_id, owner=request.user)
    if not stored.thumbnail_key:
        raise Http404("No thumbnail.")
    return redirect(services.download_url(stored, inline=True, thumbnail=True))


@login_required
@require_POST
def delete(request, file_id):
    stored = get_object_or_404(StoredFile, pk=file_id, owner=request.user)
    services.file_delete(stored)
    messages.success(request, _("Deleted %(name)s.") % {"name": stored.original_name})
    return redirect("files:list")

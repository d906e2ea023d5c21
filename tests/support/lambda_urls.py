"""Test-only views behind the Lambda handler (tests/test_lambda_handler.py, test_local_lambda.py).

Mounted under ``lambda-test/`` in front of the project's own URL patterns.
"""

import hashlib
import os
import tempfile
import time
from pathlib import Path

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import path, reverse
from django.views.decorators.csrf import csrf_exempt

from project import urls as project_urls

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))


def two_cookies(request):
    response = HttpResponse("two cookies", content_type="text/plain")
    response.set_cookie("first", "1")
    response.set_cookie("second", "2")
    return response


def echo(request):
    return JsonResponse(
        {
            "method": request.method,
            "path": request.path,
            "path_info": request.path_info,
            "script_name": request.META["SCRIPT_NAME"],
            "query": dict(request.GET.lists()),
            "cookies": request.COOKIES,
            "reversed": reverse("lambda-echo"),
            "static": static("css/site.css"),
            "request_id": request.id,
            "secure": request.is_secure(),
            "host": request.get_host(),
        }
    )


@csrf_exempt
def binary(request):
    """GET: a PNG; POST: the request body back, byte for byte."""
    body = request.body if request.method == "POST" else PNG
    return HttpResponse(body, content_type="application/octet-stream")


@csrf_exempt
def upload(request):
    files = {
        name: {
            "name": upload.name,
            "size": upload.size,
            "sha256": hashlib.sha256(upload.read()).hexdigest(),
            "on_disk": isinstance(upload, TemporaryUploadedFile),
        }
        for name, upload in request.FILES.items()
    }
    return JsonResponse({"fields": request.POST.dict(), "files": files})


def go_to_echo(request):
    return redirect("lambda-echo")


def sleep(request):
    time.sleep(float(request.GET["seconds"]))
    return HttpResponse("awake", content_type="text/plain")


def filesystem(request):
    """Whether the code directory and the temporary directory can be written."""
    return JsonResponse(
        {
            "task_root_writable": _writable(Path(os.environ.get("LAMBDA_TASK_ROOT", "."))),
            "tmp_writable": _writable(Path(tempfile.gettempdir())),
            "tmpdir": tempfile.gettempdir(),
        }
    )


def _writable(folder):
    try:
        with tempfile.NamedTemporaryFile(dir=folder):
            return True
    except OSError:
        return False


urlpatterns = [
    path("lambda-test/cookies", two_cookies),
    path("lambda-test/echo", echo, name="lambda-echo"),
    path("lambda-test/binary", binary),
    path("lambda-test/upload", upload),
    path("lambda-test/redirect", go_to_echo),
    path("lambda-test/sleep", sleep),
    path("lambda-test/filesystem", filesystem),
    # Spliced in, not include()d: the project's i18n_patterns must stay at the root.
    *project_urls.urlpatterns,
]

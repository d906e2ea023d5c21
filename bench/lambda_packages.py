"""The packages the Lambda benchmark compares: ours as ``make package`` builds it, and a
reference made the stock way (``startproject`` + one view, ``zappa package``); their sizes."""

import json
import os
import re
import subprocess
import sys
import zipfile
from collections import defaultdict

from deploy.tools.harness.processes import ROOT

PACKAGE = ROOT / "var" / "package" / "amphibian-dev.zip"
PACKAGE_PYTHON = ROOT / "var" / "package" / "venv" / "bin" / "python"
BENCH_DIR = ROOT / "var" / "bench"
REFERENCE_DIR = BENCH_DIR / "reference"
REFERENCE_ZIP = REFERENCE_DIR / "reference-dev.zip"
MIB = 1024 * 1024
# The reference project's urls.py: the admin, as startproject leaves it, and one view.
REFERENCE_URLS = """\
from django.contrib import admin
from django.http import HttpResponse
from django.urls import path


def hello(request):
    return HttpResponse("Hello, world")


urlpatterns = [path("admin/", admin.site.urls), path("hello", hello)]
"""
# What ``zappa init`` writes (its defaults, DEFAULT_EXCLUDES included), bucket a placeholder.
REFERENCE_STAGES = {
    "dev": {
        "django_settings": "reference.settings",
        "runtime": f"python{sys.version_info[0]}.{sys.version_info[1]}",  # as ours
        "s3_bucket": "reference-zappa-deployments-placeholder",
        "aws_region": "us-east-1",
        "project_name": "reference",
        "exclude": ["boto3", "dateutil", "botocore", "s3transfer", "concurrent"],
    }
}


def run(command, **kwargs):
    kwargs.setdefault("cwd", ROOT)
    return subprocess.run(command, check=True, timeout=900, **kwargs)  # noqa: S603


def build_ours():
    run([sys.executable, "deploy/lambda/package.py", "--stage", "dev"], capture_output=True)
    return PACKAGE


def pinned(lock_file, name):
    match = re.search(rf"^{name}==(\S+)", (ROOT / lock_file).read_text(), re.M)
    return match.group(1)


def build_reference(django_version, zappa_version):
    """The stock way: startproject, a hello view, default zappa_settings.json, zappa package."""
    venv = REFERENCE_DIR / "venv"
    python = venv / "bin" / "python"
    wanted = f"{django_version} {zappa_version}"
    versions = "from importlib.metadata import version; print(version('django'), version('zappa'))"
    installed = ""
    if python.exists():
        probe = subprocess.run([python, "-c", versions], capture_output=True, text=True)  # noqa: S603
        installed = probe.stdout.strip()
    if installed != wanted:
        run([sys.executable, "-m", "venv", "--clear", str(venv)])
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        run([*pip, f"django=={django_version}", f"zappa=={zappa_version}"])
    project = REFERENCE_DIR / "reference"
    if not project.exists():
        run([venv / "bin" / "django-admin", "startproject", "reference"], cwd=REFERENCE_DIR)
    (project / "reference" / "urls.py").write_text(REFERENCE_URLS)
    settings = project / "reference" / "settings.py"
    if 'ALLOWED_HOSTS = ["*"]' not in settings.read_text():
        settings.write_text(settings.read_text() + '\nALLOWED_HOSTS = ["*"]\n')
    (project / "zappa_settings.json").write_text(json.dumps(REFERENCE_STAGES, indent=4) + "\n")
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "AWS_DEFAULT_REGION": "us-east-1"}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH"):
        env.pop(name, None)
    REFERENCE_ZIP.unlink(missing_ok=True)
    zappa = [venv / "bin" / "zappa", "package", "dev", "-o", str(REFERENCE_ZIP)]
    run(zappa, cwd=project, env=env, capture_output=True)
    return REFERENCE_ZIP


def package_size(path, top=8):
    """Sizes in MiB, and the ``top`` biggest top-level entries by compressed size."""
    by_entry = defaultdict(lambda: [0, 0])
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            entry = by_entry[info.filename.split("/")[0]]
            entry[0] += info.compress_size
            entry[1] += info.file_size
    biggest = sorted(by_entry.items(), key=lambda item: -item[1][0])[:top]
    return {
        "zipped_mib": round(path.stat().st_size / MIB, 2),
        "unzipped_mib": round(sum(size for _, size in by_entry.values()) / MIB, 2),
        "biggest_zipped_mib": {name: round(sizes[0] / MIB, 2) for name, sizes in biggest},
    }

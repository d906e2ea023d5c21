"""Hashed static files into a stage's static bucket, once per set of sources.

The local Lambda (``runlambda`` with the stage's S3 static files) and the deploy share this:
``collectstatic`` runs with the function's own settings (``DJANGO_DEPLOY_TARGET=lambda``,
``DJANGO_STATIC_STORAGE=s3``) and its manifest is kept in the bucket under a fingerprint of
the sources (``manifests/<fingerprint>.json``, beside ``static/``, which only the CDN reads).
The next run with the same sources finds it and uploads nothing: ``collectstatic`` with
nothing to copy still asks S3 about every file, which took 22 s against the local stack.
"""

import hashlib
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders

MANIFEST_NAME = "staticfiles.json"  # ManifestFilesMixin's


def manifest_key():
    """Where the bucket keeps the manifest of today's sources."""
    return f"manifests/{fingerprint()}.json"


def publish(s3, variables, manifest_dir, *, dry_run=False):
    """Upload the hashed files to ``variables["STATIC_BUCKET"]`` unless the bucket already
    holds this set of sources; either way leave their manifest in ``manifest_dir``.

    ``variables`` is the complete environment of the ``collectstatic`` process (the
    function's). Returns True when files were (or, with ``dry_run``, would be) uploaded.
    Raises RuntimeError with collectstatic's output when it fails.
    """
    bucket, key = variables["STATIC_BUCKET"], manifest_key()
    manifest = Path(manifest_dir) / MANIFEST_NAME
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        body = None
    if body is not None or dry_run:
        if body is not None and not dry_run:
            manifest.parent.mkdir(parents=True, exist_ok=True)
            manifest.write_bytes(body)
        return body is None
    manifest.parent.mkdir(parents=True, exist_ok=True)
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=settings.BASE_DIR,
        env={**variables, "DJANGO_STATIC_MANIFEST_DIR": str(manifest_dir)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if collected.returncode != 0:
        raise RuntimeError(f"collectstatic to bucket {bucket} failed:\n{collected.stderr}")
    s3.put_object(Bucket=bucket, Key=key, Body=manifest.read_bytes())
    return True


def fingerprint():
    """A digest of every static source file (names and contents), as the finders see them."""
    digest = hashlib.sha256()
    for path, storage in sorted(_sources(), key=lambda found: found[0]):
        digest.update(path.encode() + b"\0")
        with storage.open(path) as source:
            digest.update(hashlib.sha256(source.read()).digest())
    return digest.hexdigest()[:32]


def _sources():
    seen = set()
    for finder in finders.get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            if path not in seen:  # the first finder's file wins, as collectstatic picks it
                seen.add(path)
                yield path, storage

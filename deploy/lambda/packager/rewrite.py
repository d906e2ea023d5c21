"""The zip ``zappa package`` wrote, rewritten in place.

What ``dropped`` names is removed, shared libraries are stripped of symbols, and bytecode
is precompiled, since Lambda's code directory is read-only and an uncompiled module is
compiled again on every cold start. Static files: with the stage's
``DJANGO_STATIC_STORAGE=s3`` only the manifest ships (the files are in the static bucket:
``make collectstatic``), otherwise the collected files ship for whitenoise
(var/staticfiles). Third-party modules ship as bytecode only unless ``sources``; the
project's own code keeps its sources.
"""

import compileall
import py_compile
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from . import run
from .dropped import not_shipped, removal_reason

# The project's own code (zip root names): keeps its sources for readable tracebacks.
FIRST_PARTY = ("apps", "project", "deploy", "manage.py", "zappa_settings.py")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # same input, same zip
MANIFEST = "staticfiles.json"
STRIP = "strip"


def rewrite(package, static_dir, *, static_storage="whitenoise", sources=False):
    """Strip, add static files, precompile; returns what was removed, by reason."""
    removed = {"tests": 0, "locales": 0, "app static sources": 0, "never loaded": 0}
    removed.update({"zappa, unused": 0, "wheel records": 0, "third-party sources": 0})
    with tempfile.TemporaryDirectory(prefix="amphibian-package-") as scratch:
        tree = Path(scratch) / "tree"
        with zipfile.ZipFile(package) as archive:
            archive.extractall(tree)
        for path in sorted(tree.rglob("*"), reverse=True):
            if not path.exists():
                continue
            reason = removal_reason(
                PurePosixPath(path.relative_to(tree).as_posix()), static_storage
            )
            if reason:
                removed[reason] += 1
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()
        shipped = not_shipped(tree)
        if shipped:
            raise SystemExit(
                f"{package}: {', '.join(sorted(shipped))} must not ship; add them to the "
                "stage's exclude in zappa_settings.json."
            )
        if static_storage == "s3":
            # The hashed names {% static %} renders, without an S3 call (StaticStorage).
            manifest_dir = tree / "deploy" / "lambda" / "static-manifest"
            manifest_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy2(static_dir / MANIFEST, manifest_dir / MANIFEST)
        else:
            shutil.copytree(static_dir, tree / "var" / "staticfiles")
        strip_libraries(tree)
        removed["third-party sources"] = compile_tree(tree, sources=sources)
        write_zip(tree, package)
    return removed


def strip_libraries(tree):
    """Symbols and debug sections out of shared libraries (some wheels ship them)."""
    libraries = [
        str(path)
        for path in sorted(tree.rglob("*.so*"))
        if path.is_file() and not path.is_symlink()
    ]
    if libraries:
        run([STRIP, "--strip-unneeded", *libraries])


LAMBDA_TASK_ROOT = "/var/task"


def compile_tree(tree, *, sources):
    """Precompile everything; third-party modules become bytecode-only unless ``sources``.

    Returns how many .py files were dropped.
    """
    options = {
        "quiet": 1,
        # Unchecked: the zip's timestamps do not survive extraction exactly, and a
        # timestamp mismatch would make every cold start compile again.
        "invalidation_mode": py_compile.PycInvalidationMode.UNCHECKED_HASH,
        # The path the bytecode names is where Lambda puts the code, not this build's
        # temporary folder: tracebacks read as on Lambda, and the same sources make the
        # same zip (a deploy compares digests to know whether the code changed).
        "stripdir": str(tree),
        "prependdir": LAMBDA_TASK_ROOT,
    }
    dropped = 0
    for entry in sorted(tree.iterdir()):
        if sources or entry.name in FIRST_PARTY:
            compile_path(entry, **options)
            continue
        # Sourceless: foo.pyc beside where foo.py was is what Python imports without it.
        compile_path(entry, legacy=True, **options)
        for source in [entry] if entry.is_file() else sorted(entry.rglob("*.py")):
            if source.suffix == ".py" and source.with_suffix(".pyc").exists():
                source.unlink()
                dropped += 1
    return dropped


def compile_path(path, **options):
    if path.is_dir():
        compileall.compile_dir(path, workers=0, **options)
    elif path.suffix == ".py":
        compileall.compile_file(path, **options)


def write_zip(tree, package):
    package.unlink(missing_ok=True)
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in sorted(tree.rglob("*")):
            if path.is_dir():
                continue
            entry = zipfile.ZipInfo(path.relative_to(tree).as_posix(), FIXED_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16  # readable by the runtime's user
            archive.writestr(entry, path.read_bytes(), compresslevel=9)

"""Build the Lambda package: ``python deploy/lambda/package.py --stage dev`` (``make package``).

1. A throw-away virtualenv, var/package/venv, with the locked runtime requirements and
   Zappa's locked closure, hash-checked (requirements/*.txt); remade when a lock changes.
2. ``collectstatic`` with the lambda settings into var/package/staticfiles (runtime
   dependencies only, placeholder configuration: nothing is contacted).
3. ``zappa package <stage>`` in that venv: the project and the venv's site-packages at the
   zip root, less the stage's ``exclude``/``exclude_glob`` (the AWS SDK, Zappa's CLI
   dependencies, tests, deploy files), plus Zappa's zappa_settings.py.
4. The zip rewritten: what Zappa's name patterns cannot reach is removed (tests inside
   packages, locales the site does not offer, .po sources, wheel RECORD files, Zappa's
   deploy-side modules), shared libraries stripped of symbols, and bytecode precompiled,
   since Lambda's code directory is read-only and an uncompiled module is compiled again
   on every cold start. Static files: with the stage's ``DJANGO_STATIC_STORAGE=s3`` only the
   manifest ships (the files are in the static bucket: ``make collectstatic``), otherwise
   the collected files ship for whitenoise (var/staticfiles).
5. Third-party modules ship as bytecode only (``--with-sources`` keeps their .py): it is a
   third of the zip, and Lambda runs the bytecode anyway. Tracebacks through them keep file,
   line and function, not the source line; the project's own code keeps its sources.

It prints the zipped and unzipped sizes before and after, and fails above Lambda's limits.
Runs with Python 3.11: the bytecode must match the python3.11 runtime.
"""

import argparse
import compileall
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[2]
WORK_DIR = ROOT / "var" / "package"
VENV = WORK_DIR / "venv"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"

MAX_ZIPPED = 50 * 1024 * 1024  # Lambda: direct upload of a .zip
MAX_UNZIPPED = 250 * 1024 * 1024  # Lambda: the function and its layers, unzipped
SITE_LANGUAGES = {"en", "fr", "de"}  # settings.LANGUAGES; other catalogs are never loaded
# Zappa's deploy side (troposphere, click...) and its own handler (werkzeug), which is not
# the function's: deploy.lambda.handler is. ``zappa.asynchronous`` and its utilities stay.
ZAPPA_UNUSED = (
    "zappa/cli.py",
    "zappa/core.py",
    "zappa/letsencrypt.py",
    "zappa/policies",
    "zappa/handler.py",
    "zappa/middleware.py",
    "handler.py",
    "django_zappa_app.py",
)
# Native code and modules nothing here loads: GeoDjango (not installed), Pillow's AVIF
# decoder (its plugin reports AVIF unsupported without it; an AVIF upload gets no
# thumbnail), its font rendering and Tk bindings, with the libraries only they link.
NEVER_LOADED = (
    "django/contrib/gis",
    "PIL/_avif.",
    "PIL/_imagingft.",
    "PIL/_imagingtk.",
    "pillow.libs/libavif-",
    "pillow.libs/libfreetype-",
    "pillow.libs/libharfbuzz-",
    "pillow.libs/libbrotli",
    "pillow.libs/libpng16-",
)
# Must not be in the function: Zappa's CLI-only distributions, and what the python3.11
# runtime already provides. Kept out by the stage's ``exclude``; checked here.
NOT_SHIPPED = {
    "argcomplete", "boto3", "botocore", "certifi", "cfn_flip", "charset_normalizer",
    "click", "gunicorn", "hjson", "idna", "jmespath", "kappa", "markupsafe", "pip",
    "placebo", "python_dateutil", "python_slugify", "pyyaml", "redis", "requests",
    "s3transfer", "setuptools", "six", "text_unidecode", "toml", "tqdm", "troposphere",
    "urllib3", "werkzeug", "wheel",
}  # fmt: skip
# The project's own code (zip root names): keeps its sources for readable tracebacks.
FIRST_PARTY = ("apps", "project", "deploy", "manage.py", "zappa_settings.py")
# Only for collectstatic during the build: the lambda settings refuse to load without them.
BUILD_ENV = {
    "DJANGO_SETTINGS_MODULE": "project.settings.lambda",
    "DJANGO_SECRET_KEY": "build-only-" + "x" * 50,
    "DJANGO_ALLOWED_HOSTS": "build.invalid",
    "DATABASE_URL": "sqlite://:memory:",
    "AWS_REGION": "us-east-1",
    "SESSIONS_TABLE": "build",
    "TOKEN_DENYLIST_TABLE": "build",
    "MEDIA_BUCKET": "build",
    "COGNITO_USER_POOL_ID": "us-east-1_build",
    "COGNITO_APP_CLIENT_ID": "build",
}
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # same input, same zip
MANIFEST = "staticfiles.json"
STRIP = "strip"


class PackageTooLarge(SystemExit):
    pass


def locked_blocks(lock_file):
    """``{name: (lines, via)}`` for each pinned requirement of a pip-compile lock file."""
    blocks, name, via_open = {}, None, False
    for line in Path(lock_file).read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", line)
        if pinned:
            name = normalize(pinned.group(1))
            blocks[name] = ([line], set())
            via_open = False
            continue
        if name is None or not line.startswith(" "):
            name = None if not line.strip() or line.startswith("#") else name
            continue
        text = line.strip()
        if text.startswith("--hash"):
            blocks[name][0].append(line)
        elif text.startswith("# via"):
            rest = text[len("# via") :].strip()
            via_open = not rest
            if rest:
                blocks[name][1].add(normalize(rest.split()[0]))
        elif via_open and text.startswith("#"):
            blocks[name][1].add(normalize(text.lstrip("# ").split()[0]))
    return blocks


def normalize(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def zappa_requirements():
    """Zappa and what it needs, as locked with hashes in dev.txt, less runtime.txt's."""
    blocks = locked_blocks(DEV_LOCK)
    needed = {"zappa"}
    while True:
        more = {name for name, (_, via) in blocks.items() if via & needed} - needed
        if not more:
            break
        needed |= more
    runtime = set(locked_blocks(RUNTIME_LOCK))
    # One line per requirement: the pin and its --hash options.
    return "".join(
        " ".join(line.strip(" \\") for line in blocks[name][0]) + "\n"
        for name in sorted(needed - runtime)
    )


def ensure_venv():
    """The build venv, remade from scratch when a lock file is newer than it."""
    stamp = VENV / ".installed"
    newest_lock = max(RUNTIME_LOCK.stat().st_mtime, DEV_LOCK.stat().st_mtime)
    if stamp.exists() and stamp.stat().st_mtime >= newest_lock:
        return
    shutil.rmtree(VENV, ignore_errors=True)
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "venv", str(VENV)])
    zappa_lock = WORK_DIR / "zappa-requirements.txt"
    zappa_lock.write_text(zappa_requirements())
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    pip += ["--disable-pip-version-check", "--require-hashes", "--no-deps"]
    run([*pip, "-r", str(RUNTIME_LOCK), "-r", str(zappa_lock)])
    stamp.touch()


def collect_static(target):
    shutil.rmtree(target, ignore_errors=True)
    env = {**os.environ, **BUILD_ENV, "DJANGO_STATIC_ROOT": str(target)}
    env.pop("DJANGO_DEPLOY_TARGET", None)
    command = [str(VENV / "bin" / "python"), "manage.py", "collectstatic", "--noinput", "-v0"]
    run(command, env=env)


def zappa_package(stage, output):
    output.unlink(missing_ok=True)
    env = {**os.environ, "VIRTUAL_ENV": str(VENV)}
    env["PATH"] = f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    for name in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH"):
        env.pop(name, None)
    zappa = str(VENV / "bin" / "zappa")
    run([zappa, "package", stage, "-o", str(output.relative_to(ROOT))], env=env)


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


def compile_tree(tree, *, sources):
    """Precompile everything; third-party modules become bytecode-only unless ``sources``.

    Returns how many .py files were dropped.
    """
    options = {
        "quiet": 1,
        # Unchecked: the zip's timestamps do not survive extraction exactly, and a
        # timestamp mismatch would make every cold start compile again.
        "invalidation_mode": py_compile.PycInvalidationMode.UNCHECKED_HASH,
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


def removal_reason(path, static_storage="whitenoise"):
    parts = path.parts
    if "tests" in parts[:-1] or (path.name == "tests" and len(parts) > 1):
        return "tests"
    if "locale" in parts[:-2]:
        # Files inside locale/<language>/; locale/__init__.py (Django's LANG_INFO) stays.
        language = parts[parts.index("locale") + 1]
        if language[0].isalpha() and language.split("_")[0] not in SITE_LANGUAGES:
            return "locales"
    if path.suffix == ".po":
        return "locales"  # catalogs' sources: gettext reads the compiled .mo
    if "static" in parts[1:-1] and parts[0] not in ("static", "var"):
        # Packages' static sources: collectstatic copied them into var/staticfiles.
        return "app static sources"
    if parts[0] == "static" and len(parts) > 1 and static_storage == "s3":
        return "app static sources"  # in the static bucket; only the manifest ships
    if path.name == "RECORD" and parts[0].endswith(".dist-info"):
        # The wheel's installed-files list, wrong once files are removed; never read.
        return "wheel records"
    text = str(path)
    if any(text == item or text.startswith(item + "/") for item in ZAPPA_UNUSED):
        return "zappa, unused"
    if text.startswith(NEVER_LOADED):
        return "never loaded"
    return None


def not_shipped(tree):
    """Distributions of NOT_SHIPPED found in the tree (by their .dist-info)."""
    found = set()
    for info in tree.glob("*.dist-info"):
        name = normalize(info.name.rsplit("-", 1)[0])
        if name in NOT_SHIPPED:
            found.add(name)
    return found


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


def static_storage(stage):
    """The stage's DJANGO_STATIC_STORAGE (zappa_settings.json); the environment overrides."""
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    configured = stages[stage].get("aws_environment_variables", {})
    return os.environ.get(
        "DJANGO_STATIC_STORAGE", configured.get("DJANGO_STATIC_STORAGE", "whitenoise")
    )


def sizes(package):
    """``(zipped, unzipped)`` bytes."""
    with zipfile.ZipFile(package) as archive:
        unzipped = sum(entry.file_size for entry in archive.infolist())
    return package.stat().st_size, unzipped


def check_limits(package):
    zipped, unzipped = sizes(package)
    print(f"{package.relative_to(ROOT)}: {mb(zipped)} zipped, {mb(unzipped)} unzipped")
    problems = []
    if zipped > MAX_ZIPPED:
        problems.append(f"{mb(zipped)} zipped is above Lambda's {mb(MAX_ZIPPED)}")
    if unzipped > MAX_UNZIPPED:
        problems.append(f"{mb(unzipped)} unzipped is above Lambda's {mb(MAX_UNZIPPED)}")
    if problems:
        raise PackageTooLarge(f"{package}: " + "; ".join(problems) + ".")
    return zipped, unzipped


def mb(size):
    return f"{size / 1024 / 1024:.1f} MiB"


def run(command, **kwargs):
    subprocess.run(command, cwd=ROOT, check=True, timeout=900, **kwargs)  # noqa: S603


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--output", help="Zip path (var/package/amphibian-<stage>.zip).")
    parser.add_argument(
        "--with-sources", action="store_true", help="Keep third-party .py files (larger zip)."
    )
    options = parser.parse_args(argv)
    if sys.version_info[:2] != (3, 11):
        raise SystemExit("Python 3.11 is needed: the bytecode must match the python3.11 runtime.")
    output = Path(options.output or WORK_DIR / f"amphibian-{options.stage}.zip").resolve()
    if not shutil.which(STRIP):
        raise SystemExit("strip is needed (binutils): apt-get install binutils")
    ensure_venv()
    storage = static_storage(options.stage)
    # Collected either way: with s3 for the manifest only, whose hashed names are those
    # `make collectstatic` uploads (both storages hash with Django's ManifestFilesMixin).
    static_dir = WORK_DIR / "staticfiles"
    collect_static(static_dir)
    zappa_package(options.stage, output)
    zipped, unzipped = sizes(output)
    print(f"zappa package: {mb(zipped)} zipped, {mb(unzipped)} unzipped")
    removed = rewrite(output, static_dir, static_storage=storage, sources=options.with_sources)
    print("removed: " + ", ".join(f"{count} {reason}" for reason, count in removed.items()))
    check_limits(output)


if __name__ == "__main__":
    main()

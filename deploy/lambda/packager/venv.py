"""The build virtualenv, var/package/venv, and the two commands run in it.

The venv holds the locked runtime requirements and Zappa's locked closure, hash-checked
(requirements/*.txt), and is remade when a lock changes. In it, ``collectstatic`` runs
with the lambda settings (runtime dependencies only, placeholder configuration: nothing
is contacted), then ``zappa package <stage>``: the project and the venv's site-packages
at the zip root, less the stage's ``exclude``/``exclude_glob``, plus Zappa's
zappa_settings.py.
"""

import os
import re
import shutil
import sys
from pathlib import Path

from . import ROOT, VENV, WORK_DIR, normalize, run

RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
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


def locked_blocks(lock_file):
    """``{name: (lines, via)}`` for each pinned requirement of a pip-compile lock file."""
    blocks: dict[str, tuple[list[str], set[str]]] = {}
    name: str | None = None
    via_open = False
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

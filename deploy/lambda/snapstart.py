"""What init prepares before a SnapStart snapshot, and what every restored copy redoes.

With SnapStart (``ApplyOn: PublishedVersions``) Lambda runs a published version's init once,
snapshots the execution environment's memory, and resumes each new instance from that
snapshot (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``). Whatever init computed is shared
by every copy, so init does all the work that is the same for every instance (``warm_up``,
which on-demand instances run too: their first request is then as cheap as the next), and
nothing that must differ between instances survives the snapshot:

- ``before_snapshot``: database connections closed, AWS clients (connection pools, the
  credentials of init) dropped, the next request makes new ones, lazily; init's objects
  frozen out of the garbage collector's reach (``gc.freeze``), so no collection after the
  restore walks the whole snapshot.
- ``after_restore``: ``random`` reseeded (a restore resumes the snapshot's generator state;
  ``secrets``, ``uuid4`` and ``os.urandom`` read the kernel and need nothing); the JWKS
  cooldown, the readiness cache and the process's local-memory caches forgotten (their
  times belong to the snapshot); the database secret read again if it is older than
  ``SNAPSTART_SECRET_MAX_AGE`` (RDS rotates it); then one JSON line with what it cost.

Nothing else may be unique to an instance and made at init: request ids, CSRF tokens, CSP
nonces and session keys are made per request (tests/test_snapstart.py checks the init).

The hooks are registered with ``snapshot_restore_py``, which Lambda's Python runtime
provides (never packaged; the dev venv has it through awslambdaric, for runlambda
--snapstart), and only when the instance is SnapStart's.
"""

import gc
import logging
import os
import random
import time
from pathlib import Path

logger = logging.getLogger(__name__)

SNAP_START = "snap-start"
# Re-read a database secret older than this after a restore (seconds; RDS rotates every 7 days).
DEFAULT_SECRET_MAX_AGE = 15 * 60

# What init's warm-up request answered (its status line), for the log and the tests.
warmed: dict[str, str | None] = {"home": None}
# The wall-clock time of before_snapshot, for the restore's line.
_snapshot: dict[str, float | None] = {"taken_at": None}


def is_snapstart():
    return os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == SNAP_START


def warm_up(application=None, script_prefixes=("/",)):
    """The work every first request would repeat, done at init: the URLconf and its reverse
    maps per language, every template of the project's apps compiled (the cached loader keeps
    them), the translation catalogs loaded, the JWKS seeded from its file (never fetched), the
    storages created (the static one with its manifest); then, with ``application``, one GET
    of the home page through it, which runs every middleware and the page's code once (the
    interpreter specialises what it has run). ``script_prefixes``: those requests will have
    (``/<stage>/`` on the execute-api URL). Returns ``{phase: ms}``."""
    from django.conf import settings
    from django.urls import get_resolver, set_script_prefix
    from django.utils import translation

    from apps.accounts import jwks

    phases = {}
    started = time.perf_counter()

    def done(phase):
        nonlocal started
        now = time.perf_counter()
        phases[phase] = round((now - started) * 1000, 2)
        started = now

    resolver = get_resolver()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            _compile_urls(resolver)
            for prefix in script_prefixes:
                set_script_prefix(prefix)
                _reverse_names(resolver)
    set_script_prefix("/")
    done("urls")
    templates = _compile_templates(settings.BASE_DIR)
    # What the first request imports by name from settings: context processors, the message
    # storage, the session serializer.
    from django.template import engines
    from django.utils.module_loading import import_string

    for backend in engines.all():
        django_engine = getattr(backend, "engine", None)  # DjangoTemplates' own Engine
        if django_engine is not None:
            django_engine.template_context_processors  # noqa: B018 - imports them
    for name in (settings.MESSAGE_STORAGE, settings.SESSION_SERIALIZER):
        import_string(name)
    done("templates")
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            translation.gettext("")  # the first lookup loads the language's catalogs
    done("translations")
    keys = jwks.warm()
    done("jwks")
    # The storages: S3's imports boto3 (a tenth of a second), and the static storage reads
    # its manifest; {% static %} on the first page would do both.
    from django.core.files.storage import storages

    for alias in settings.STORAGES:
        storages[alias]  # created and cached by the handler
    done("storages")
    status = warmed["home"] = _home_page(application, script_prefixes[-1]) if application else None
    done("home page")
    logger.debug(
        "warm-up",
        extra={"phases_ms": phases, "templates": templates, "keys": keys, "home": status},
    )
    return phases


WARM_UP_REQUEST_ID = "init-warm-up"
HOME_PAGE = "pages:home"


def _home_page(application, script_prefix):
    """GET the home page through ``application`` (WSGI) as an anonymous visitor over HTTPS;
    its status (the response is dropped). It makes only what every request makes and drops
    (a CSP nonce, a CSRF token); the request id is given, so none is drawn at init."""
    import io
    import sys

    from django.conf import settings
    from django.urls import NoReverseMatch, reverse
    from django.utils import translation

    hosts = [h for h in settings.ALLOWED_HOSTS if h and h[0] not in ".*"]
    host = getattr(settings, "CANONICAL_HOST", None) or (hosts[0] if hosts else None)
    if not host:
        return None
    with translation.override(settings.LANGUAGE_CODE):
        try:
            path = reverse(HOME_PAGE)
        except NoReverseMatch:  # a project without the pages app: its root
            path = "/"
    status = []
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": script_prefix.rstrip("/"),
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": host,
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": host,
        "HTTP_X_REQUEST_ID": WARM_UP_REQUEST_ID,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    try:
        body = application(environ, lambda line, headers, exc_info=None: status.append(line))
        for _chunk in body:
            pass
        getattr(body, "close", lambda: None)()
    except Exception:  # a warm-up: a page that fails here fails visibly on its request
        logger.warning("warm-up: the home page failed", exc_info=True)
        return None
    return status[0] if status else None


def _compile_urls(resolver):
    """Every pattern's regex (compiled per language, on first use) and every resolver's
    reverse maps, nested namespaces included, in the active language."""
    from django.urls import URLResolver

    resolver.reverse_dict  # noqa: B018 - populates this language's reverse map
    for entry in resolver.url_patterns:
        entry.pattern.regex  # noqa: B018
        if isinstance(entry, URLResolver):
            _compile_urls(entry)


def _reverse_names(resolver, namespace=""):
    """Every name that takes no arguments, reversed, in each namespace: Django builds (and
    caches) a resolver per namespace and language prefix on the first namespaced reverse, and
    compiles a regex per pattern and script prefix, which would otherwise be the first
    page's ``{% url %}``."""
    from django.urls import NoReverseMatch, reverse

    for name in [key for key in resolver.reverse_dict if isinstance(key, str)]:
        try:
            reverse(f"{namespace}{name}")
        except NoReverseMatch:  # it takes arguments
            continue
    for inner, (_pattern, sub) in list(resolver.namespace_dict.items()):
        _reverse_names(sub, f"{namespace}{inner}:")


def _compile_templates(base_dir):
    """Compile every template under the project's own apps (not Django's admin: a first
    request rarely needs it); the cached loader keeps the compiled ones."""
    from django.template import TemplateDoesNotExist, TemplateSyntaxError
    from django.template.loader import get_template
    from django.template.utils import get_app_template_dirs

    count = 0
    for directory in get_app_template_dirs("templates"):
        if not Path(directory).is_relative_to(base_dir):
            continue
        for path in sorted(Path(directory).rglob("*")):
            if path.suffix not in (".html", ".txt") or not path.is_file():
                continue
            try:
                get_template(path.relative_to(directory).as_posix())
                count += 1
            except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
                logger.warning("warm-up: template %s not compiled: %s", path.name, exc)
    return count


def before_snapshot():
    """Nothing that holds a socket or a credential goes into the snapshot."""
    from django.db import connections

    from apps.core import aws

    connections.close_all()
    aws.forget_clients()
    # Init's objects, collected once and then left alone by the collector: a collection
    # after the restore would walk (and fault in) every page of the snapshot's heap.
    gc.collect()
    gc.freeze()
    _snapshot["taken_at"] = time.time()


def after_restore():
    """Make this copy of the snapshot an instance of its own (see the module docstring)."""
    from django.conf import settings

    from apps.accounts import jwks
    from apps.core import health

    started = time.perf_counter()
    random.seed()
    jwks.forget_timers()
    health.forget()
    _clear_local_caches()
    refreshed = _refresh_database_secret(
        getattr(settings, "SNAPSTART_SECRET_MAX_AGE", DEFAULT_SECRET_MAX_AGE)
    )
    taken_at = _snapshot["taken_at"]
    logger.info(
        "snapstart restore",
        extra={
            "event": "snapstart.restore",
            "hooks_ms": round((time.perf_counter() - started) * 1000, 2),
            "snapshot_age_s": round(time.time() - taken_at, 1) if taken_at else None,
            "database_secret_refreshed": refreshed,
            "function_version": os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),
        },
    )


def _clear_local_caches():
    """Local-memory caches hold entries with init's timestamps; a shared cache is left alone."""
    from django.core.cache import caches
    from django.core.cache.backends.locmem import LocMemCache

    for cache in caches.all(initialized_only=True):
        if isinstance(cache, LocMemCache):
            cache.clear()


def _refresh_database_secret(max_age):
    """Point the default database at the secret's current password if the cached one is
    older than ``max_age``; True if it was read again."""
    from django.conf import settings
    from django.db import connections

    from project.settings import base, secrets

    url = secrets.refresh_database_url(max_age)
    if url is None or "default" not in settings.DATABASES:
        return False
    fresh = base.database_config(url)
    # The connection handler shares this dict with settings: updated in place, it is what
    # the next connection uses.
    settings.DATABASES["default"].update(
        {key: fresh[key] for key in ("USER", "PASSWORD", "HOST", "PORT", "NAME")}
    )
    connections["default"].close()
    return True


def register():
    """Register the hooks when this instance is SnapStart's (Lambda's runtime runs them)."""
    if not is_snapstart():
        return False
    from snapshot_restore_py import register_after_restore, register_before_snapshot

    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
    return True

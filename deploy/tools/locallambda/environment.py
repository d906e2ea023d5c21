"""The environment ``runlambda`` and ``invokelambda`` give the function, and how they print it.

Three starting points (``--environment``); this shell's environment is passed on, and
``--env NAME=VALUE`` overrides everything:

- ``local`` (the default): the running local stack's resources, static files and key set,
  and the local target's database and secret key, so a fresh clone runs the function with
  no variables at all, as ``make run`` runs the site;
- ``stage``: the stage's ``aws_environment_variables``, as deployed, the shell's overriding
  them (resource names must come from the shell, or the function reaches for the stage's);
- ``shell``: nothing but this shell's environment (the test harnesses set every variable).
"""

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

from apps.core import aws
from deploy.tools import staticfiles
from deploy.tools.harness.loopback import listening
from deploy.tools.localaws.environment import allow_upload_origin, stack_variables

LOCAL, STAGE, SHELL = "local", "stage", "shell"
MODES = (LOCAL, STAGE, SHELL)
# Set by manage.py for its own process; the function picks its settings like Lambda does.
NOT_INHERITED = ("DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME")
# Printed as "(set)": the values are local, but a printed secret ends up in pasted logs.
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PRIVATE|_TOKEN$", re.IGNORECASE)
# Where a package built for S3 static files keeps their manifest (deploy/lambda/packager).
PACKAGE_MANIFEST = Path("deploy") / "lambda" / "static-manifest"
PACKAGE_STATIC_ROOT = Path("var") / "staticfiles"


class LocalStackDown(ValueError):
    """The local stack is not answering, or was never provisioned."""


@dataclass
class Environment:
    """The function's variables, and which layer set each: ``local``, ``stage``, ``shell``
    or ``--env``, each overriding the ones before. ``chosen`` are the names this tool or
    its flags set (the rest is the shell's, passed on)."""

    variables: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    chosen: set = field(default_factory=set)

    def add(self, source, values):
        for name, value in values.items():
            self.variables[name] = value
            self.sources[name] = source
        if source != SHELL:
            self.chosen.update(values)

    def describe(self):
        """One line per chosen variable (secrets masked, the shell's overrides marked), then
        how many the shell adds."""
        lines = []
        for name in sorted(self.chosen):
            source = self.sources[name]
            note = {SHELL: "  (from this shell)", "--env": "  (--env)"}.get(source, "")
            lines.append(f"  {name}={_shown(name, self.variables[name])}{note}")
        passed_on = len(self.variables) - len(self.chosen)
        if passed_on:
            lines.append(f"  ... and {passed_on} variables of this shell, passed on")
        return lines


def build(mode, assignments, *, stage, shell=None, code_dir=None, kind=None, gateway_url=None):
    """The ``Environment`` for ``mode``, with ``shell`` (this process's environment by
    default) and ``assignments`` (``NAME=VALUE`` strings, last).

    The stage's variables give way to the shell's (point them at the local stack); the local
    stack's do not: they come from this process's settings, which have read the shell already
    (a ``DJANGO_DEPLOY_TARGET=local`` exported for manage.py must not reach the function).
    """
    environment = Environment()
    base = os.environ if shell is None else shell
    passed_on = {name: value for name, value in base.items() if name not in NOT_INHERITED}
    if mode == LOCAL:
        environment.add(SHELL, passed_on)
        environment.add(LOCAL, local_variables(stage, code_dir, kind, gateway_url))
    else:
        if mode == STAGE:
            environment.add(STAGE, stage.environment)
        environment.add(SHELL, passed_on)
    flags = {}
    for assignment in assignments:
        name, separator, value = assignment.partition("=")
        if not separator:
            raise ValueError(f"--env {assignment!r}: use NAME=VALUE.")
        flags[name] = value
    environment.add("--env", flags)
    return environment


def local_variables(stage, code_dir, kind, gateway_url):
    """What the function needs to run against the local stack, with nothing set by hand.

    The stack is this process's: the local settings point at it (LOCALAWS_PORT) and read the
    ids it generated. Raises ``LocalStackDown`` when it does not answer.
    """
    endpoint = settings.AWS_ENDPOINT_URL
    pool_id = getattr(settings, "COGNITO_USER_POOL_ID", None)
    address = urlsplit(endpoint or "")
    if not endpoint or not listening(address.hostname, address.port or 80) or not pool_id:
        raise LocalStackDown(
            f"The local AWS stack is not answering on {endpoint} (or has no user pool yet). "
            "Start it in another terminal with `make run` or `python manage.py localaws`, "
            "or pass --environment shell / stage to set the function's variables yourself."
        )
    variables = {
        "DJANGO_DEPLOY_TARGET": "lambda",
        **stack_variables(endpoint, pool_id, settings.COGNITO_APP_CLIENT_ID),
        # The local target's database and key: the local Lambda sees what runserver sees.
        "DATABASE_URL": database_url(),
        "DJANGO_SECRET_KEY": settings.SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CANONICAL_HOST": "",  # redirects stay on the loopback host asked for
        "DJANGO_SECURE_SSL_REDIRECT": "false",  # the local gateway speaks plain HTTP
        **static_variables(stage, code_dir, kind),
    }
    if gateway_url:
        # Tasks (thumbnails) invoke the function through the local gateway's Invoke API.
        variables["AWS_ENDPOINT_URL_LAMBDA"] = gateway_url
    return variables


def database_url():
    """The local target's database as a URL: DATABASE_URL, or its SQLite file."""
    if settings.DATABASE_URL:
        return settings.DATABASE_URL
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        raise ValueError("Set DATABASE_URL: the local Lambda is given the local database's URL.")
    return f"sqlite:///{database['NAME']}"


def static_variables(stage, code_dir, kind):
    """Static files as the package serves them: from the static bucket behind the "CDN" (the
    local stack stands in for it) unless the package carries them itself (whitenoise)."""
    if code_dir is not None and (Path(code_dir) / PACKAGE_STATIC_ROOT).is_dir():
        # Under API Gateway's stage URL, links need the stage (lambda settings).
        prefix = f"/{stage.name}" if kind in ("v1", "v2") else ""
        return {"DJANGO_STATIC_STORAGE": "whitenoise", "DJANGO_STATIC_URL": f"{prefix}/static/"}
    address = urlsplit(settings.AWS_ENDPOINT_URL)
    return {
        "DJANGO_STATIC_STORAGE": "s3",
        "STATIC_CDN_DOMAIN": f"{address.netloc}/{settings.STATIC_BUCKET}",
        "STATIC_CDN_PROTOCOL": "http:",
    }


def upload_static(environment, manifest_dir):
    """Hashed static files into the local static bucket, as the deploy puts them in a
    stage's, and their manifest into ``manifest_dir`` (a source copy's; a built package
    ships its own, with the same hashed names): ``deploy.tools.staticfiles``."""
    variables = environment.variables
    if variables.get("DJANGO_STATIC_STORAGE") != "s3":
        return
    s3 = aws.client("s3", endpoint=variables["AWS_ENDPOINT_URL"])
    try:
        staticfiles.publish(s3, variables, manifest_dir)
    except RuntimeError as exc:
        raise ValueError(f"Static files to the local stack: {exc}") from exc


def allow_gateway_origin(environment, gateway_url):
    """Browsers on the local gateway's origin may upload to the local media bucket."""
    variables = environment.variables
    s3 = aws.client("s3", endpoint=variables["AWS_ENDPOINT_URL"])
    allow_upload_origin(s3, variables["MEDIA_BUCKET"], gateway_url)


def _shown(name, value):
    if SECRET_NAME.search(name):
        return f"(set, {len(value)} characters)" if value else ""
    parts = urlsplit(value) if "://" in value else None
    if parts and parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return value

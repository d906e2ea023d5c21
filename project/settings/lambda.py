"""Lambda target: our handler (deploy/lambda) in front of ``project.wsgi``, through Zappa."""

from .secrets import load_into_environ

# Secrets from SSM Parameter Store when SECRETS_SSM_PATH is set (one call, at cold start),
# placed in the environment before base.py and env.require() below read it.
load_into_environ()

from .base import *  # noqa: E402, F403
from .base import BASE_DIR, DEPLOYED_REQUIRED_ENV, MIDDLEWARE, deployed_database, env  # noqa: E402

env.require(DEPLOYED_REQUIRED_ENV, "lambda")

# One request at a time per instance: a warm instance reuses its connection (through RDS
# Proxy, which pools them across instances) for 5 minutes; a frozen one is checked first.
DATABASES = deployed_database(default_max_age=300)

# Static files: "s3" puts them in STATIC_BUCKET behind the CDN, so no asset costs an
# invocation (run `make collectstatic STAGE=...` before packaging); "whitenoise" serves
# them from the package, for a first deploy without a CDN.
if env.get("DJANGO_STATIC_STORAGE", "whitenoise") == "s3":
    env.require(("STATIC_BUCKET", "STATIC_CDN_DOMAIN"), "lambda target with S3 static files")
    STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "apps.core.storage.StaticStorage"}}  # noqa: F405
    STATIC_URL = f"{STATIC_CDN_PROTOCOL}//{STATIC_CDN_DOMAIN}/static/"  # noqa: F405
    # Nothing for whitenoise to serve, and no STATIC_ROOT in the package to look for.
    MIDDLEWARE = [name for name in MIDDLEWARE if not name.startswith("whitenoise.")]
    STATIC_ROOT = None
    # Written by `make collectstatic`, shipped in the package (deploy/lambda/package.py).
    STATIC_MANIFEST_DIR = env.get(
        "DJANGO_STATIC_MANIFEST_DIR", str(BASE_DIR / "deploy" / "lambda" / "static-manifest")
    )
else:
    # Under API Gateway's stage URL, links need the stage (DJANGO_STATIC_URL=/dev/static/);
    # a relative STATIC_URL would not do: Django resolves it once, before any request has
    # told it the prefix. Requests reach whitenoise without the stage: it serves /static/.
    STATIC_URL = env.get("DJANGO_STATIC_URL", "/static/")
    WHITENOISE_STATIC_PREFIX = "/static/"

# A Lambda request body stops at 6 MB (base64 for binary makes a 4.5 MB file 6 MB).
FILES_FALLBACK_MAX_BYTES = env.as_int("FILES_FALLBACK_MAX_BYTES", 4 * 1024 * 1024)

# Asynchronous self-invocation; Zappa routes the payload to the task runner.
TASKS = {"default": {"BACKEND": "deploy.lambda.tasks.LambdaInvokeBackend"}}
# Failed invocations (tasks, S3 notifications, schedules) land in TASKS_FAILED_QUEUE_URL.
TASKS_FAILURES = "deploy.lambda.tasks.FailedInvocations"

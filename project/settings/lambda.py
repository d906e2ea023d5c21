"""Lambda target: Zappa's handler in front of ``project.wsgi``."""

from .base import *  # noqa: F403
from .base import DEPLOYED_REQUIRED_ENV, env

DEPLOY_TARGET = "lambda"
env.require(DEPLOYED_REQUIRED_ENV, DEPLOY_TARGET)

# A Lambda request body stops at 6 MB (base64 for binary makes a 4.5 MB file 6 MB).
FILES_FALLBACK_MAX_BYTES = env.as_int("FILES_FALLBACK_MAX_BYTES", 4 * 1024 * 1024)

# Asynchronous self-invocation; Zappa routes the payload to the task runner.
TASKS = {"default": {"BACKEND": "apps.core.tasks.lambda_backend.LambdaInvokeBackend"}}

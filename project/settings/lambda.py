"""Lambda target: Zappa's handler in front of ``project.wsgi``."""

from .base import *  # noqa: F403
from .base import DEPLOYED_REQUIRED_ENV, env

DEPLOY_TARGET = "lambda"
env.require(DEPLOYED_REQUIRED_ENV, DEPLOY_TARGET)

# Asynchronous self-invocation; Zappa routes the payload to the task runner.
TASKS = {"default": {"BACKEND": "apps.core.tasks.lambda_backend.LambdaInvokeBackend"}}

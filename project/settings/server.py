"""Server target: gunicorn on EC2 or in a container, behind nginx or a load balancer."""

from .base import *  # noqa: F403
from .base import DEPLOYED_REQUIRED_ENV, env

DEPLOY_TARGET = "server"
env.require(DEPLOYED_REQUIRED_ENV, DEPLOY_TARGET)

# The database queue; `manage.py db_worker` runs it (a second process or service).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

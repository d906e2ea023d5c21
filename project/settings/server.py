"""Server target: gunicorn on EC2 or in a container, behind nginx or a load balancer."""

from .secrets import load_into_environ

# Secrets from SSM Parameter Store when SECRETS_SSM_PATH is set (one call, at start-up),
# placed in the environment before base.py and env.require() below read it.
load_into_environ()

from .base import *  # noqa: E402, F403
from .base import DEPLOYED_REQUIRED_ENV, deployed_database, env  # noqa: E402

env.require(DEPLOYED_REQUIRED_ENV, "server")

# nginx (EC2) or the load balancer (containers) appends the address it saw; EC2 behind
# an ALB and nginx has two (DJANGO_TRUSTED_PROXY_COUNT=2).
TRUSTED_PROXY_COUNT = env.as_int("DJANGO_TRUSTED_PROXY_COUNT", 1)

# Long-lived worker processes keep their connection for 10 minutes.
DATABASES = deployed_database(default_max_age=600)

# Shared cache (ElastiCache) when there is one: rate limits may then count in it
# (RATE_LIMIT_BACKEND=cache). Otherwise each worker process has its own memory, and the
# limits count in DynamoDB (RATE_LIMITS_TABLE).
REDIS_URL = env.get("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "amphibian",
            "OPTIONS": {
                "socket_connect_timeout": env.as_float("REDIS_CONNECT_TIMEOUT", 1.0),
                "socket_timeout": env.as_float("REDIS_TIMEOUT", 1.0),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# The database queue; `manage.py db_worker` runs it (a second process or service).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

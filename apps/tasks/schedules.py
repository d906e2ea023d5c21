"""One registry of scheduled jobs (``settings.SCHEDULES``), and running a job by name.

    SCHEDULES = {
        "purge-idempotency-keys": {
            "schedule": "rate(1 day)",          # EventBridge rate() or cron() syntax
            "callable": "apps.tasks.idempotency.purge_expired_keys",
            # or "command": "clearsessions"    # a management command instead
            "targets": ["server"],             # optional: where it is scheduled (default all
                                               # of settings.SCHEDULE_TARGETS)
        },
    }

Each deploy target turns the registry into its own scheduler's entries: Zappa schedule
events (``deploy/lambda/schedules.py``), systemd timers (``deploy/ec2/timers.py``); ``manage.py
schedules --write`` writes both and ``--check`` fails when they disagree with the registry.
``manage.py runschedule NAME`` runs a job by hand anywhere.
"""

import logging
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_EXPRESSION = re.compile(r"^(rate\(\d+ [a-z]+\)|cron\(\S+( \S+){5}\))$")


def jobs():
    """The validated registry: ``{name: job}``."""
    registry = settings.SCHEDULES
    for name, job in registry.items():
        if not _NAME.match(name):
            raise ImproperlyConfigured(
                f"Schedule name {name!r}: use lowercase letters, digits and dashes."
            )
        if ("callable" in job) == ("command" in job):
            raise ImproperlyConfigured(
                f"Schedule {name!r} needs exactly one of callable, command."
            )
        if not _EXPRESSION.match(job.get("schedule", "")):
            raise ImproperlyConfigured(
                f"Schedule {name!r}: {job.get('schedule')!r} is neither rate(N unit) nor "
                "cron() with six fields (EventBridge's syntax)."
            )
        targets = settings.SCHEDULE_TARGETS
        unknown = set(job.get("targets", targets)) - set(targets)
        if unknown:
            raise ImproperlyConfigured(f"Schedule {name!r}: unknown targets {sorted(unknown)}.")
    return registry


def jobs_for(target):
    """The jobs scheduled on ``target`` (every job names its targets, or runs on all)."""
    targets = settings.SCHEDULE_TARGETS
    return {name: job for name, job in jobs().items() if target in job.get("targets", targets)}


def run_job(name):
    """Run one job now, in this process."""
    registry = jobs()
    if name not in registry:
        raise KeyError(f"No scheduled job {name!r}; known: {', '.join(sorted(registry))}.")
    job = registry[name]
    logger.info("running scheduled job %s", name, extra={"job": name})
    if "command" in job:
        return call_command(*job["command"].split())
    return import_string(job["callable"])()

"""settings.SCHEDULES on Lambda: Zappa schedule events, and the function their rules call."""

from django.core.exceptions import ImproperlyConfigured

from apps.tasks import schedules

SCHEDULED_ENTRY_POINT = "deploy.lambda.schedules.run_scheduled"
# Zappa names each rule "<job>-<entry point>" and EventBridge allows 63 characters.
MAX_NAME_LENGTH = 63 - 1 - len(SCHEDULED_ENTRY_POINT)


def run_scheduled(event, context=None):
    """Zappa's entry for schedule events: the rule passes the job name in ``kwargs``."""
    return schedules.run_job(event["kwargs"]["job"])


def zappa_events():
    """The stage ``events`` for every job scheduled on the lambda target."""
    jobs = schedules.jobs_for("lambda")
    for name in jobs:
        if len(name) > MAX_NAME_LENGTH:
            raise ImproperlyConfigured(
                f"Schedule name {name!r}: at most {MAX_NAME_LENGTH} characters on the lambda "
                "target (Zappa's rule names are limited)."
            )
    return [
        {
            "name": name,
            "function": SCHEDULED_ENTRY_POINT,
            "expression": job["schedule"],
            "kwargs": {"job": name},
            "description": job.get("description", name),
        }
        for name, job in sorted(jobs.items())
    ]

"""Tasks the background-work tests enqueue (module level, as every backend requires)."""

from django_tasks import task

from apps.tasks.idempotency import once


@task
def add_and_record(key, numbers):
    """Sum ``numbers``; the side effect (an idempotency key) must happen once per ``key``."""
    with once(f"sample:{key}"):
        pass
    return sum(numbers)


@task
def explode(message):
    raise ValueError(message)

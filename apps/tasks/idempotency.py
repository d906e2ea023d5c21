"""Make a task's side effects happen once, however often the task is delivered.

Lambda retries a failed asynchronous invocation up to twice and may deliver one twice; a
worker can die after the work and before marking it done. So tasks are idempotent by
contract, and this helper records a key in the same transaction as the side effect::

    @task
    def make_thumbnail(file_id):
        with once(f"thumbnail:{file_id}") as first:
            if first:
                ...  # database writes here commit together with the key

If the body raises, the key is rolled back with everything else and a retry runs again.
For effects outside the database (an email, an S3 write), record the key first and make
the effect itself safe to repeat (deterministic S3 keys, provider idempotency tokens).
"""

import datetime
from contextlib import contextmanager

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.tasks.models import IdempotencyKey

KEY_RETENTION = datetime.timedelta(days=30)


@contextmanager
def once(key):
    """Yield True the first time ``key`` is seen (inside one transaction), else False."""
    with transaction.atomic():
        try:
            with transaction.atomic():
                IdempotencyKey.objects.create(key=key)
        except IntegrityError:
            yield False
            return
        yield True


def purge_expired_keys(retention=KEY_RETENTION):
    """Forget keys older than ``retention``: longer than any retry or redelivery window."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=timezone.now() - retention).delete()
    return deleted

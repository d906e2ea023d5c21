from django.db import models


class IdempotencyKey(models.Model):
    """A side effect that has happened: its key is recorded in the same transaction.

    See ``apps.tasks.idempotency.once``. Old keys are purged by a scheduled job.
    """

    key = models.CharField(max_length=255, primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self):
        return self.key

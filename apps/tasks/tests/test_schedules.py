"""The schedule registry: validation, and running a job by hand."""

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.tasks import schedules
from apps.tasks.models import IdempotencyKey


@pytest.mark.django_db
def test_purge_job_runs_by_hand():
    old = IdempotencyKey.objects.create(key="old")
    IdempotencyKey.objects.filter(key="old").update(
        created_at=timezone.now() - datetime.timedelta(days=31)
    )
    IdempotencyKey.objects.create(key="recent")
    call_command("runschedule", "purge-idempotency-keys")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["recent"]
    assert not IdempotencyKey.objects.filter(pk=old.pk).exists()


def test_unknown_job_is_a_clear_error():
    with pytest.raises(CommandError, match="No scheduled job 'nope'; known: "):
        call_command("runschedule", "nope")


def test_bad_registry_entries_are_refused(settings):
    settings.SCHEDULES = {"Bad Name": {"schedule": "rate(1 day)", "callable": "x.y"}}
    with pytest.raises(ImproperlyConfigured, match="lowercase"):
        schedules.jobs()
    settings.SCHEDULES = {"both": {"schedule": "rate(1 day)", "callable": "x.y", "command": "z"}}
    with pytest.raises(ImproperlyConfigured, match="exactly one"):
        schedules.jobs()
    settings.SCHEDULES = {"where": {"schedule": "rate(1 day)", "command": "z", "targets": ["k8s"]}}
    with pytest.raises(ImproperlyConfigured, match="unknown targets"):
        schedules.jobs()
    settings.SCHEDULES = {"vague": {"schedule": "every day", "command": "z"}}
    with pytest.raises(ImproperlyConfigured, match="neither rate"):
        schedules.jobs()

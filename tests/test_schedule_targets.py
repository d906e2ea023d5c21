"""What each deploy target makes of settings.SCHEDULES: Zappa events and systemd timers."""

import importlib
import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command

from apps.tasks import schedules
from deploy.ec2 import timers
from deploy.tools.harness.processes import ROOT

lambda_schedules = importlib.import_module("deploy.lambda.schedules")


def test_committed_files_match_the_registry():
    call_command("schedules", "--check")


def test_zappa_events_and_systemd_units_cover_the_registry(settings):
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    for stage in stages.values():
        scheduled = {
            event["kwargs"]["job"]: event["expression"]
            for event in stage["events"]
            if event["function"] == lambda_schedules.SCHEDULED_ENTRY_POINT
        }
        assert scheduled == {
            name: job["schedule"] for name, job in schedules.jobs_for("lambda").items()
        }
    units = {path.name for path in (ROOT / "deploy/ec2/systemd").glob("amphibian-job-*")}
    for name in schedules.jobs_for("server"):
        assert {f"amphibian-job-{name}.service", f"amphibian-job-{name}.timer"} <= units


def test_a_registry_change_makes_the_check_fail(settings):
    settings.SCHEDULES = {
        **settings.SCHEDULES,
        "nightly-report": {"schedule": "cron(0 2 * * ? *)", "callable": "builtins.print"},
    }
    with pytest.raises(CommandError, match=r"Out of date.*zappa_settings\.json.*nightly-report"):
        call_command("schedules", "--check")


def test_write_keeps_other_zappa_events(settings, tmp_path):
    (tmp_path / "zappa_settings.json").write_text(
        json.dumps(
            {
                "dev": {
                    "events": [
                        {"function": "apps.files.events.object_created", "event_source": {}},
                        {
                            "function": lambda_schedules.SCHEDULED_ENTRY_POINT,
                            "kwargs": {"job": "gone"},
                        },
                    ]
                }
            }
        )
    )
    settings.BASE_DIR = tmp_path
    call_command("schedules", "--write")
    events = json.loads((tmp_path / "zappa_settings.json").read_text())["dev"]["events"]
    assert events[0]["function"] == "apps.files.events.object_created"
    assert [e["kwargs"]["job"] for e in events[1:]] == sorted(schedules.jobs_for("lambda"))
    call_command("schedules", "--check")


@pytest.mark.parametrize(
    ("expression", "timer"),
    [
        ("rate(1 day)", "OnBootSec=1d\nOnUnitActiveSec=1d"),
        ("rate(15 minutes)", "OnBootSec=15min\nOnUnitActiveSec=15min"),
        ("rate(2 hours)", "OnBootSec=2h\nOnUnitActiveSec=2h"),
        ("cron(17 3 * * ? *)", "OnCalendar=*-*-* 3:17:00"),
        ("cron(0/15 * * * ? *)", "OnCalendar=*-*-* *:0/15:00"),
        ("cron(0 9 ? * MON-FRI *)", "OnCalendar=Mon..Fri *-*-* 9:0:00"),
        ("cron(30 6 ? * 1,7 *)", "OnCalendar=Sun,Sat *-*-* 6:30:00"),
        ("cron(0 0 1 1,7 ? 2027)", "OnCalendar=2027-1,7-1 0:0:00"),
    ],
)
def test_eventbridge_expressions_become_systemd_timers(expression, timer):
    assert timers.on_calendar(expression) == timer


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 days)",
        "rate(1 week)",
        "cron(0 0 L * ? *)",
        "cron(0 0 * * * *)",
        "cron(0 0 * *)",
        "every day",
        "cron(0 10 ? * 6#3 *)",
    ],
)
def test_untranslatable_expressions_are_refused(expression):
    with pytest.raises(ImproperlyConfigured):
        timers.on_calendar(expression)


def test_names_fit_zappas_rule_name_limit(settings):
    for name in schedules.jobs_for("lambda"):
        assert len(f"{name}-{lambda_schedules.SCHEDULED_ENTRY_POINT}") <= 63
    settings.SCHEDULES = {
        "a-very-long-job-name-here-x": {"schedule": "rate(1 day)", "command": "x"}
    }
    with pytest.raises(ImproperlyConfigured, match="at most 25 characters"):
        lambda_schedules.zappa_events()


@pytest.mark.django_db
def test_zappa_schedule_event_runs_the_job():
    event = {"detail-type": "Scheduled Event", "kwargs": {"job": "purge-idempotency-keys"}}
    assert lambda_schedules.run_scheduled(event, None) == 0

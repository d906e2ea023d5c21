"""Keep Zappa events and systemd timers in step with settings.SCHEDULES.

``manage.py schedules --write`` rewrites the ``events`` of every stage in
zappa_settings.json (other events there, such as S3 triggers, are kept) and the unit files
in deploy/ec2/systemd/; ``--check`` exits non-zero if either is out of date.
"""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deploy.ec2 import timers
from deploy.tools import lambda_module


class Command(BaseCommand):
    help = "Generate (--write) or verify (--check) Zappa events and systemd timers."

    def add_arguments(self, parser):
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--write", action="store_true")
        mode.add_argument("--check", action="store_true")

    def handle(self, *args, write, check, **options):
        root = Path(settings.BASE_DIR)
        expected = {
            root / "zappa_settings.json": _zappa_settings(root / "zappa_settings.json"),
            **{
                root / "deploy" / "ec2" / "systemd" / name: content
                for name, content in timers.systemd_units().items()
            },
        }
        unit_dir = root / "deploy" / "ec2" / "systemd"
        stale_units = [
            path for path in sorted(unit_dir.glob("amphibian-job-*")) if path not in expected
        ]
        outdated = [
            path for path, content in expected.items() if _read(path) != content
        ] + stale_units
        if check:
            if outdated:
                names = ", ".join(str(path.relative_to(root)) for path in outdated)
                raise CommandError(
                    f"Out of date with settings.SCHEDULES: {names}. "
                    "Run `python manage.py schedules --write`."
                )
            self.stdout.write("Zappa events and systemd timers match settings.SCHEDULES.")
            return
        unit_dir.mkdir(parents=True, exist_ok=True)
        for path, content in expected.items():
            if _read(path) != content:
                path.write_text(content)
                self.stdout.write(f"wrote {path.relative_to(root)}")
        for path in stale_units:
            path.unlink()
            self.stdout.write(f"removed {path.relative_to(root)}")


def _read(path):
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _zappa_settings(path):
    """zappa_settings.json with each stage's scheduled events replaced by the registry's."""
    stages = json.loads(path.read_text())
    lambda_schedules = lambda_module("schedules")
    generated = lambda_schedules.zappa_events()
    for stage in stages.values():
        kept = [
            event
            for event in stage.get("events", [])
            if event.get("function") != lambda_schedules.SCHEDULED_ENTRY_POINT
        ]
        stage["events"] = kept + generated
    return json.dumps(stages, indent=4) + "\n"

"""Run one scheduled job by hand: ``manage.py runschedule NAME`` (systemd timers call it too)."""

from django.core.management.base import BaseCommand, CommandError

from apps.tasks import schedules


class Command(BaseCommand):
    help = "Run one job of settings.SCHEDULES now, in this process."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?")
        parser.add_argument(
            "--list", action="store_true", dest="list_jobs", help="List the jobs and exit."
        )

    def handle(self, *args, name, list_jobs, **options):
        registry = schedules.jobs()
        if list_jobs or not name:
            for job_name, job in sorted(registry.items()):
                target = job.get("callable") or f"manage.py {job['command']}"
                self.stdout.write(f"{job_name:32} {job['schedule']:24} {target}")
            return
        try:
            result = schedules.run_job(name)
        except KeyError as exc:
            raise CommandError(exc.args[0]) from None
        self.stdout.write(f"{name}: done" + (f" ({result})" if result is not None else ""))

"""List failed background work and enqueue it again: ``manage.py failedtasks`` (see
``apps.tasks.failures``)."""

import json

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from apps.tasks.failures import FailureSourceUnavailable, RedriveFailed, failure_source


class Command(BaseCommand):
    help = (
        "List background work that failed for good (tasks, and on Lambda S3 notifications and "
        "schedule events), or enqueue it again with --redrive ID ... / --redrive-all."
    )

    def add_arguments(self, parser):
        redrive = parser.add_mutually_exclusive_group()
        redrive.add_argument(
            "--redrive", nargs="+", metavar="ID", help="Enqueue these failures again."
        )
        redrive.add_argument(
            "--redrive-all", action="store_true", help="Enqueue every listed failure again."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="With --redrive: say what would be redriven."
        )
        parser.add_argument("--json", action="store_true", dest="as_json", help="Print JSON.")

    def handle(self, *args, redrive, redrive_all, dry_run, as_json, **options):
        if dry_run and not (redrive or redrive_all):
            raise CommandError("--dry-run goes with --redrive or --redrive-all.")
        try:
            source = failure_source()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        try:
            with source:
                failures = list(source.list())
                if redrive or redrive_all:
                    self.redrive(source, failures, redrive, dry_run, as_json)
                else:
                    self.show(source, failures, as_json)
        except FailureSourceUnavailable as exc:
            raise CommandError(str(exc)) from exc

    def show(self, source, failures, as_json):
        if as_json:
            self.stdout.write(json.dumps([failure.as_dict() for failure in failures], indent=2))
            return
        if not failures:
            self.stdout.write(f"No failed background work in {source.description}.")
            return
        self.stdout.write(f"{len(failures)} failed in {source.description}:")
        for failure in failures:
            when = failure.failed_at.strftime("%Y-%m-%d %H:%M:%S %Z") if failure.failed_at else "?"
            self.stdout.write(f"\n{failure.id}  {when}  {failure.kind}  {failure.what}")
            why = ": ".join(part for part in (failure.error_type, failure.error_message) if part)
            details = [failure.condition] if failure.condition else []
            if failure.attempts is not None:
                details.append(f"{failure.attempts} attempt{'s' * (failure.attempts != 1)}")
            details_text = f" ({', '.join(details)})" if details else ""
            self.stdout.write(f"    why: {why or 'unknown'}{details_text}")

    def redrive(self, source, failures, ids, dry_run, as_json):
        if ids:
            selected = [f for f in failures if f.id in ids or (f.task_id and f.task_id in ids)]
            matched = {f.id for f in selected} | {f.task_id for f in selected}
            unknown = [wanted for wanted in ids if wanted not in matched]
            if unknown:
                raise CommandError(
                    f"Not in {source.description}: {', '.join(unknown)}. Nothing was redriven; "
                    "`manage.py failedtasks` lists what is there."
                )
        else:
            selected = failures
        outcomes = []  # (failure, outcome, why it was refused)
        for failure in selected:
            if dry_run:
                outcomes.append((failure, "would be redriven", ""))
                continue
            try:
                source.redrive(failure)
            except RedriveFailed as exc:
                outcomes.append((failure, "refused", str(exc)))
            else:
                outcomes.append((failure, "redriven", ""))
        if as_json:
            rows = [
                {**f.as_dict(), "outcome": outcome, "reason": why} for f, outcome, why in outcomes
            ]
            self.stdout.write(json.dumps(rows, indent=2))
        else:
            for failure, outcome, why in outcomes:
                text = f"not redriven, still listed: {why}" if why else outcome
                self.stdout.write(f"{failure.id}  {failure.what}: {text}")
            if not outcomes:
                self.stdout.write(f"No failed background work in {source.description}.")
        refused = [failure.id for failure, outcome, _ in outcomes if outcome == "refused"]
        if refused:
            raise CommandError(
                f"{len(refused)} of {len(outcomes)} not redriven; they stay listed: "
                + ", ".join(refused)
            )

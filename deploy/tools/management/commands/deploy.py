"""Deploy a stage to the AWS account of the current credentials (``make deploy``).

    manage.py deploy prod                   # the Lambda world: stack, ..., smoke check
    manage.py deploy prod --plan            # what would change; changes nothing
    manage.py deploy prod --world server    # the server world: stack, image, ECS service
    manage.py deploy prod --step stack --step environment    # some steps only, in order
    manage.py deploy prod --rollback [--to 12]          # the live alias moved back

The steps are in deploy/tools/deploy/ (its docstring). Credentials and region come from the
standard chain (AWS_PROFILE, AWS_ACCESS_KEY_ID..., the stage's aws_region); the endpoint
variables (AWS_ENDPOINT_URL) point it at an emulated account, as ``make test-deploy`` does.
"""

from django.core.management.base import BaseCommand, CommandError

from deploy.tools.deploy import function, server, versions
from deploy.tools.deploy.steps import Context, DeployError, Step, StepFailed, run

WORLDS = {"lambda": function.STEPS, "server": server.STEPS}
ROLLBACK_HINT = "check the credentials may call lambda:GetAlias and lambda:UpdateAlias"


class Command(BaseCommand):
    help = "Deploy a stage to AWS, idempotently: only what differs changes (--plan: nothing)."

    def add_arguments(self, parser):
        parser.add_argument("stage", help="A stage of zappa_settings.json (dev, prod).")
        parser.add_argument("--world", choices=sorted(WORLDS), default="lambda")
        parser.add_argument(
            "--plan", action="store_true", help="Print what would change; change nothing."
        )
        parser.add_argument(
            "--step",
            action="append",
            dest="only",
            metavar="NAME",
            help="Run only this step (repeatable; in the world's order). Steps: "
            + "; ".join(f"{w}: {', '.join(s.name for s in steps)}" for w, steps in WORLDS.items()),
        )
        parser.add_argument(
            "--rollback",
            action="store_true",
            help=f"Move the function's {versions.LIVE} alias back to the previous release "
            "(recorded by each deploy) or to --to VERSION; nothing else changes.",
        )
        parser.add_argument(
            "--to", metavar="VERSION", help="With --rollback: the version to move to."
        )

    def handle(self, *args, stage, world, plan, only, rollback, to, **options):
        steps = WORLDS[world]
        if to and not rollback:
            raise CommandError("--to goes with --rollback.")
        if rollback:
            if world != "lambda" or only:
                raise CommandError(
                    "--rollback moves the Lambda world's alias; no --world, --step."
                )
            # The version to move to, then every caller that checks a release follows.
            steps = [
                Step("rollback", lambda c: versions.rollback(c, to), "check lambda:UpdateAlias"),
                next(step for step in function.STEPS if step.name == "smoke"),
            ]
        elif only:
            unknown = sorted(set(only) - {step.name for step in steps})
            if unknown:
                raise CommandError(f"No step {', '.join(unknown)} in the {world} world.")
            steps = [step for step in steps if step.name in only]
        context = Context(stage=stage, plan=plan, out=self.stdout.write)
        try:
            context.stage_settings  # noqa: B018 - fails early, naming the stages
            run(steps, context)
        except (StepFailed, DeployError) as exc:
            raise CommandError(str(exc)) from exc

"""Turn the CloudFormation stack's outputs (deploy/aws) into a deploy target's environment.

    manage.py stackenv --stack amphibian-prod                      # env file (EC2, containers)
    manage.py stackenv --stack amphibian-dev --format zappa --stage dev          # print JSON
    manage.py stackenv --stack amphibian-dev --format zappa --stage dev --write  # update file
    aws cloudformation describe-stacks --stack-name amphibian-dev | manage.py stackenv --outputs -

``--stack`` reads the outputs through ``apps.core.aws`` with the current settings' endpoint and
credentials (the local target's point at the local stack); ``--outputs`` takes the JSON of
``aws cloudformation describe-stacks`` instead, which is what ``make deploy-infra`` uses.
What comes from the stack, and how: deploy/tools/deploy/outputs.py.
"""

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from deploy.tools.deploy.outputs import (
    STACK_OUTPUTS,
    TARGET_ENV,
    environment_from_outputs,
    outputs_from_describe_stacks,
    stack_outputs,
    write_zappa_stage,
    zappa_stage_settings,
)

__all__ = ["STACK_OUTPUTS", "Command"]


class Command(BaseCommand):
    help = (
        "Print (or, for Zappa, write) a deploy target's environment from the outputs of the "
        "deploy/aws CloudFormation stack."
    )

    def add_arguments(self, parser):
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--stack", help="CloudFormation stack name (read through boto3).")
        source.add_argument(
            "--outputs",
            help="File with `aws cloudformation describe-stacks` JSON, or - for stdin.",
        )
        parser.add_argument(
            "--format",
            dest="target_format",
            choices=sorted(TARGET_ENV),
            default="env",
            help="env: an env file (EC2, containers); zappa: a stage's aws_environment_variables.",
        )
        parser.add_argument("--stage", help="Zappa stage (with --format zappa).")
        parser.add_argument(
            "--write",
            action="store_true",
            help="Update the stage's aws_environment_variables in --zappa-settings in place.",
        )
        parser.add_argument(
            "--zappa-settings",
            default=str(Path(settings.BASE_DIR) / "zappa_settings.json"),
            help="Path of zappa_settings.json (default: the project's).",
        )

    def handle(
        self, *args, stack, outputs, target_format, stage, write, zappa_settings, **options
    ):
        if target_format == "zappa" and not stage:
            raise CommandError("--format zappa needs --stage.")
        if write and target_format != "zappa":
            raise CommandError("--write only updates zappa_settings.json; use --format zappa.")
        if stack:
            found = stack_outputs(stack)
        else:
            text = sys.stdin.read() if outputs == "-" else Path(outputs).read_text()
            found = outputs_from_describe_stacks(text)
            stack = outputs
        variables, missing = environment_from_outputs(found, target_format)
        stage_settings = {}
        if target_format == "zappa":
            stage_settings, missing_settings = zappa_stage_settings(found)
            missing += missing_settings
        if missing:
            self.stderr.write(f"Not in the outputs of {stack}: {', '.join(missing)}")
        if any("\n" in value for value in variables.values()):
            raise CommandError(f"An output of {stack} spans lines; it cannot be an env value.")
        if target_format == "env":
            self.stdout.write("".join(f"{name}={value}\n" for name, value in variables.items()))
        elif write:
            changed = write_zappa_stage(zappa_settings, stage, variables, stage_settings)
            state = "Updated" if changed else "No change to"
            self.stderr.write(f"{state} stage {stage} in {zappa_settings}")
        else:
            document = {"aws_environment_variables": variables, **stage_settings}
            self.stdout.write(json.dumps(document, indent=4))

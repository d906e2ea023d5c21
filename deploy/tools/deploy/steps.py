"""The deploy's runner: steps in order, each comparing before it acts, stopping at a failure."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from django.conf import settings

# Zappa names its own CloudFormation stack (the API) after the function, amphibian-<stage>:
# the shared resources' stack takes another name.
STACK_NAME = "amphibian-{stage}-infra"
TEMPLATE = Path("deploy") / "aws" / "amphibian.yaml"
PARAMETERS = Path("deploy") / "aws" / "parameters"
# CloudFormation's limit on a template passed inline; a larger one goes through S3.
TEMPLATE_BODY_LIMIT = 51_200


class DeployError(Exception):
    """A step could not do its part; ``next_step`` says what the operator should do."""

    def __init__(self, message, next_step):
        super().__init__(message)
        self.next_step = next_step


@dataclass
class Outcome:
    """What a step found, and whether it changed (or, planning, would change) anything."""

    changed: bool
    summary: str


@dataclass
class Step:
    name: str
    run: Callable[["Context"], Outcome]
    # What to do when AWS refuses the step's calls (a DeployError carries its own).
    hint: str


@dataclass
class Context:
    """What the steps share: the stage, the tree they deploy from, the AWS session."""

    stage: str
    root: Path = field(default_factory=lambda: Path(settings.BASE_DIR))
    plan: bool = False
    out: Callable[[str], None] = print
    outputs: dict = field(default_factory=dict)
    clients: dict = field(default_factory=dict)
    # Stack parameters a step decides (the server world's ContainerImage), and the image.
    parameter_overrides: dict = field(default_factory=dict)
    image: str | None = None

    @property
    def stack_name(self):
        return STACK_NAME.format(stage=self.stage)

    @property
    def settings_path(self):
        return self.root / "zappa_settings.json"

    @property
    def stage_settings(self):
        """The stage in zappa_settings.json as it is now (steps before may have written it)."""
        stages = json.loads(self.settings_path.read_text())
        if self.stage not in stages:
            raise DeployError(
                f"zappa_settings.json has no stage {self.stage!r}",
                f"use one of {', '.join(stages)}, or add the stage to zappa_settings.json",
            )
        return stages[self.stage]

    @property
    def function_name(self):
        stage = self.stage_settings
        return f"{stage['project_name']}-{self.stage}"

    @property
    def region(self):
        return self.stage_settings["aws_region"]

    @property
    def package_path(self):
        return self.root / "var" / "package" / f"amphibian-{self.stage}.zip"

    @cached_property
    def session(self):
        import boto3.session

        # The standard chain (AWS_PROFILE, keys, SSO...), never the local settings' keys.
        return boto3.session.Session(region_name=self.region)

    def client(self, service):
        if service not in self.clients:
            from botocore.config import Config

            config = Config(retries={"mode": "standard", "total_max_attempts": 5})
            self.clients[service] = self.session.client(service, config=config)
        return self.clients[service]

    def run_command(self, name, command, env=None, timeout=1800):
        """Run a tool (Zappa, the package build) in the tree; its output goes to ours.

        Raises DeployError with the tail of its output when it fails.
        """
        completed = subprocess.run(  # noqa: S603 - our own tools' argv, no shell
            command,
            cwd=self.root,
            # The tool picks its own settings (the package build, Zappa's stage), not ours.
            env={
                **{k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"},
                **(env or {}),
            },
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = completed.stdout + completed.stderr
        if completed.returncode != 0:
            tail = "\n".join(output.strip().splitlines()[-25:])
            raise DeployError(
                f"{name} exited with status {completed.returncode}:\n{tail}",
                f"fix what {name} says above, then run the deploy again",
            )
        return output

    def manage_command(self, *args):
        return [sys.executable, "manage.py", *args]


def code_sha256(path):
    """A zip's digest as Lambda reports it (CodeSha256: base64 of the SHA-256)."""
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


def until_ok(probe, timeout, pause=3):
    """Call ``probe()`` (an HTTP status, or OSError) until it gives 200 or ``timeout`` seconds
    pass; returns None on 200, else the last answer (for the error the caller raises)."""
    import time

    deadline, answer = time.monotonic() + timeout, ""
    while time.monotonic() < deadline:
        try:
            status = probe()
            if status == 200:
                return None
            answer = str(status)
        except OSError as exc:
            answer = str(exc)
        time.sleep(pause)
    return answer


def http_status(url, **headers):
    """The status of GET ``url`` (an error status too), the body of an error kept short."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - https or loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        return f"{exc.code}: {exc.read()[:300].decode(errors='replace')}"


def run(steps, context):
    """Run ``steps`` in order; returns how many changed something. Raises DeployError."""
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError

    changed = 0
    verb = "Planning" if context.plan else "Deploying"
    context.out(f"{verb} stage {context.stage} ({len(steps)} steps)")
    for index, step in enumerate(steps, 1):
        try:
            outcome = step.run(context)
        except DeployError as exc:
            raise StepFailed(step.name, str(exc), exc.next_step) from exc
        except (BotoCoreError, ClientError, WaiterError) as exc:
            raise StepFailed(step.name, f"{type(exc).__name__}: {exc}", step.hint) from exc
        changed += outcome.changed
        mark = "~" if outcome.changed else "="
        context.out(f"[{index}/{len(steps)}] {mark} {step.name}: {outcome.summary}")
    if not changed:
        context.out("No change: what is deployed is what this tree describes.")
    elif context.plan:
        context.out(f"{changed} step(s) would change something; nothing was changed.")
    else:
        context.out(f"Deployed stage {context.stage}: {changed} step(s) changed something.")
    return changed


class StepFailed(Exception):
    """The run stopped at ``step``; nothing after it ran."""

    def __init__(self, step, reason, next_step):
        super().__init__(f'deploy stopped at step "{step}": {reason}\nNext: {next_step}')
        self.step = step

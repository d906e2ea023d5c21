"""The server world's steps: image, ECS service, the migrate task, smoke check.

Every release goes through the stack: the image step pushes ``<repository>:<tag>`` (the tag
is a digest of the image's sources, so unchanged sources are neither rebuilt nor pushed), and
the service step sets the stack's ``ContainerImage`` to it. CloudFormation then registers the
task-definition revision, rolls the service (circuit breaker: a release that cannot start
rolls back by itself) and waits for it to be stable; nothing drifts from the template, and
rolling back is deploying the previous tag (``ContainerImage``) again.
"""

import base64
import hashlib
import os
import shutil
import socket
import ssl
import subprocess
from http.client import HTTPSConnection

from .infrastructure import SECRETS, STACK, require_outputs, stack, stack_parameters
from .steps import DeployError, Outcome, Step, http_status, until_ok

# What the image is built from (deploy/container/Dockerfile's COPY lines, and its own files).
IMAGE_SOURCES = (
    "requirements/runtime.txt",
    "manage.py",
    "project",
    "apps",
    "static",
    "deploy/container",
)
DOCKERFILE = "deploy/container/Dockerfile"
IGNOREFILE = "deploy/container/Dockerfile.dockerignore"
MIGRATE_WAIT = {"Delay": 6, "MaxAttempts": 100}
SMOKE_TIMEOUT = 180
# The rehearsal's endpoint variable for the load balancer (make test-deploy).
LOAD_BALANCER_ENDPOINT = "AMPHIBIAN_LOAD_BALANCER_ENDPOINT"


def engine():
    """podman or docker (CONTAINER_ENGINE names one)."""
    found = os.environ.get("CONTAINER_ENGINE") or shutil.which("podman") or shutil.which("docker")
    if not found:
        raise DeployError(
            "neither podman nor docker is installed", "make server-deps (podman), or docker"
        )
    return found


def source_tag(root):
    """A digest of every file the image is built from: same sources, same tag."""
    digest = hashlib.sha256()
    for name in IMAGE_SOURCES:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            if "__pycache__" in file.parts or file.suffix == ".pyc":
                continue
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:16]


def repository(context):
    outputs = require_outputs(context)
    uri = outputs.get("RepositoryUri")
    if not uri:
        raise DeployError(
            f"stack {context.stack_name} has no image repository",
            f'set "EnableEcs": "true" in deploy/aws/parameters/{context.stage}.json and '
            "deploy again",
        )
    return uri


def image_exists(context, uri, tag):
    ecr = context.client("ecr")
    name = uri.split("/", 1)[1]
    try:
        ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])
    except ecr.exceptions.ImageNotFoundException:
        return False
    return True


def image(context):
    """Build and push ``<repository>:<source tag>`` unless the repository has it."""
    if context.plan and not require_outputs(context):
        return Outcome(True, "would build and push the image to the new stack's repository")
    uri, tag = repository(context), source_tag(context.root)
    context.image = f"{uri}:{tag}"
    if image_exists(context, uri, tag):
        return Outcome(False, f"{context.image} is in the repository")
    if context.plan:
        return Outcome(True, f"would build and push {context.image}")
    tool = engine()
    base = os.environ.get("AMPHIBIAN_BASE_IMAGE")
    build = [tool, "build", "--format", "docker"] if tool.endswith("podman") else [tool, "build"]
    context.run_command(
        "the image build",
        [
            *build,
            *("-f", DOCKERFILE, "--ignorefile", IGNOREFILE, "-t", context.image),
            *(("--build-arg", f"BASE_IMAGE={base}") if base else ()),
            ".",
        ],
        timeout=3600,
    )
    login(context, tool, uri)
    context.run_command("the image push", [tool, "push", context.image], timeout=1800)
    if not image_exists(context, uri, tag):
        raise DeployError(
            f"the push of {context.image} reported success but the repository lacks it",
            "check the registry the container engine pushed to (its registries.conf)",
        )
    return Outcome(True, f"pushed {context.image}")


def login(context, tool, uri):
    """The engine logs in to the registry with ECR's token (never stored by us)."""
    token = context.client("ecr").get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    registry = uri.split("/", 1)[0]
    completed = subprocess.run(  # noqa: S603 - the engine's own argv, no shell
        [tool, "login", "--username", user, "--password-stdin", registry],
        input=password,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise DeployError(
            f"{tool} login {registry} failed: {completed.stderr.strip()[-500:]}",
            "check that the credentials may call ecr:GetAuthorizationToken",
        )


def service(context):
    """The stack's ContainerImage set to the image: CloudFormation rolls the service."""
    if context.plan and not getattr(context, "image", None):
        return Outcome(True, "would roll the service to the new image")
    context.parameter_overrides["ContainerImage"] = context.image
    outcome = stack(context)
    if not outcome.changed:
        return Outcome(False, f"the service runs {context.image}")
    what = "would roll" if context.plan else "rolled"
    return Outcome(True, f"{what} the service to {context.image} ({outcome.summary})")


def migrate_task(context):
    """The image's ``migrate`` role as a one-off task, in the service's network."""
    if context.plan:
        return Outcome(False, "would run the migrate task")
    outputs = require_outputs(context)
    ecs = context.client("ecs")
    cluster, name = outputs["EcsClusterName"], outputs["EcsServiceName"]
    [running] = ecs.describe_services(cluster=cluster, services=[name])["services"]
    network = running["networkConfiguration"]
    task_definition = running["taskDefinition"]
    started = ecs.run_task(
        cluster=cluster,
        taskDefinition=task_definition,
        launchType="FARGATE",
        networkConfiguration=network,
        overrides={"containerOverrides": [{"name": "web", "command": ["migrate"]}]},
        startedBy="amphibian-deploy",
    )
    if started.get("failures"):
        raise DeployError(f"the migrate task did not start: {started['failures']}", "read it")
    task_arn = started["tasks"][0]["taskArn"]
    from botocore.exceptions import WaiterError

    try:
        ecs.get_waiter("tasks_stopped").wait(
            cluster=cluster, tasks=[task_arn], WaiterConfig=MIGRATE_WAIT
        )
    except WaiterError as exc:
        raise DeployError(f"the migrate task {task_arn} did not stop", "read its logs") from exc
    [task] = ecs.describe_tasks(cluster=cluster, tasks=[task_arn])["tasks"]
    [container] = [c for c in task["containers"] if c["name"] == "web"]
    if container.get("exitCode") != 0:
        raise DeployError(
            f"the migrate task exited with {container.get('exitCode')} "
            f"({container.get('reason') or task.get('stoppedReason', '')})",
            f"read its logs in the log group /ecs/{context.stack_name}",
        )
    return Outcome(False, f"migrate task {task_arn.rsplit('/', 1)[-1]} exited 0")


def smoke(context):
    """/readyz through the load balancer, by the origin's name (its certificate's)."""
    if context.plan:
        return Outcome(False, "would check /readyz through the load balancer")
    outputs = require_outputs(context)
    endpoint = os.environ.get(LOAD_BALANCER_ENDPOINT)
    if endpoint:
        answer = until_ok(lambda: http_status(f"{endpoint.rstrip('/')}/readyz"), SMOKE_TIMEOUT)
    else:
        origin = stack_parameters(context)["AppOriginDomain"]
        address = outputs["LoadBalancerDnsName"]
        answer = until_ok(lambda: _get_by_name(address, origin), SMOKE_TIMEOUT)
    if answer is None:
        return Outcome(False, "/readyz through the load balancer: 200")
    raise DeployError(
        f"/readyz through the load balancer did not answer 200 in {SMOKE_TIMEOUT} s ({answer})",
        f"read the service's events (aws ecs describe-services) and logs (/ecs/"
        f"{context.stack_name})",
    )


def _get_by_name(address, name):
    """GET /readyz from ``address`` over TLS, for ``name`` (SNI, certificate, Host)."""
    connection = HTTPSConnection(address, timeout=30)
    raw = socket.create_connection((address, 443), timeout=30)
    connection.sock = ssl.create_default_context().wrap_socket(raw, server_hostname=name)
    connection.request("GET", "/readyz", headers={"Host": name})
    return connection.getresponse().status


STEPS = [
    STACK,
    SECRETS,
    Step("image", image, "check that the credentials may push to the ECR repository"),
    Step("service", service, "read the service's events: aws ecs describe-services"),
    Step("migrate-task", migrate_task, "check the credentials may call ecs:RunTask"),
    Step("smoke", smoke, "read the service's logs"),
]

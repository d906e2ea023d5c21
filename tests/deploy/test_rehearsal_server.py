"""``make deploy-server`` rehearsed against the emulated account (make test-deploy).

The session's ``rehearsal`` has deployed the Lambda world of prod; here the server world
deploys onto the same stack as a user runs it: the image built with podman and pushed to the
account's emulated ECR registry (``deploy.tools.rehearsal.registry``), the stack's service
rolled to it, the migrate task and the service's containers run on this machine with podman
(``deploy.tools.rehearsal.containers``), the smoke check through the load balancer. What it
did is read back through the emulated APIs and the containers' own output.

The image is built once per session (the ``container_image`` fixture, with the network pip
needs); the deploy's own build, in the rehearsal's offline environment, reuses its layers.
"""

import json
import re
import urllib.request

import psycopg
import pytest

from deploy.tools.deploy.server import source_tag
from deploy.tools.harness.postgres import POSTGRES_URL
from deploy.tools.rehearsal.functions import DATABASES_ROUTE

pytestmark = pytest.mark.deploy

STEP_LINE = re.compile(r"^\[(\d+)/(\d+)\] ([~=]) ([a-z-]+): (.*)$", re.MULTILINE)
STEPS = ["stack", "secrets", "image", "service", "migrate-task", "smoke"]
LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def steps(completed):
    """{step: (changed, summary)} from the deploy's output."""
    return {m[4]: (m[3] == "~", m[5]) for m in STEP_LINE.finditer(completed.stdout)}


@pytest.fixture(scope="module")
def server_world(rehearsal, container_image, postgres_url):
    """``make deploy-server STAGE=prod`` run once, after the Lambda world's deploy."""
    deployed = rehearsal.make("deploy-server", STAGE="prod", timeout=3600)
    assert deployed.returncode == 0, (
        rehearsal.logs[-1].read_text()[-6000:]
        + "\n--- the emulated account's log\n"
        + "".join(rehearsal.account.output)[-6000:]
    )
    return deployed


@pytest.fixture(scope="module")
def ecs(rehearsal, server_world):
    outputs = rehearsal.outputs("prod")
    client = rehearsal.client("ecs")
    [service] = client.describe_services(
        cluster=outputs["EcsClusterName"], services=[outputs["EcsServiceName"]]
    )["services"]
    return client, outputs, service


def test_every_step_of_the_server_deploy_ran(server_world):
    ran = steps(server_world)
    assert list(ran) == STEPS
    assert [int(m[2]) for m in STEP_LINE.finditer(server_world.stdout)] == [len(STEPS)] * 6
    assert ran["image"][0] and ran["image"][1].startswith("pushed ")
    assert ran["service"][0] and ran["service"][1].startswith("rolled the service to ")
    assert re.fullmatch(r"migrate task [0-9a-f-]+ exited 0", ran["migrate-task"][1])
    assert ran["smoke"] == (False, "/readyz through the load balancer: 200")


def test_the_repository_holds_the_tag_of_the_image_sources(rehearsal, server_world):
    uri = rehearsal.outputs("prod")["RepositoryUri"]
    tag = source_tag(rehearsal.tree)
    [image] = rehearsal.client("ecr").describe_images(
        repositoryName=uri.split("/", 1)[1], imageIds=[{"imageTag": tag}]
    )["imageDetails"]
    assert image["imageManifestMediaType"] in (
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
    )
    assert steps(server_world)["image"][1] == f"pushed {uri}:{tag}"


def test_the_service_runs_the_pushed_image_from_the_stack(rehearsal, ecs):
    client, outputs, service = ecs
    image = f"{outputs['RepositoryUri']}:{source_tag(rehearsal.tree)}"
    [stack] = rehearsal.client("cloudformation").describe_stacks(StackName="amphibian-prod-infra")[
        "Stacks"
    ]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["ContainerImage"] == image
    definition = client.describe_task_definition(taskDefinition=service["taskDefinition"])
    [web] = definition["taskDefinition"]["containerDefinitions"]
    assert web["name"] == "web" and web["image"] == image
    assert "-AppTaskRole-" in definition["taskDefinition"]["taskRoleArn"]
    # What runs is what describe_services reports: the desired count, the rollout done.
    assert service["launchType"] == "FARGATE"
    assert service["runningCount"] == service["desiredCount"] == 2
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    assert service["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"


def test_the_migrate_task_ran_migrate_against_the_stacks_database(rehearsal, ecs):
    client, outputs, service = ecs
    cluster = outputs["EcsClusterName"]
    arns = client.list_tasks(cluster=cluster, startedBy="amphibian-deploy")["taskArns"]
    [task] = client.describe_tasks(cluster=cluster, tasks=arns)["tasks"]
    assert task["taskDefinitionArn"] == service["taskDefinition"]
    assert task["lastStatus"] == "STOPPED"
    [container] = task["containers"]
    assert container["exitCode"] == 0
    # Its output, in the task definition's awslogs group: Django's migrate, which connected.
    logs = rehearsal.client("logs")
    group = "/ecs/amphibian-prod-infra"
    stream = f"web/web/{task['taskArn'].rsplit('/', 1)[-1]}"
    events = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
    output = "\n".join(event["message"] for event in events)
    assert "Operations to perform:" in output and "Apply all migrations:" in output
    # The stack's database (the local one the account maps its RDS endpoint to) is migrated.
    with LOOPBACK.open(f"{rehearsal.url}{DATABASES_ROUTE}", timeout=10) as answer:
        database = json.loads(answer.read())[outputs["DatabaseEndpoint"]]
    with psycopg.connect(POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}") as connection:
        applied = connection.execute("SELECT count(*) FROM django_migrations").fetchone()[0]
    assert applied > 0


def test_the_load_balancer_answers_from_the_service(rehearsal, server_world):
    balancer = rehearsal.account_attribute("load-balancer")
    for _ in range(4):  # every replica, round-robin
        with LOOPBACK.open(f"{balancer}/readyz", timeout=30) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["status"] == "ok"


def test_a_second_server_deploy_changes_nothing(rehearsal, server_world):
    uri = rehearsal.outputs("prod")["RepositoryUri"]
    ecr = rehearsal.client("ecr")
    pushed = ecr.describe_images(repositoryName=uri.split("/", 1)[1])["imageDetails"]
    again = rehearsal.make("deploy-server", STAGE="prod", timeout=1800)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No change: what is deployed is what this tree describes." in again.stdout
    ran = steps(again)
    assert list(ran) == STEPS
    assert {name for name, (changed, _) in ran.items() if changed} == set()
    assert ran["image"][1].endswith(" is in the repository")
    # Nothing pushed: the repository holds the same one image, pushed when it was.
    assert ecr.describe_images(repositoryName=uri.split("/", 1)[1])["imageDetails"] == pushed

"""The emulated account's ECS: tasks and services run on this machine with podman.

moto's ECS keeps tasks and services as records. ``install`` (like ``functions``) makes them
run, in this process:

- ``run_task``: each task runs its task definition's essential container (the image pulled
  from the emulated registry, the command override, the definition's environment plus the
  overrides') in ``podman run --network host``; ``describe_tasks`` answers RUNNING while it
  runs, then STOPPED with the container's real exit code. Its output goes to the awslogs
  group of the definition, one stream per task, as the awslogs driver sends it.
- a service (created or updated by CloudFormation or the API) runs ``desiredCount``
  containers of its task definition's image in the image's ``web`` role (gunicorn bound to
  a free loopback port), answered at ``account.load_balancer_url``: one reverse proxy on
  loopback that adds what the ALB's HTTPS listener adds (``X-Forwarded-*``). A new task
  definition starts new containers, switches the proxy to them once they answer /healthz,
  then removes the old (minimum healthy 100%); describe_services reports what runs.
- CloudFormation's ``AWS::ECS::TaskDefinition`` and ``AWS::ECS::Service`` pass every property
  the template sets (moto's models drop the roles, compatibilities, network configuration
  and launch type, and re-register a definition on every update).

A container sees the substitutions a local Lambda sees (``functions.local_environment``):
the emulator as ``AWS_ENDPOINT_URL``, the task role's credentials assumed through its STS,
the local database for the RDS endpoint, the dead proxies. Gaps: one load balancer for the
account (every service with ``loadBalancers``), no health-check replacement of a container
that dies, no service tasks in ``list_tasks``.
"""

import base64
import copy
import http.client
import itertools
import logging
import shutil
import subprocess
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from unittest import mock

from moto.core.common_models import CloudFormationModel
from moto.ecs import models as ecs_models  # before the models below, which replace its two

from deploy.tools.harness.loopback import free_port

from . import functions, registry

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
# This machine's kernel and limits (tests/support/container_target.py's conventions): runc,
# and ulimits podman may set.
CONTAINERS_CONF = (
    '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
    '[engine]\nruntime = "runc"\n'
)
HEALTHY_WITHIN = 180  # seconds for a replica to answer /healthz
STOP_GRACE = 10  # seconds podman gives a container between SIGTERM and SIGKILL
# What the ALB's HTTPS listener adds to each request it forwards.
FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"}
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}
    | {"proxy-authorization", "proxy-authenticate"}
)

_emulated: "EmulatedECS | None" = None
_patches: list = []


def write_containers_conf(directory) -> Path:
    """This machine's ``containers.conf`` (``CONTAINERS_CONF``) under ``directory``."""
    path = Path(directory) / "containers.conf"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CONTAINERS_CONF)
    return path


def install(account):
    """Run the emulated ``account``'s ECS tasks and services with podman; sets
    ``account.load_balancer_url``. Needs the account's registry (``registry.start``)."""
    global _emulated
    from moto.cloudformation import parsing

    if _emulated is not None:
        raise RuntimeError("The emulated ECS is installed already; uninstall() it first.")
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()  # the two models below replace moto's
    emulated = _emulated = EmulatedECS(account)
    backend = ecs_models.EC2ContainerServiceBackend
    originals = {
        name: getattr(backend, name)
        for name in ("run_task", "describe_tasks", "create_service", "update_service")
    }
    originals["delete_service"] = backend.delete_service

    def run_task(self, *args, **kwargs):
        tasks = originals["run_task"](self, *args, **kwargs)
        for task in tasks:
            emulated.run_task(self, task)
        return tasks

    def describe_tasks(self, *args, **kwargs):
        tasks = originals["describe_tasks"](self, *args, **kwargs)
        for task in tasks:
            emulated.report_task(task)
        return tasks

    def create_service(self, *args, **kwargs):
        service = originals["create_service"](self, *args, **kwargs)
        emulated.reconcile(self, service)
        return service

    def update_service(self, service_properties):
        service = originals["update_service"](self, service_properties)
        emulated.reconcile(self, service)
        return service

    def delete_service(self, cluster_name, service_name, force):
        service = originals["delete_service"](self, cluster_name, service_name, force)
        emulated.remove_service(service)
        return service

    requirements = backend._calculate_task_resource_requirements
    _name_network_interfaces()

    def task_requirements(task_definition):
        # A Fargate task sizes memory for the task, not per container: moto added None.
        return requirements(_sized(task_definition))

    for name, replacement in [
        ("_calculate_task_resource_requirements", staticmethod(task_requirements)),
        ("run_task", run_task),
        ("describe_tasks", describe_tasks),
        ("create_service", create_service),
        ("update_service", update_service),
        ("delete_service", delete_service),
    ]:
        patch = mock.patch.object(backend, name, replacement)
        patch.start()
        _patches.append(patch)
    return emulated


def _name_network_interfaces():
    """A task's network interface has a private DNS name (EC2's ip-a-b-c-d.<region> form);
    moto's awsvpc task reads one its interfaces never got."""
    from moto.ec2.models.elastic_network_interfaces import NetworkInterface

    if isinstance(getattr(NetworkInterface, "private_dns_name", None), property):
        return

    def get(self):
        given = self.__dict__.get("_private_dns_name")
        return given or f"ip-{str(self.private_ip_address).replace('.', '-')}.ec2.internal"

    def set_(self, value):
        self.__dict__["_private_dns_name"] = value

    setattr(NetworkInterface, "private_dns_name", property(get, set_))  # noqa: B010 - mypy


def _sized(task_definition):
    """``task_definition`` with each container's memory its own, or its share of the task's."""
    containers = task_definition.container_definitions
    if all(c.get("memory", c.get("Memory", c.get("memoryReservation"))) for c in containers):
        return task_definition
    share = int(task_definition.memory or 0) // max(len(containers), 1)
    sized = copy.copy(task_definition)
    sized.container_definitions = [
        {**c, "memory": c.get("memory") or c.get("Memory") or share} for c in containers
    ]
    return sized


def uninstall():
    """Give moto its ECS back; stop every container and the load balancer."""
    global _emulated
    while _patches:
        _patches.pop().stop()
    if _emulated is not None:
        _emulated.close()
    _emulated = None


class EmulatedECS:
    """The containers of one emulated account: tasks, service replicas, the load balancer."""

    def __init__(self, account):
        self.account = account
        self.root = Path(account.state_dir) / "ecs"
        self.root.mkdir(parents=True, exist_ok=True)
        self.podman_env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.root),
            "CONTAINERS_CONF": str(write_containers_conf(self.root)),
        }
        self.tasks: dict[str, Container] = {}  # by task ARN
        self.services: dict[str, list[Container]] = {}  # by service ARN: what serves
        self.lock = threading.Lock()
        self.names = itertools.count(1)
        self.load_balancer = LoadBalancer(self).start()
        account.load_balancer_url = self.load_balancer.url

    # --- tasks -----------------------------------------------------------------------------
    def run_task(self, backend, task):
        definition = backend.describe_task_definition(task.task_definition_arn)
        spec = _essential(definition)
        override: dict = next(
            (
                o
                for o in (task.overrides or {}).get("containerOverrides", [])
                if o.get("name") == spec.get("name")
            ),
            {},
        )
        command = override.get("command") or spec.get("command") or []
        environment = {
            **_pairs(spec.get("environment")),
            **_pairs(override.get("environment")),
        }
        # Frozen in RUNNING until the container exits (moto would advance it on every
        # describe); then STOPPED, which has no successor.
        task._transitions = [("RUNNING", "RUNNING")]
        task.status = "RUNNING"
        for record in task.containers:
            record.exitCode = None  # moto's 0 until the container has one
        container = Container(self, f"task-{task.id}", definition, spec, command, environment)
        with self.lock:
            self.tasks[task.task_arn] = container
        threading.Thread(target=container.run_to_end, args=(task.id,), daemon=True).start()

    def report_task(self, task):
        container = self.tasks.get(task.task_arn)
        if container is None or container.exit_code is None:
            return
        task.status = "STOPPED"
        task.desired_status = "STOPPED"
        task.stopped_reason = "Essential container in task exited"
        for record in task.containers:
            record.last_status = "STOPPED"
            record.exitCode = container.exit_code

    # --- services --------------------------------------------------------------------------
    def reconcile(self, backend, service):
        """Roll ``service`` to its task definition and desired count, in the background."""
        if not service.task_definition:
            return
        _report(service, running=len(self.services.get(service.arn, [])))
        threading.Thread(target=self._roll, args=(backend, service), daemon=True).start()

    def _roll(self, backend, service):
        definition = backend.describe_task_definition(service.task_definition)
        current = self.services.get(service.arn, [])
        if (
            current
            and all(c.definition_arn == definition.arn for c in current)
            and len(current) == service.desired_count
        ):
            return _report(service, running=len(current))
        spec = _essential(definition)
        replicas = []
        try:
            for _ in range(service.desired_count):
                port = free_port()
                replica = Container(
                    self,
                    f"web-{next(self.names)}",
                    definition,
                    spec,
                    command=["web"],
                    environment=_pairs(spec.get("environment")),
                    listen=port,
                )
                replica.start()
                replicas.append(replica)
            for replica in replicas:
                replica.wait_healthy(HEALTHY_WITHIN)
        except (OSError, RuntimeError) as exc:
            logger.warning("service %s: the new containers failed (%s); kept", service.name, exc)
            for replica in replicas:
                replica.remove()
            return
        with self.lock:
            old, self.services[service.arn] = self.services.get(service.arn, []), replicas
        _report(service, running=len(replicas))
        for replica in old:
            replica.remove()

    def remove_service(self, service):
        with self.lock:
            replicas = self.services.pop(service.arn, [])
        for replica in replicas:
            replica.remove()

    def targets(self):
        with self.lock:
            return [r.listen for replicas in self.services.values() for r in replicas]

    def close(self):
        self.load_balancer.stop()
        with self.lock:
            containers = [*self.tasks.values()]
            containers += [r for replicas in self.services.values() for r in replicas]
            self.tasks, self.services = {}, {}
        for container in containers:
            container.remove()

    # --- podman ----------------------------------------------------------------------------
    def podman(self, *args, timeout=900, **kwargs):
        return subprocess.run(  # noqa: S603 - podman's own argv, no shell
            [shutil.which("podman") or "podman", *args],
            env={**self.podman_env, **kwargs.pop("env", {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    def pull(self, image):
        """``image`` from the emulated registry, as ECS pulls it with the execution role."""
        account_id, _, rest = image.partition(".dkr.ecr.")
        registries = registry.registries_conf(
            self.root / f"registries-{account_id}.conf", account_id, (rest.split(".")[0],)
        )
        token = base64.b64decode(registry.expected_authorization(account_id).split()[1]).decode()
        pulled = self.podman(
            *("pull", "--quiet", "--creds", token, image),
            env={
                "CONTAINERS_REGISTRIES_CONF": str(registries),
                "HTTP_PROXY": self.account.registry_url,
                "HTTPS_PROXY": functions.DISCARD_PROXY,
                "NO_PROXY": "127.0.0.1,localhost",
            },
        )
        if pulled.returncode != 0:
            raise RuntimeError(f"CannotPullContainerError: {pulled.stderr.strip()[-500:]}")


class Container:
    """One container of a task definition: ``start()``, ``exit_code`` when done, ``remove()``."""

    def __init__(self, ecs, name, definition, spec, command, environment, listen=None):
        self.ecs = ecs
        self.name = f"emulatedaws-{ecs.load_balancer.port}-{name}"
        self.definition_arn = definition.arn
        self.role_arn = getattr(definition, "task_role_arn", None)
        self.region = definition.arn.split(":")[3]
        self.image = spec["image"]
        self.log_options = (spec.get("logConfiguration") or {}).get("options") or {}
        self.command = list(command)
        self.environment = environment
        self.listen = listen
        self.log_path = ecs.root / f"{name}.log"
        self.process: subprocess.Popen | None = None
        self.exit_code: int | None = None

    def run_to_end(self, task_id):
        """Run the container to its end; its exit code (1 when it could not start)."""
        try:
            self.exit_code = self.start().wait()
        except (OSError, RuntimeError) as exc:
            self.log_path.write_text(f"{exc}\n")
            self.exit_code = 1
        self._save_log(task_id)

    def start(self):
        self.ecs.pull(self.image)
        environment = self._environment()
        env_args = [arg for key, value in environment.items() for arg in ("-e", f"{key}={value}")]
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(  # noqa: S603 - podman's own argv, no shell
                [
                    *(shutil.which("podman") or "podman", "run", "--rm", "--name", self.name),
                    *("--network", "host", *env_args, self.image, *self.command),
                ],
                env=self.ecs.podman_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self.process

    def _environment(self):
        """The task's variables with the emulator's substitutions (a local Lambda's)."""
        configuration = {
            "Environment": {"Variables": self.environment},
            # local_environment reads the region from the ARN and names the role session.
            "FunctionArn": self.definition_arn,
            "FunctionName": self.name,
            "Role": self.role_arn,
        }
        environment = functions.local_environment(configuration, self.ecs.account.url)
        if self.listen:
            environment["GUNICORN_BIND"] = f"{HOST}:{self.listen}"
        return environment

    def wait_healthy(self, timeout):
        """Until /healthz answers 200 (the target group's check), or RuntimeError."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self._tail()}")
            try:
                with opener.open(f"http://{HOST}:{self.listen}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(1)
        raise RuntimeError(f"{self.name} did not answer /healthz in {timeout} s: {self._tail()}")

    def remove(self):
        self.ecs.podman("rm", "--force", "--time", str(STOP_GRACE), "--ignore", self.name)
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _tail(self):
        return self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""

    def _save_log(self, task_id):
        """The task's output in its awslogs group, stream ``<prefix>/<container>/<task id>``."""
        from moto.logs.models import logs_backends

        group = self.log_options.get("awslogs-group")
        if not group:
            return
        account_id = self.definition_arn.split(":")[4]
        logs = logs_backends[account_id][self.log_options.get("awslogs-region", self.region)]
        stream = f"{self.log_options.get('awslogs-stream-prefix', 'ecs')}/web/{task_id}"
        lines = self.log_path.read_text(errors="replace").splitlines() or ["(no output)"]
        now = int(time.time() * 1000)
        if group not in logs.groups:
            logs.create_log_group(group, tags={})
        logs.create_log_stream(group, stream)
        logs.put_log_events(group, stream, [{"timestamp": now, "message": m} for m in lines])


class LoadBalancer:
    """The account's ALB on loopback: each request to one of the services' containers."""

    def __init__(self, ecs):
        self.ecs = ecs
        self.turn = itertools.count()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.url = ""

    def start(self):
        balancer = self

        class Handler(ForwardingHandler):
            load_balancer = balancer

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://{HOST}:{self.port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def next_target(self):
        targets = self.ecs.targets()
        return targets[next(self.turn) % len(targets)] if targets else None

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class ForwardingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    load_balancer: LoadBalancer

    def log_message(self, format, *args):
        logger.debug("load balancer: " + format, *args)

    def do_GET(self):
        port = self.load_balancer.next_target()
        if port is None:  # the ALB's answer with no healthy target
            return self._reply(503, b"503 Service Temporarily Unavailable")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        forwarded_for = ", ".join(filter(None, [headers.pop("X-Forwarded-For", ""), HOST]))
        headers.update(FORWARDED, **{"X-Forwarded-For": forwarded_for})
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            connection.request(self.command, self.path, body=body, headers=headers)
            answer = connection.getresponse()
            content = answer.read()
        except OSError:  # the ALB's answer when the target fails
            return self._reply(502, b"502 Bad Gateway")
        finally:
            connection.close()
        self.send_response(answer.status, answer.reason)
        for name, value in answer.getheaders():
            if name.lower() not in HOP_BY_HOP | {"content-length"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(content)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _reply(self, status, body):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _essential(definition):
    return next(c for c in definition.container_definitions if c.get("essential", True))


def _pairs(items):
    return {item["name"]: str(item["value"]) for item in items or []}


def _report(service, running):
    """What describe_services says: the containers serving, the rollout's state."""
    service.running_count = running
    service.pending_count = max(service.desired_count - running, 0)
    for deployment in service.deployments[:1]:
        done = running >= service.desired_count
        deployment.update(
            desiredCount=service.desired_count,
            runningCount=running,
            pendingCount=service.pending_count,
            taskDefinition=service.task_definition,
            rolloutState="COMPLETED" if done else "IN_PROGRESS",
            rolloutStateReason=f"ECS deployment {deployment['id']} "
            + ("completed." if done else "in progress."),
        )


# --- CloudFormation: the properties moto's ECS models drop ------------------------------------
def _camel(value):
    return ecs_models.remap_nested_keys(value, ecs_models.pascal_to_camelcase)


def _arn_of(value):
    """A ``Ref`` moto resolved to its model (or left as the ARN/name it is)."""
    return getattr(value, "arn", None) or getattr(value, "name", None) or value


class TaskDefinitionModel(CloudFormationModel):
    """``AWS::ECS::TaskDefinition`` with every property; an update registers a revision."""

    @staticmethod
    def cloudformation_type():
        return "AWS::ECS::TaskDefinition"

    @staticmethod
    def cloudformation_name_type():
        return ""

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "TaskDefinitionArn"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        return ecs_models.ecs_backends[account_id][region_name].register_task_definition(
            family=props.get("Family") or resource_name,
            container_definitions=_camel(props.get("ContainerDefinitions", [])),
            volumes=_camel(props.get("Volumes", [])),
            network_mode=props.get("NetworkMode"),
            requires_compatibilities=props.get("RequiresCompatibilities"),
            cpu=props.get("Cpu"),
            memory=props.get("Memory"),
            task_role_arn=props.get("TaskRoleArn"),
            execution_role_arn=props.get("ExecutionRoleArn"),
            tags=_camel(props.get("Tags")),
        )

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        # Every change replaces a task definition: a new revision, the old one deregistered.
        replacement = cls.create_from_cloudformation_json(
            new_resource_name, cloudformation_json, account_id, region_name
        )
        ecs_models.ecs_backends[account_id][region_name].deregister_task_definition(
            original_resource.arn
        )
        return replacement


class ServiceModel(CloudFormationModel):
    """``AWS::ECS::Service`` with its launch type, network and load balancers."""

    @staticmethod
    def cloudformation_type():
        return "AWS::ECS::Service"

    @staticmethod
    def cloudformation_name_type():
        return "ServiceName"

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr == "Name"

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        props = cloudformation_json["Properties"]
        return ecs_models.ecs_backends[account_id][region_name].create_service(
            _arn_of(props.get("Cluster", "default")),
            props.get("ServiceName") or resource_name,
            int(props.get("DesiredCount", 1)),
            task_definition_str=_arn_of(props.get("TaskDefinition")),
            load_balancers=_camel(props.get("LoadBalancers")),
            launch_type=props.get("LaunchType"),
            platform_version=props.get("PlatformVersion"),
            network_configuration=_camel(props.get("NetworkConfiguration")),
            tags=_camel(props.get("Tags")),
        )

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        props = cloudformation_json["Properties"]
        backend = ecs_models.ecs_backends[account_id][region_name]
        cluster = _arn_of(props.get("Cluster", "default"))
        if backend._get_cluster(cluster).arn != original_resource.cluster_arn or (
            props.get("LaunchType") != original_resource.launch_type
        ):  # replacement properties
            backend.delete_service(original_resource.cluster_name, original_resource.name, True)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        return backend.update_service(
            {
                "cluster": cluster,
                "service": original_resource.name,
                "task_definition": _arn_of(props.get("TaskDefinition")),
                "desired_count": int(props.get("DesiredCount", 1)),
                "network_configuration": _camel(props.get("NetworkConfiguration")),
            }
        )

"""The deploy rehearsed offline: an emulated AWS account, a copy of this tree, ``make deploy``.

``Rehearsal.start()`` copies the working tree (what git tracks or would track, with its
modification times, so make finds the venv up to date), starts ``manage.py emulatedaws``
(an empty account on loopback, recording every request) and runs the deploy in the copy as a
user runs it, with only the endpoint variables differing: ``AWS_ENDPOINT_URL`` (the account),
``AMPHIBIAN_EXECUTE_API_ENDPOINT`` (its execute-api front), proxies on a dead loopback
port, so that nothing (Zappa's version check included) reaches the internet, and for the
server world the emulated ECR registry as ``HTTP_PROXY`` and the load balancer
(``server_world_env``).
"""

import base64
import datetime
import hashlib
import json
import os
import shutil
import subprocess

import boto3.session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from deploy.tools.harness.processes import ROOT, subprocess_env
from deploy.tools.rehearsal.emulator import EmulatedAccountProcess

REGION = "us-east-1"
ACCOUNT = "123456789012"
# The operator's credentials; the recorder tells the deploy's calls from the app's by them.
DEPLOYER_KEY = "AKIAREHEARSALDEPLOYER"
DEAD_PROXY = "http://127.0.0.1:9"
# What the tree copy shares with this one instead of rebuilding: the venvs.
SHARED = (".venv", "var/package/venv")


def copy_tree(source, target):
    """The files git tracks or would track (untracked but not ignored), times kept."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],  # noqa: S607
        cwd=source,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        path = source / name
        if path.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target / name)
    for name in SHARED:
        if (source / name).exists():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(source / name)


class Rehearsal:
    def __init__(self, workdir):
        self.workdir = workdir
        self.tree = workdir / "tree"
        self.record = workdir / "requests.jsonl"
        self.account = None
        self.logs = []
        # The access keys the deployed app signed with outside the account (the e2e
        # "deployed" target's local Lambda): its calls are the least-privilege check's.
        self.app_keys = set()

    def start(self):
        copy_tree(ROOT, self.tree)
        self.account = EmulatedAccountProcess(
            record=self.record, state_dir=self.workdir / "account"
        ).start()
        return self

    def stop(self):
        if self.account:
            self.account.stop()

    @property
    def url(self):
        return self.account.url

    def env(self, **extra):
        environment = subprocess_env(
            AWS_ENDPOINT_URL=self.url,
            AWS_ACCESS_KEY_ID=DEPLOYER_KEY,
            AWS_SECRET_ACCESS_KEY="rehearsal-deployer-secret",
            AWS_DEFAULT_REGION=REGION,
            AWS_EC2_METADATA_DISABLED="true",
            HTTP_PROXY=DEAD_PROXY,
            HTTPS_PROXY=DEAD_PROXY,
            NO_PROXY="127.0.0.1,localhost",
            **extra,
        )
        execute_api = self.account_attribute("execute-api")
        if execute_api:
            environment["AMPHIBIAN_EXECUTE_API_ENDPOINT"] = execute_api
        environment.update(self.server_world_env())
        for name in ("DJANGO_DEPLOY_TARGET", "DJANGO_SETTINGS_MODULE", "AWS_PROFILE"):
            environment.pop(name, None)
        return environment

    def server_world_env(self):
        """The server world's endpoints: the container engine reaches ECR's hosts through the
        emulated registry (podman pushes to the reference's own host, so the registry is the
        HTTP proxy and registries.conf lets plain HTTP through to it), the load balancer, and
        this machine's podman settings and base image (Docker Hub is unreachable here)."""
        from deploy.tools.rehearsal.containers import write_containers_conf
        from deploy.tools.rehearsal.registry import registries_conf
        from tests.support.container_target import BASE_IMAGE

        registry = self.account_attribute("registry")
        load_balancer = self.account_attribute("load-balancer")
        if not (registry and load_balancer):
            return {}
        registries = registries_conf(self.workdir / "registries.conf", ACCOUNT, (REGION,))
        return {
            "HTTP_PROXY": registry,
            "CONTAINERS_REGISTRIES_CONF": str(registries),
            "CONTAINERS_CONF": str(write_containers_conf(self.workdir)),
            "AMPHIBIAN_BASE_IMAGE": BASE_IMAGE,
            "AMPHIBIAN_LOAD_BALANCER_ENDPOINT": load_balancer,
        }

    def account_attribute(self, name):
        """A URL the account printed at start-up ("<name> on <url>")."""
        prefix = f"{name} on "
        for line in self.account.output:
            if line.startswith(prefix):
                return line[len(prefix) :].strip()
        return None

    def make(self, *targets, timeout=1800, **variables):
        """``make TARGET NAME=value...`` in the tree copy, as a user types it."""
        command = ["make", "--no-print-directory", *targets]
        command += [f"{name}={value}" for name, value in variables.items()]
        completed = subprocess.run(
            command,
            cwd=self.tree,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        log = self.workdir / f"make-{len(self.logs):02d}-{'-'.join(targets)}.log"
        log.write_text(
            f"$ {' '.join(command)}\n{completed.stdout}\n--- stderr\n{completed.stderr}"
        )
        self.logs.append(log)
        return completed

    def client(self, service):
        session = boto3.session.Session(
            aws_access_key_id=DEPLOYER_KEY,
            aws_secret_access_key="rehearsal-deployer-secret",
            region_name=REGION,
        )
        return session.client(service, endpoint_url=self.url)

    def stage(self, name):
        return json.loads((self.tree / "zappa_settings.json").read_text())[name]

    def outputs(self, stage):
        [stack] = self.client("cloudformation").describe_stacks(
            StackName=f"amphibian-{stage}-infra"
        )["Stacks"]
        return {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}

    def function(self, stage):
        return self.client("lambda").get_function(FunctionName=f"amphibian-{stage}")

    def deployed_zip(self, stage):
        """The zip in the deployment bucket whose SHA-256 is the function's CodeSha256
        (moto's Code.Location is not a real URL): the code Lambda would run."""
        wanted = self.function(stage)["Configuration"]["CodeSha256"]
        s3 = self.client("s3")
        bucket = self.stage(stage)["s3_bucket"]
        for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            if not item["Key"].endswith(".zip"):
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            if base64.b64encode(hashlib.sha256(body).digest()).decode() == wanted:
                path = self.workdir / f"deployed-{stage}.zip"
                path.write_bytes(body)
                return path
        raise AssertionError(f"no zip in {bucket} has the function's CodeSha256 {wanted}")

    def function_keys(self, function_name):
        """The access keys the account's own runs of ``function_name`` signed with (the
        emulator logs the credentials it assumed for each of the function's pools)."""
        marker = f"{function_name} runs locally; the emulator substitutes AWS_ACCESS_KEY_ID="
        return {
            line.split(marker, 1)[1].split(",", 1)[0]
            for line in self.account.output
            if marker in line
        }

    def records(self):
        """Every request the account received, as the recorder wrote them."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line]


def app_environment(rehearsal, stage):
    """The deployed function's own configuration as a local Lambda's environment, with the
    account's substitutions (deploy.tools.rehearsal.functions.local_environment)."""
    from deploy.tools.rehearsal.functions import local_environment

    configuration = rehearsal.function(stage)["Configuration"]
    return local_environment(configuration, rehearsal.url)


def imported_certificate(acm, domain):
    """A self-signed certificate for ``domain`` in the account's ACM: what the README's
    prerequisites have a user issue before the first deploy (the ALB's listener and the CDN
    name one that exists)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return acm.import_certificate(
        Certificate=certificate.public_bytes(serialization.Encoding.PEM),
        PrivateKey=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )["CertificateArn"]


def prepare_stage(rehearsal, stage):
    """The prerequisites a user sees to before the first deploy: the stage's certificates
    (the CDN's and the load balancer's), their ARNs in the stage's parameter file."""
    path = rehearsal.tree / "deploy" / "aws" / "parameters" / f"{stage}.json"
    parameters = json.loads(path.read_text())
    acm = rehearsal.client("acm")
    parameters["CertificateArn"] = imported_certificate(acm, parameters["AppDomain"])
    if "AlbCertificateArn" in parameters:
        parameters["AlbCertificateArn"] = imported_certificate(acm, parameters["AppOriginDomain"])
    path.write_text(json.dumps(parameters, indent=4) + "\n")


def ensure_secret_key(rehearsal, stage):
    """What the README tells a user to do once per stage: the secret key in SSM."""
    path = rehearsal.outputs(stage)["SecretsParameterPath"]
    rehearsal.client("ssm").put_parameter(
        Name=f"{path}/DJANGO_SECRET_KEY",
        Value=base64.urlsafe_b64encode(os.urandom(48)).decode(),
        Type="SecureString",
        Overwrite=True,
    )

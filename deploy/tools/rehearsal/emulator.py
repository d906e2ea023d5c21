"""An empty AWS account on loopback for the deploy rehearsal: moto's server, fresh.

Unlike the local stack (``deploy.tools.localaws``: provisioned, its state saved and
restored), the account starts with nothing in it and keeps nothing: the rehearsal deploys
everything into it, as into a new AWS account. It serves on 127.0.0.1 only, with the
CloudFormation models moto lacks (``cfn_models``), the routes it lacks (``routes``) and, with
``record``, one JSON line per request (``recorder``). The rehearsal's optional modules run
the account's Lambda invocations and execute-api front (``functions``, ``execute_api``), its
databases (``databases``), its ECR registry (``registry``) and ECS containers
(``containers``); they read ``url`` and ``state_dir``.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from deploy.tools.harness.processes import ROOT, stop_process, subprocess_env
from deploy.tools.localaws.server import LocalAWS
from deploy.tools.rehearsal import sibling
from deploy.tools.rehearsal.recorder import RequestRecorder
from deploy.tools.rehearsal.routes import ExtraRoutes

HOST = "127.0.0.1"
# Public parameters AWS publishes in every account that moto does not: Debian's AMI ids
# (the template's Ec2ImageId default). Each answers one of moto's own Linux images.
PUBLIC_PARAMETER_PREFIXES = ("/aws/service/debian/",)


def publish_public_parameters():
    """Let moto's Parameter Store answer ``PUBLIC_PARAMETER_PREFIXES`` in every region, as
    CloudFormation resolves an ``AWS::SSM::Parameter::Value`` parameter's default through it."""
    from moto.core.utils import utcnow
    from moto.ec2.models import ec2_backends
    from moto.ssm.models import Parameter, ParameterDict

    load = ParameterDict._check_loading_status
    if getattr(load, "publishes_public_parameters", False):
        return

    def check_loading_status(self, key):
        load(self, key)
        key = str(key or "")
        if key.startswith(PUBLIC_PARAMETER_PREFIXES) and not dict.get(self, key):
            images = ec2_backends[self.account_id][self.region_name].describe_images()
            image = next(
                i for i in images if i.architecture == "x86_64" and i.platform != "windows"
            )
            defaultdict.__getitem__(self, key).append(
                Parameter(  # type: ignore[abstract]  # moto instantiates it so too
                    account_id=self.account_id,
                    name=key,
                    value=image.id,
                    parameter_type="String",
                    description=None,
                    allowed_pattern=None,
                    keyid=None,
                    last_modified_date=utcnow(),
                    version=1,
                    data_type="aws:ec2:image",
                )
            )

    check_loading_status.publishes_public_parameters = True  # type: ignore[attr-defined]
    ParameterDict._check_loading_status = check_loading_status  # type: ignore[method-assign]


class EmulatedAccount(LocalAWS):
    """``EmulatedAccount(port=0, record=None, state_dir=None).start()``; ``url``; ``stop()``.

    ``port`` 0 picks a free one. ``record``: the JSON-lines file requests are appended to.
    ``state_dir``: where the optional modules keep files (a temporary directory, removed on
    stop, when not given).
    """

    def __init__(self, port=0, record=None, state_dir=None):
        super().__init__(host=HOST, port=port)
        self.record = Path(record) if record else None
        self._temporary_state = state_dir is None
        self.state_dir = Path(state_dir or tempfile.mkdtemp(prefix="emulatedaws-"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._recorder: RequestRecorder | None = None
        self._functions = None
        self._execute_api = None
        self._registry = self._registry_server = None
        self._containers = None

    def start(self):
        from deploy.tools.rehearsal import cfn_models

        cfn_models.install()  # before the first stack is parsed
        publish_public_parameters()
        # AWS's managed policies exist in every account (the ECS task execution role
        # attaches one); moto loads them only when asked, before its IAM starts.
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        super().start()
        self._functions = sibling("functions")
        if self._functions is not None:
            self._functions.install(self)
        self._execute_api = sibling("execute_api")
        if self._execute_api is not None:
            self._execute_api.start(self)
        self._registry = sibling("registry")
        if self._registry is not None:
            self._registry_server = self._registry.start(self)
            self._containers = sibling("containers")
            if self._containers is not None:
                self._containers.install(self)
        return self

    def _track_writes(self, app):
        # LocalAWS's one wrapping point: routes moto lacks inside, the recorder outermost so
        # it sees every request as sent and holds none of the stack's locks.
        app = super()._track_writes(ExtraRoutes(app))
        if self.record is not None:
            self._recorder = RequestRecorder(app, self.record)
            return self._recorder
        return app

    def stop(self):
        if self._containers is not None:
            self._containers.uninstall()
        if self._registry is not None and self._registry_server is not None:
            self._registry.stop(self._registry_server)
        if self._execute_api is not None:
            self._execute_api.stop()
        if self._functions is not None:
            self._functions.uninstall()
        super().stop()
        databases = sibling("databases")
        if databases is not None:
            databases.drop_all()
        if self._recorder is not None:
            self._recorder.close()
        if self._temporary_state:
            shutil.rmtree(self.state_dir, ignore_errors=True)


READY = "emulated AWS account on "


class EmulatedAccountProcess:
    """``manage.py emulatedaws`` as its own process, as the rehearsal and a developer start it.

    ``start()`` waits for the ready line and reads the URL from it (``port`` 0: the account
    picks a free one); ``stop()`` sends SIGTERM, which stops it cleanly.
    """

    def __init__(self, port=0, record=None, state_dir=None, env=None):
        self.port = port
        self.record = record
        self.state_dir = state_dir
        self.env = env
        self.url = ""
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    def command(self):
        args = [sys.executable, "manage.py", "emulatedaws", "--port", str(self.port)]
        if self.record:
            args += ["--record", str(self.record)]
        if self.state_dir:
            args += ["--state-dir", str(self.state_dir)]
        return args

    def start(self, timeout=60):
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and argv
            self.command(),
            cwd=ROOT,
            env=self.env or subprocess_env(DJANGO_DEPLOY_TARGET="local"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self._ready = threading.Event()
        # One reader for the whole run: it finds the ready line, then keeps the pipe drained.
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"emulatedaws was not ready in {timeout}s (exit code "
                    f"{self.process.returncode}):\n" + "".join(self.output)
                )
        return self

    def _read(self, stdout):
        for line in stdout:
            self.output.append(line)
            if line.startswith(READY) and not self.url:
                self.url = line[len(READY) :].strip()
                self.port = int(self.url.rsplit(":", 1)[1])
                self._ready.set()

    def stop(self):
        if self.process is not None:
            stop_process(self.process)
        return self.process.returncode if self.process else None

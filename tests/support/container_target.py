"""The server target's image (deploy/container), built and run with podman.

Shared by ``test_container.py`` and the end-to-end suite. Base images cannot be pulled here,
so the base is Debian trixie + Python 3.13 made with ``debootstrap --variant=minbase`` and
passed as ``BASE_IMAGE``; it is built once and kept.
"""

import os
import shutil
import subprocess

from deploy.tools.harness.processes import ROOT
from tests.fixtures import require

# Debian 13 (trixie): its python3 is the 3.13 the lock files and the Lambda runtime use.
BASE_IMAGE = "localhost/amphibian-base:trixie"
IMAGE = "localhost/amphibian:test"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class Podman:
    """The podman CLI with a containers.conf for this machine, written under ``conf_dir``."""

    def __init__(self, conf_dir):
        for tool in ("podman", "debootstrap", "runc"):
            require(shutil.which(tool), tool, "make server-deps (apt-get install podman ...)")
        conf = conf_dir / "containers.conf"
        # This machine's kernel and limits: runc (crun fails here), ulimits podman may set.
        conf.write_text(
            '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
            '[engine]\nruntime = "runc"\n'
        )
        self.env = {**os.environ, "CONTAINERS_CONF": str(conf)}

    def __call__(self, *args, timeout=900, **kwargs):
        return subprocess.run(
            [shutil.which("podman"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    def build_image(self, scratch_dir):
        """deploy/container/Dockerfile built as ``IMAGE`` (the base image first if missing)."""
        if self("image", "exists", BASE_IMAGE).returncode != 0:
            self._build_base(scratch_dir / "trixie")
        secret = ["--secret", f"id=pip_cert,src={CA_BUNDLE}"] if os.path.exists(CA_BUNDLE) else []
        built = self(
            *("build", "--format", "docker", "-f", "deploy/container/Dockerfile"),
            *("--ignorefile", "deploy/container/Dockerfile.dockerignore"),
            *("--build-arg", f"BASE_IMAGE={BASE_IMAGE}", *secret, "-t", IMAGE, "."),
            cwd=ROOT,
        )
        assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
        return IMAGE

    def _build_base(self, rootfs):
        subprocess.run(
            [
                *(shutil.which("debootstrap"), "--variant=minbase"),
                "--include=python3,python3-venv,ca-certificates",
                *("trixie", str(rootfs), "http://deb.debian.org/debian"),
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)  # noqa: S607
        imported = self("import", "-", BASE_IMAGE, stdin=tar.stdout)
        tar.wait(timeout=60)
        assert imported.returncode == 0, imported.stderr
        shutil.rmtree(rootfs)

    def start(self, name, image, env, role, log_path):
        """``image``'s entrypoint ``role`` in the foreground, its output to ``log_path``.

        Host networking: the local AWS stack and PostgreSQL listen on this machine's loopback.
        Stop it with ``remove(name)``, which also ends the returned ``podman run`` process.
        """
        env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
        with open(log_path, "w") as log:
            return subprocess.Popen(
                [
                    *(shutil.which("podman"), "run", "--rm", "--name", name),
                    *("--network", "host", *env_args, image, role),
                ],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def remove(self, name, process):
        """Stop container ``name`` (10 s for a graceful exit), remove it, reap ``process``."""
        self("rm", "--force", "--time", "10", "--ignore", name, timeout=60)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

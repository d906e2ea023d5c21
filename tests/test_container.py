"""The image from deploy/container, built and run with podman (slow: ``make test-container``).

Base images cannot be pulled here, so the base is Debian bookworm + Python 3.11 made with
``debootstrap --variant=minbase`` and passed as ``BASE_IMAGE``; it is built once and kept.
"""

import os
import shutil
import subprocess

import pytest
from django.conf import settings

from tests.fixtures import ROOT, free_port, require
from tests.server_target import Browser, Database, server_env, smoke_scenario, wait_for_health

pytestmark = pytest.mark.container

BASE_IMAGE = "localhost/amphibian-base:bookworm"
IMAGE = "localhost/amphibian:test"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


@pytest.fixture(scope="module")
def podman(tmp_path_factory):
    for tool in ("podman", "debootstrap", "runc"):
        require(shutil.which(tool), tool, "make server-deps (apt-get install podman ...)")
    conf = tmp_path_factory.mktemp("podman") / "containers.conf"
    # This machine's kernel and limits: runc (crun fails here), ulimits podman may set.
    conf.write_text(
        '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n'
        '[engine]\nruntime = "runc"\n'
    )
    env = {**os.environ, "CONTAINERS_CONF": str(conf)}

    def run(*args, timeout=900, **kwargs):
        return subprocess.run(
            [shutil.which("podman"), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            **kwargs,
        )

    return run


@pytest.fixture(scope="module")
def image(podman, tmp_path_factory):
    if podman("image", "exists", BASE_IMAGE).returncode != 0:
        rootfs = tmp_path_factory.mktemp("rootfs") / "bookworm"
        subprocess.run(
            [
                *(shutil.which("debootstrap"), "--variant=minbase"),
                "--include=python3,python3-venv,ca-certificates",
                *("bookworm", str(rootfs), "http://deb.debian.org/debian"),
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)  # noqa: S607
        imported = podman("import", "-", BASE_IMAGE, stdin=tar.stdout)
        tar.wait(timeout=60)
        assert imported.returncode == 0, imported.stderr
        shutil.rmtree(rootfs)
    secret = ["--secret", f"id=pip_cert,src={CA_BUNDLE}"] if os.path.exists(CA_BUNDLE) else []
    built = podman(
        *("build", "--format", "docker", "-f", "deploy/container/Dockerfile"),
        *("--ignorefile", "deploy/container/Dockerfile.dockerignore"),
        *("--build-arg", f"BASE_IMAGE={BASE_IMAGE}", *secret, "-t", IMAGE, "."),
        cwd=ROOT,
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return IMAGE


@pytest.fixture(scope="module")
def container(podman, image, local_aws, postgres_url):
    database = Database(postgres_url, prefix="amphibian_container")
    port = free_port()
    name = f"amphibian-test-{port}"
    env = server_env(
        local_aws,
        database.url,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",
        DJANGO_MIGRATE_ON_START="true",
    )
    env.pop("PYTHONUNBUFFERED")
    env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    # Host networking: the local AWS stack and PostgreSQL listen on this machine's loopback.
    started = podman("run", "-d", "--rm", "--name", name, "--network", "host", *env_args, image)
    assert started.returncode == 0, started.stderr
    try:
        wait_for_health("127.0.0.1", port, 120)
        yield {"url": f"http://127.0.0.1:{port}", "name": name}
    finally:
        logs = podman("logs", name).stdout
        podman("stop", "-t", "10", name, timeout=60)
        database.drop()
        print(logs[-4000:])


def test_image_runs_as_non_root_without_compilers(podman, image):
    result = podman(
        "run", "--rm", "--entrypoint", "sh", image, "-c", "id -un; command -v gcc cc make || true"
    )
    assert result.stdout.split() == ["amphibian"], result.stdout + result.stderr


def test_container_serves_the_smoke_scenario(container, podman):
    browser = Browser(container["url"], forwarded_proto="https")
    smoke_scenario(browser, settings.LOCALAWS_DEMO_USERNAME, settings.LOCALAWS_DEMO_PASSWORD)
    # The image's HEALTHCHECK, run by podman itself.
    health = podman("healthcheck", "run", container["name"], timeout=60)
    assert health.returncode == 0, health.stdout + health.stderr

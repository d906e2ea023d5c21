"""The image from deploy/container, built and run with podman (slow: ``make test-container``).

How the image is built and run: ``tests/support/container_target.py``.
"""

import pytest
from django.conf import settings

from deploy.tools.harness.browser import Browser
from deploy.tools.harness.loopback import free_port
from deploy.tools.harness.postgres import PostgresDatabase
from deploy.tools.harness.server import server_env, wait_for_health
from tests.support.shipped import developer_files
from tests.support.smoke import smoke_scenario

pytestmark = pytest.mark.container


@pytest.fixture(scope="module")
def container(podman, container_image, local_aws, postgres_url, tmp_path_factory):
    database = PostgresDatabase(postgres_url, prefix="amphibian_container")
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
    log_path = tmp_path_factory.mktemp("container") / "web.log"
    process = podman.start(name, container_image, env, "web", log_path)
    try:
        wait_for_health("127.0.0.1", port, 120, process, log_path)
        yield {"url": f"http://127.0.0.1:{port}", "name": name}
    finally:
        podman.remove(name, process)
        database.drop()
        print(log_path.read_text()[-4000:])


def test_image_runs_as_non_root_without_compilers(podman, container_image):
    result = podman(
        *("run", "--rm", "--entrypoint", "sh", container_image),
        *("-c", "id -un; command -v gcc cc make || true"),
    )
    assert result.stdout.split() == ["amphibian"], result.stdout + result.stderr


def test_image_carries_no_developer_tools(podman, container_image):
    listing = podman(
        *("run", "--rm", "--entrypoint", "sh", container_image),
        "-c",
        "cd /opt/amphibian/app && find . -type f | cut -c3- && "
        "cd /opt/amphibian/venv/lib/python3*/site-packages && find . -maxdepth 2 | cut -c3-",
    )
    names = listing.stdout.split()
    assert "apps/core/aws.py" in names and "django/http" in names, listing.stderr
    assert developer_files(names) == []


def test_container_serves_the_smoke_scenario(container, podman):
    browser = Browser(container["url"], forwarded_proto="https")
    smoke_scenario(browser, settings.LOCALAWS_DEMO_USERNAME, settings.LOCALAWS_DEMO_PASSWORD)
    # The image's HEALTHCHECK, run by podman itself.
    health = podman("healthcheck", "run", container["name"], timeout=60)
    assert health.returncode == 0, health.stdout + health.stderr

"""The shared counter under real concurrency: threads against the local-memory cache and
against DynamoDB in the local stack (issue 16, finding 3)."""

import concurrent.futures
import uuid

import pytest
from django.core.cache import cache

from apps.core import limits
from deploy.tools.harness.loopback import free_port

BACKENDS = ["cache", "dynamodb"]


@pytest.fixture(params=BACKENDS)
def backend(request, settings):
    if request.param == "dynamodb":
        request.getfixturevalue("local_aws")
    settings.RATE_LIMIT_BACKEND = request.param
    cache.clear()
    return request.param


def counter():
    return limits.key("test", uuid.uuid4())


def test_parallel_hits_each_get_their_own_count(backend):
    name = counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        counts = list(pool.map(lambda _: limits.hit(name, 60), range(48)))
    # No two requests saw the same count: a limit of n lets exactly n through.
    assert sorted(counts) == list(range(1, 49))


def test_undo_and_reset(backend):
    name = counter()
    assert [limits.hit(name, 60) for _ in range(3)] == [1, 2, 3]
    limits.undo(name, 60)
    assert limits.hit(name, 60) == 3
    limits.reset(name, 60)
    assert limits.hit(name, 60) == 1


def test_counters_are_independent_and_keys_bounded(backend):
    first, second = limits.key("a", "x" * 10_000), limits.key("a", "\ud800")
    assert len(first) < 100
    assert limits.hit(first, 60) == 1
    assert limits.hit(second, 60) == 1


def test_dynamodb_window_is_its_own_item_with_a_ttl(local_aws, settings):
    settings.RATE_LIMIT_BACKEND = "dynamodb"
    from apps.core import aws

    name = counter()
    limits.hit(name, 900)
    items = aws.client("dynamodb").scan(TableName=settings.RATE_LIMITS_TABLE)["Items"]
    (item,) = [i for i in items if i[limits.KEY_ATTRIBUTE]["S"].startswith(name + "@")]
    start = int(item[limits.KEY_ATTRIBUTE]["S"].rsplit("@", 1)[1])
    assert start % 900 == 0
    assert int(item[limits.TTL_ATTRIBUTE]["N"]) == start + 900


def test_dynamodb_down_is_limits_unavailable(local_aws, settings):
    settings.RATE_LIMIT_BACKEND = "dynamodb"
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.AWS_MAX_ATTEMPTS, settings.AWS_CONNECT_TIMEOUT = 1, 0.5
    with pytest.raises(limits.LimitsUnavailable):
        limits.hit(counter(), 60)

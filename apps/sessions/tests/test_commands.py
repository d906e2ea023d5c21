"""``manage.py createsessionstable`` against moto's server."""

import io
import uuid

import pytest
from django.core.management import CommandError, call_command

from apps.core import aws
from apps.sessions.backends.dynamodb import KEY_ATTRIBUTE as SESSIONS_KEY_ATTRIBUTE
from apps.sessions.backends.dynamodb import TTL_ATTRIBUTE as SESSIONS_TTL_ATTRIBUTE
from deploy.tools.harness.loopback import free_port

pytestmark = pytest.mark.usefixtures("local_aws")


def createsessionstable(*args):
    out = io.StringIO()
    call_command("createsessionstable", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def new_table(settings):
    settings.SESSIONS_TABLE = f"sessions-{uuid.uuid4().hex[:12]}"
    yield settings.SESSIONS_TABLE
    dynamodb = aws.client("dynamodb")
    if settings.SESSIONS_TABLE in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=settings.SESSIONS_TABLE)


def test_creates_the_table_on_demand_with_ttl_then_verifies_it(new_table):
    assert "Created the sessions table" in createsessionstable()

    dynamodb = aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=new_table)["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": SESSIONS_KEY_ATTRIBUTE, "KeyType": "HASH"}]
    ttl = dynamodb.describe_time_to_live(TableName=new_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": SESSIONS_TTL_ATTRIBUTE}

    assert "Verified the sessions table" in createsessionstable()
    assert "Verified the sessions table" in createsessionstable("--check")


def test_the_local_stacks_table_passes_the_check(settings):
    assert f"Verified the sessions table {settings.SESSIONS_TABLE}" in createsessionstable(
        "--check"
    )


def test_check_changes_nothing_and_fails_on_a_missing_table(new_table):
    with pytest.raises(CommandError, match="does not exist"):
        createsessionstable("--check")
    assert new_table not in aws.client("dynamodb").list_tables()["TableNames"]


def test_check_names_every_difference(new_table):
    aws.client("dynamodb").create_table(
        TableName=new_table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    with pytest.raises(CommandError) as raised:
        createsessionstable("--check")
    message = str(raised.value)
    for problem in (
        "key schema is",
        "session_key is not of type S",
        "billing mode is PROVISIONED",
    ):
        assert problem in message
    assert "TTL is off" in message


def test_unreachable_dynamodb_is_a_clear_error(settings):
    settings.AWS_ENDPOINT_URL = f"http://127.0.0.1:{free_port()}"
    settings.AWS_MAX_ATTEMPTS = 1
    with pytest.raises(CommandError, match="Cannot create the sessions table"):
        createsessionstable()

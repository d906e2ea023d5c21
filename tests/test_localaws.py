"""The local AWS stack as ``make run`` starts it: provisioned, and its state survives restarts."""

import json
import signal
import time
import urllib.error
import urllib.request

import boto3
import pytest
from botocore.config import Config

from apps.sessions.backends.dynamodb import KEY_ATTRIBUTE as SESSIONS_KEY_ATTRIBUTE
from apps.sessions.backends.dynamodb import TTL_ATTRIBUTE as SESSIONS_TTL_ATTRIBUTE
from project.settings import test as test_settings


def clients(url):
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    config = Config(retries={"mode": "standard", "total_max_attempts": 2})
    return {
        name: session.client(name, endpoint_url=url, config=config)
        for name in ("dynamodb", "s3", "cognito-idp", "ssm")
    }


def sign_in(cognito, client_id, username, password):
    result = cognito.initiate_auth(
        ClientId=client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )["AuthenticationResult"]
    return cognito.get_user(AccessToken=result["AccessToken"])


def write_state(aws, outputs):
    aws["dynamodb"].put_item(
        TableName=test_settings.SESSIONS_TABLE,
        Item={
            SESSIONS_KEY_ATTRIBUTE: {"S": "k1"},
            "data": {"S": "signed-session-data"},
            "raw": {"B": b"\x00\xffbinary"},
            SESSIONS_TTL_ATTRIBUTE: {"N": str(int(time.time()) + 3600)},
        },
    )
    aws["s3"].put_object(
        Bucket=test_settings.MEDIA_BUCKET,
        Key="uploads/someone/1/photo.jpg",
        Body=b"\xff\xd8jpeg-bytes" * 1000,
        ContentType="image/jpeg",
        Metadata={"original-name": "photo.jpg"},
    )
    aws["ssm"].put_parameter(Name="/amphibian/test/secret", Value="s3cret", Type="SecureString")
    pool_id = outputs["COGNITO_USER_POOL_ID"]
    aws["cognito-idp"].admin_create_user(
        UserPoolId=pool_id,
        Username="ada@example.com",
        UserAttributes=[{"Name": "email", "Value": "ada@example.com"}],
        MessageAction="SUPPRESS",
    )
    aws["cognito-idp"].admin_set_user_password(
        UserPoolId=pool_id,
        Username="ada@example.com",
        Password="Ada-Lovelace-1815",
        Permanent=True,
    )
    aws["cognito-idp"].admin_add_user_to_group(
        UserPoolId=pool_id, Username="ada@example.com", GroupName="admins"
    )


def read_state(aws, outputs):
    item = aws["dynamodb"].get_item(
        TableName=test_settings.SESSIONS_TABLE,
        Key={SESSIONS_KEY_ATTRIBUTE: {"S": "k1"}},
        ConsistentRead=True,
    )["Item"]
    obj = aws["s3"].get_object(
        Bucket=test_settings.MEDIA_BUCKET, Key="uploads/someone/1/photo.jpg"
    )
    client_id = outputs["COGNITO_APP_CLIENT_ID"][0]
    ada = sign_in(aws["cognito-idp"], client_id, "ada@example.com", "Ada-Lovelace-1815")
    groups = aws["cognito-idp"].admin_list_groups_for_user(
        UserPoolId=outputs["COGNITO_USER_POOL_ID"], Username="ada@example.com"
    )["Groups"]
    ttl = aws["dynamodb"].describe_time_to_live(TableName=test_settings.SESSIONS_TABLE)
    return {
        "item": item,
        "body": obj["Body"].read(),
        "content_type": obj["ContentType"],
        "metadata": obj["Metadata"],
        "secret": aws["ssm"].get_parameter(Name="/amphibian/test/secret", WithDecryption=True)[
            "Parameter"
        ]["Value"],
        "ada_sub": {a["Name"]: a["Value"] for a in ada["UserAttributes"]}["sub"],
        "ada_groups": [g["GroupName"] for g in groups],
        "ttl": ttl["TimeToLiveDescription"],
    }


def outputs_of(stack):
    return json.loads((stack.state_dir / "outputs.json").read_text())


def test_fresh_stack_is_provisioned_with_a_working_demo_login(localaws_process):
    stack = localaws_process()
    outputs = outputs_of(stack)
    aws = clients(stack.url)
    assert test_settings.SESSIONS_TABLE in aws["dynamodb"].list_tables()["TableNames"]
    ttl = aws["dynamodb"].describe_time_to_live(TableName=test_settings.SESSIONS_TABLE)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == SESSIONS_TTL_ATTRIBUTE
    public = aws["s3"].get_public_access_block(Bucket=test_settings.MEDIA_BUCKET)
    assert all(public["PublicAccessBlockConfiguration"].values())
    cors = aws["s3"].get_bucket_cors(Bucket=test_settings.MEDIA_BUCKET)["CORSRules"][0]
    assert "POST" in cors["AllowedMethods"]
    user = sign_in(
        aws["cognito-idp"],
        outputs["COGNITO_APP_CLIENT_ID"][0],
        test_settings.LOCALAWS_DEMO_USERNAME,
        test_settings.LOCALAWS_DEMO_PASSWORD,
    )
    assert {"Name": "email", "Value": "demo@example.com"} in user["UserAttributes"]

    stack.stop()
    assert "demo login      demo@example.com / Amphibian-test-1" in stack.output


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGKILL], ids=["stop", "kill"])
def test_state_survives_a_restart(localaws_process, tmp_path, stop_signal):
    state_dir = tmp_path / "state"
    first = localaws_process(state_dir)
    outputs = outputs_of(first)
    write_state(clients(first.url), outputs)
    before = read_state(clients(first.url), outputs)
    if stop_signal == signal.SIGKILL:
        time.sleep(1.5)  # the saver writes at most every 0.5 s; a hard kill loses only that
    first.stop(stop_signal)

    second = localaws_process(state_dir, port=first.port)
    assert outputs_of(second)["COGNITO_USER_POOL_ID"] == outputs["COGNITO_USER_POOL_ID"]
    assert outputs_of(second)["COGNITO_APP_CLIENT_ID"] == outputs["COGNITO_APP_CLIENT_ID"]
    after = read_state(clients(second.url), outputs)
    assert after == before
    assert after["item"]["raw"]["B"] == b"\x00\xffbinary"
    assert after["ada_groups"] == ["admins"]


def test_the_demo_user_is_the_same_one_after_a_restart(localaws_process, tmp_path):
    state_dir = tmp_path / "state"
    first = localaws_process(state_dir)
    pool_id = outputs_of(first)["COGNITO_USER_POOL_ID"]
    before = demo_users(clients(first.url)["cognito-idp"], pool_id)
    time.sleep(1.5)  # saved
    first.stop()
    second = localaws_process(state_dir, port=first.port)
    cognito = clients(second.url)["cognito-idp"]
    after = demo_users(cognito, pool_id)
    # One user, the same sub: the app's user (and the demo's files) are keyed on it.
    assert len(after) == 1 and after == before
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool_id, Username=after[0][0])
    assert [group["GroupName"] for group in groups["Groups"]] == ["admins"]


def demo_users(cognito, pool_id):
    """``[(username, sub)]`` of the pool's users with the demo e-mail."""
    email = test_settings.LOCALAWS_DEMO_USERNAME
    users = cognito.list_users(UserPoolId=pool_id, Filter=f'email = "{email}"')["Users"]
    return [
        (user["Username"], next(a["Value"] for a in user["Attributes"] if a["Name"] == "sub"))
        for user in users
    ]


def test_deleted_data_stays_deleted_after_a_restart(localaws_process, tmp_path):
    state_dir = tmp_path / "state"
    first = localaws_process(state_dir)
    aws = clients(first.url)
    aws["s3"].put_object(Bucket=test_settings.MEDIA_BUCKET, Key="gone.txt", Body=b"x")
    time.sleep(1.5)  # saved with its body
    assert list(state_dir.glob("blobs/*"))
    aws["s3"].delete_object(Bucket=test_settings.MEDIA_BUCKET, Key="gone.txt")
    first.stop()

    second = localaws_process(state_dir, port=first.port)
    listed = clients(second.url)["s3"].list_objects_v2(Bucket=test_settings.MEDIA_BUCKET)
    assert listed.get("KeyCount", 0) == 0
    assert not list(state_dir.glob("blobs/*"))  # the body's file went with the object


def test_the_static_bucket_stands_in_for_the_cdn_and_media_stays_private(local_aws):
    s3 = clients(local_aws.url)["s3"]
    s3.put_object(Bucket=test_settings.STATIC_BUCKET, Key="static/css/x.css", Body=b"a{}")
    s3.put_object(Bucket=test_settings.STATIC_BUCKET, Key="other/x.txt", Body=b"no")
    s3.put_object(Bucket=test_settings.MEDIA_BUCKET, Key="uploads/x.txt", Body=b"no")

    def anonymous_get(bucket, key):
        try:
            with urllib.request.urlopen(f"{local_aws.url}/{bucket}/{key}", timeout=5) as reply:
                return reply.status, reply.read()
        except urllib.error.HTTPError as error:
            return error.code, b""

    assert anonymous_get(test_settings.STATIC_BUCKET, "static/css/x.css") == (200, b"a{}")
    assert anonymous_get(test_settings.STATIC_BUCKET, "other/x.txt")[0] == 403
    assert anonymous_get(test_settings.MEDIA_BUCKET, "uploads/x.txt")[0] == 403

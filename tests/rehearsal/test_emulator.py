"""The emulated account as ``manage.py emulatedaws`` serves it: empty, loopback only, one
recorded line per request, the routes moto lacks; and the Zappa deploy run against it."""

import io
import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
import zipfile

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from django.core.management import call_command
from django.core.management.base import CommandError

from deploy.tools.harness.processes import ROOT, subprocess_env
from deploy.tools.rehearsal.emulator import EmulatedAccountProcess
from deploy.tools.rehearsal.recorder import MAX_BODY, RequestRecorder
from tests.rehearsal import REGION, client


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """An account started by hand, with its request log."""
    log = tmp_path_factory.mktemp("record") / "requests.jsonl"
    process = EmulatedAccountProcess(record=log).start()
    yield process, log
    assert process.stop() == 0, "".join(process.output)


def lines(log):
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_the_account_starts_empty_and_says_where_it_is(recorded):
    process, _ = recorded
    assert process.url == f"http://127.0.0.1:{process.port}"
    assert any(line.startswith("emulated AWS account on ") for line in process.output)
    assert client(process, "s3").list_buckets()["Buckets"] == []
    assert client(process, "cloudformation").describe_stacks()["Stacks"] == []
    assert client(process, "lambda").list_functions()["Functions"] == []


def test_each_request_is_one_line_with_who_called_what(recorded):
    process, log = recorded
    before = len(lines(log))
    s3 = client(process, "s3")
    bucket = f"recorded-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="files/a b.txt", Body=b"object bytes")
    client(process, "sqs").create_queue(QueueName="recorded")
    with pytest.raises(ClientError):
        client(process, "dynamodb").describe_table(TableName="missing")

    create, put, queue, table = lines(log)[before:]
    assert create["access_key"] == "testing"
    assert (create["service"], create["region"], create["method"]) == ("s3", "us-east-1", "PUT")
    assert create["path"] == f"/{bucket}" and create["status"] == 200
    # The object's key as sent (percent-encoded), its bytes not kept.
    assert put["path"] == f"/{bucket}/files/a%20b.txt"
    assert "body" not in put and put["body_omitted"] == len(b"object bytes")
    assert queue["service"] == "sqs"
    assert json.loads(queue["body"]) == {"QueueName": "recorded"}
    assert queue["headers"]["x-amz-target"] == "AmazonSQS.CreateQueue"
    assert table["headers"]["x-amz-target"] == "DynamoDB_20120810.DescribeTable"
    assert table["status"] == 400
    assert set(table) >= {"time", "query", "headers", "body"}
    assert table["headers"]["host"] == f"127.0.0.1:{process.port}"


@pytest.mark.parametrize(
    ("signature", "scope"), [("s3v4", ("s3", "us-east-1")), ("s3", (None, None))]
)
def test_presigned_urls_are_recorded_with_their_signer(recorded, signature, scope):
    process, log = recorded
    s3 = client(process, "s3", config=Config(signature_version=signature))
    s3.create_bucket(Bucket="presigned")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": "presigned", "Key": "k"}, ExpiresIn=60
    )
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(url, timeout=10)  # no such key: a 404, still recorded
    last = lines(log)[-1]
    assert (last["access_key"], last["service"], last["region"]) == ("testing", *scope)
    assert last["status"] == 404


def test_the_recorder_keeps_lines_whole_under_concurrent_requests(tmp_path):
    log = tmp_path / "requests.jsonl"

    def app(environ, start_response):
        start_response("204 No Content", [])
        return [b""]

    recorder = RequestRecorder(app, log)
    body = b"x" * (MAX_BODY - 10)

    def call():
        for _ in range(25):
            environ = {
                "REQUEST_METHOD": "POST",
                "PATH_INFO": "/",
                "CONTENT_LENGTH": str(len(body)),
                "wsgi.input": io.BytesIO(body),
            }
            recorder(environ, lambda status, headers, exc_info=None: None)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    recorder.close()
    recorded = lines(log)
    assert len(recorded) == 200
    assert {(line["body"], line["status"]) for line in recorded} == {(body.decode(), 204)}


def test_function_url_configs_are_listed(recorded):
    process, _ = recorded
    iam = client(process, "iam")
    role = iam.create_role(
        RoleName="urls",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    functions = client(process, "lambda")
    functions.create_function(
        FunctionName="urls",
        Runtime="python3.13",
        Role=role,
        Handler="h.handler",
        Code={"ZipFile": zip_of("h.py", b"def handler(event, context):\n    return 1\n")},
    )
    assert functions.list_function_url_configs(FunctionName="urls")["FunctionUrlConfigs"] == []
    created = functions.create_function_url_config(FunctionName="urls", AuthType="NONE")
    [listed] = functions.list_function_url_configs(FunctionName="urls")["FunctionUrlConfigs"]
    assert (listed["FunctionUrl"], listed["AuthType"]) == (created["FunctionUrl"], "NONE")
    with pytest.raises(functions.exceptions.ResourceNotFoundException):
        functions.list_function_url_configs(FunctionName="missing")


def zip_of(name, data):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, data)
    return buffer.getvalue()


def test_a_busy_port_is_a_clear_error():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match="already listens"):
            call_command("emulatedaws", "--port", str(port))


def test_its_state_directory_is_temporary_unless_given(tmp_path):
    given = EmulatedAccountProcess(state_dir=tmp_path / "state").start()
    temporary = EmulatedAccountProcess().start()
    try:
        assert (tmp_path / "state").is_dir()
        assert given.url.startswith("http://127.0.0.1:")
    finally:
        assert given.stop() == 0 and temporary.stop() == 0
    assert (tmp_path / "state").is_dir()  # kept: the caller's


# --- Zappa against the account ---------------------------------------------------------------
PACKAGE = ROOT / "var" / "package" / "amphibian-prod.zip"
IAM_ROLES = (
    "import sys\n"
    "from zappa.cli import ZappaCLI\n"
    "cli = ZappaCLI()\n"
    "cli.api_stage = sys.argv[1]\n"
    "cli.load_settings(sys.argv[2])\n"
    "cli.zappa.create_iam_roles()\n"
)


@pytest.fixture(scope="module")
def package():
    """The Lambda zip (deploy/lambda/package.py builds it when missing)."""
    if not PACKAGE.exists():
        subprocess.run(
            [sys.executable, "deploy/lambda/package.py", "--stage", "prod"],
            cwd=ROOT,
            check=True,
            timeout=900,
        )
    return PACKAGE


@pytest.fixture(scope="module")
def zappa_account(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zappa")
    process = EmulatedAccountProcess(record=folder / "requests.jsonl").start()
    settings = json.loads((ROOT / "zappa_settings.json").read_text())
    for stage in settings.values():
        # No HTTP request to the new URL, and the uploaded zip kept for the checks.
        stage.update(touch=False, delete_s3_zip=False)
    (folder / "zappa_settings.json").write_text(json.dumps(settings))
    env = subprocess_env(
        AWS_ENDPOINT_URL=process.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        # Nothing reaches the internet (Zappa asks PyPI for a newer version): a closed port.
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
    )
    yield process, folder, settings, env
    assert process.stop() == 0, "".join(process.output)


def zappa(folder, env, *args):
    """Zappa as the deploy runs it (its SnapStart alias is ``live``: deploy/tools/deploy/
    zappa_cli.py). These settings keep their ``events``, which Zappa itself schedules on the
    unqualified function; the deploy puts them on the alias instead (versions.py)."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "deploy.tools.deploy.zappa_cli", *args),
            *("-s", str(folder / "zappa_settings.json")),
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.parametrize("stage", ["prod", "dev"])
def test_zappa_deploys_updates_reports_and_undeploys(zappa_account, package, stage):
    account, folder, settings, env = zappa_account
    name = f"amphibian-{stage}"
    # What the infrastructure stack provides first: the media bucket the S3 event needs.
    client(account, "s3").create_bucket(
        Bucket=settings[stage]["aws_environment_variables"]["MEDIA_BUCKET"]
    )
    # `zappa deploy --zip` skips creating the role; the deploy creates it first.
    subprocess.run(
        [sys.executable, "-c", IAM_ROLES, stage, str(folder / "zappa_settings.json")],
        cwd=folder,
        env=env,
        check=True,
        timeout=60,
    )

    deploy = zappa(folder, env, "deploy", stage, "--zip", str(package), "--json")
    assert "Problem creating" not in deploy.stdout + deploy.stderr
    function = client(account, "lambda").get_function(FunctionName=name)["Configuration"]
    assert function["Handler"] == settings[stage]["lambda_handler"]
    alias = client(account, "lambda").get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] == "1"
    rules = client(account, "events").list_rule_names_by_target(TargetArn=function["FunctionArn"])
    assert len(rules["RuleNames"]) == 2  # the two schedules
    notification = client(account, "s3").get_bucket_notification_configuration(
        Bucket=settings[stage]["aws_environment_variables"]["MEDIA_BUCKET"]
    )
    assert [c["LambdaFunctionArn"] for c in notification["LambdaFunctionConfigurations"]] == [
        function["FunctionArn"]
    ]
    if settings[stage]["apigateway_version"] == "v2":
        apigateway = client(account, "apigatewayv2")
        [api] = [a for a in apigateway.get_apis()["Items"] if a["Name"] == name]
        [integration] = apigateway.get_integrations(ApiId=api["ApiId"])["Items"]
        [route] = apigateway.get_routes(ApiId=api["ApiId"])["Items"]
        assert integration["IntegrationUri"] == f"{function['FunctionArn']}:live"
        assert route["Target"] == f"integrations/{integration['IntegrationId']}"
    else:
        apis = client(account, "apigateway").get_rest_apis()["items"]
        assert [a["name"] for a in apis if a["name"] == name] == [name]

    zappa(folder, env, "update", stage, "--zip", str(package), "--json")
    status = json.loads(zappa(folder, env, "status", stage, "--json").stdout.splitlines()[-1])
    assert (status["Lambda Name"], status["Num. Event Rules"]) == (name, 2)

    zappa(folder, env, "undeploy", stage, "--yes", "--remove-logs")
    with pytest.raises(ClientError):
        client(account, "lambda").get_function(FunctionName=name)
    assert not client(account, "events").list_rule_names_by_target(
        TargetArn=function["FunctionArn"]
    )["RuleNames"]

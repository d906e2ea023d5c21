"""What the emulated account runs as real AWS would: functions (their zip, in the local
Lambda), RDS instances (real PostgreSQL databases) and execute-api (the APIs moto holds).

One emulated account in this process (moto's server on loopback, with ``functions``,
``databases`` and ``execute_api`` installed by its ``start()``), driven through boto3 as the
deploy drives it; the databases are the machine's PostgreSQL.
"""

import base64
import io
import json
import os
import textwrap
import urllib.error
import urllib.request
import uuid
import zipfile

import psycopg
import pytest

from deploy.tools.harness.postgres import POSTGRES_URL
from deploy.tools.harness.processes import ROOT
from deploy.tools.rehearsal import databases, functions
from deploy.tools.rehearsal.emulator import EmulatedAccount
from tests.fixtures import require
from tests.rehearsal import REGION, client

PACKAGE = ROOT / "var" / "package" / "amphibian-prod.zip"

HANDLERS = textwrap.dedent(
    """
    import json
    import os
    import urllib.request

    import boto3


    def echo(event, context):
        print("echo", json.dumps(event))
        return {"event": event, "request_id": context.aws_request_id}


    def environment(event, context):
        return dict(os.environ)


    def whoami(event, context):
        return boto3.client("sts").get_caller_identity()["Arn"]


    def outside(event, context):
        try:
            urllib.request.urlopen("http://example.com/", timeout=5)
        except OSError as exc:
            return type(exc).__name__
        return "reached the internet"


    def slow(event, context):
        import time

        time.sleep(30)


    def fail(event, context):
        print("failing", json.dumps(event))
        raise RuntimeError("always fails")


    def http(event, context):
        body = {
            "version": event.get("version", "1.0"),
            "path": event.get("rawPath") or event.get("path"),
            "stage": event["requestContext"]["stage"],
            "api": event["requestContext"]["apiId"],
        }
        return {"statusCode": 200, "headers": {"X-Handler": "http"}, "body": json.dumps(body)}
    """
)


def zipped(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    require(_postgres_answers(), "PostgreSQL on 127.0.0.1:5432", "start the machine's server")
    account = EmulatedAccount(state_dir=tmp_path_factory.mktemp("account")).start()
    yield account
    account.stop()


@pytest.fixture(scope="module")
def role(account):
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = client(account, "iam")
    return iam.create_role(RoleName="rehearsal-fn", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]


@pytest.fixture(scope="module")
def make_function(account, role):
    """Create a function from HANDLERS; returns its name."""
    lambda_ = client(account, "lambda")

    def make(handler, variables=None, timeout=10, code=None):
        name = f"fn-{handler}-{uuid.uuid4().hex[:6]}"
        lambda_.create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role,
            Handler=f"handlers.{handler}" if code is None else handler,
            Code=code or {"ZipFile": zipped({"handlers.py": HANDLERS})},
            Timeout=timeout,
            MemorySize=256,
            Environment={"Variables": variables or {}},
        )
        return name

    return make


def invoke(account, name, payload, **options):
    response = client(account, "lambda").invoke(
        FunctionName=name, Payload=json.dumps(payload).encode(), **options
    )
    response["Body"] = json.loads(response["Payload"].read() or b"null")
    return response


def test_request_response_returns_the_result_and_the_log_tail(account, make_function):
    name = make_function("echo")

    response = invoke(account, name, {"hello": "world"}, LogType="Tail")

    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["Body"]["event"] == {"hello": "world"}
    request_id = response["Body"]["request_id"]
    log = base64.b64decode(response["LogResult"]).decode().splitlines()
    assert log[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert 'echo {"hello": "world"}' in log
    assert log[-2] == f"END RequestId: {request_id}"
    assert log[-1].startswith(f"REPORT RequestId: {request_id}\tDuration: ")


def test_request_response_error_is_an_unhandled_function_error(account, make_function):
    name = make_function("fail")

    response = invoke(account, name, {"n": 0})

    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert response["Body"]["errorType"] == "RuntimeError"
    assert response["Body"]["errorMessage"] == "always fails"


def test_a_function_over_its_timeout_is_stopped_and_reported(account, make_function):
    name = make_function("slow", timeout=1)

    response = invoke(account, name, {}, LogType="Tail")

    assert response["FunctionError"] == "Unhandled"
    assert response["Body"]["errorType"] == "Sandbox.Timedout"
    log = base64.b64decode(response["LogResult"]).decode()
    assert "Task timed out after 1.00 seconds" in log
    assert "Status: timeout" in log.splitlines()[-1]


def test_event_invocation_runs_in_the_background_and_reports_success(account, make_function):
    name = make_function("echo")
    queue_arn, queue_url = _queue(account, "succeeded")
    client(account, "lambda").put_function_event_invoke_config(
        FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": queue_arn}}
    )

    response = invoke(account, name, {"task": 1}, InvocationType="Event")

    assert response["StatusCode"] == 202
    [record] = _records(account, queue_url, 1)
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["approximateInvokeCount"] == 1
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"]["event"] == {"task": 1}


def test_failing_event_ends_after_its_retries_as_one_on_failure_record(account, make_function):
    name = make_function("fail")
    queue_arn, queue_url = _queue(account, "failed")
    lambda_ = client(account, "lambda")
    lambda_.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    function_arn = lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]

    assert invoke(account, name, {"n": 7}, InvocationType="Event")["StatusCode"] == 202

    [record] = _records(account, queue_url, 1)
    assert set(record) == {
        "version",
        "timestamp",
        "requestContext",
        "requestPayload",
        "responseContext",
        "responsePayload",
    }
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    context = record["requestContext"]
    assert set(context) == {"requestId", "functionArn", "condition", "approximateInvokeCount"}
    assert context["functionArn"] == f"{function_arn}:$LATEST"
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == 2  # the first attempt and one retry
    assert record["requestPayload"] == {"n": 7}
    assert record["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    assert record["responsePayload"]["errorType"] == "RuntimeError"
    assert _records(account, queue_url, 0, wait=2) == []  # one record, not one per attempt
    # Every attempt's log is in CloudWatch Logs, as Lambda writes it.
    events = client(account, "logs").filter_log_events(
        logGroupName=f"/aws/lambda/{name}", filterPattern="failing"
    )["events"]
    assert [event["message"] for event in events] == ['failing {"n": 7}'] * 2


def test_the_function_sees_its_variables_and_the_substitutions_only(
    account, make_function, monkeypatch
):
    monkeypatch.setenv("REHEARSAL_CANARY", "from the test process")
    endpoint = "fn-db.aaaaaaaaaa.us-east-1.rds.amazonaws.com"
    role = databases.instance_created("fn-db", endpoint, 5432, "amphibian", "amphibian", "pw1")
    deployed = {
        "DJANGO_DEPLOY_TARGET": "lambda",
        "COGNITO_USER_POOL_ID": "us-east-1_Pool",
        "DATABASE_HOST": endpoint,
        "DATABASE_NAME": "amphibian",
    }
    name = make_function("environment", deployed)

    seen = invoke(account, name, {})["Body"]

    assert "REHEARSAL_CANARY" not in seen
    lambdas = {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "PYTHONPATH",
        "TMPDIR",
        "HOME",
        "TZ",
        "PATH",
        "LANG",
        "PWD",  # set by the shell that starts the runtime, as Lambda's bootstrap script does
    }
    substituted = {
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "COGNITO_JWKS_URL",
        "DATABASE_PORT",
        "DATABASE_SSLMODE",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "NO_PROXY",
    }
    # Nothing of this process's environment reaches the function but what Lambda sets itself.
    assert {name for name in os.environ if name in seen} <= lambdas | substituted | set(deployed)
    assert seen["HOME"] != os.environ.get("HOME")
    assert seen["PWD"] == seen["LAMBDA_TASK_ROOT"]
    assert seen["DJANGO_DEPLOY_TARGET"] == "lambda"
    assert seen["AWS_ENDPOINT_URL"] == account.url
    assert seen["COGNITO_JWKS_URL"] == f"{account.url}/us-east-1_Pool/.well-known/jwks.json"
    assert "COGNITO_ISSUER" not in seen  # moto's tokens carry the real issuer
    assert seen["AWS_ACCESS_KEY_ID"].startswith("ASIA")  # STS's temporary keys
    assert seen["AWS_SESSION_TOKEN"]
    assert (seen["HTTPS_PROXY"], seen["NO_PROXY"]) == ("http://127.0.0.1:9", "127.0.0.1,localhost")
    assert seen["DATABASE_HOST"] == "127.0.0.1"
    assert seen["DATABASE_PORT"] == "5432"
    assert seen["DATABASE_NAME"].startswith("amphibian_")
    assert seen["DATABASE_SSLMODE"] == "disable"
    assert role.startswith("amphibian_")


def test_local_environment_is_the_same_substitution_for_the_deployed_zip(account, make_function):
    endpoint = "zip-db.aaaaaaaaaa.us-east-1.rds.amazonaws.com"
    role = databases.instance_created("zip-db", endpoint, 5432, "amphibian", "amphibian", "pw2")
    url = f"postgres://{role}:pw2@{endpoint}:5432/amphibian?sslmode=require"
    name = make_function("echo", {"DATABASE_URL": url, "KEPT": "as deployed"})
    configuration = client(account, "lambda").get_function_configuration(FunctionName=name)

    environment = functions.local_environment(configuration, account.url)

    assert set(environment) == {
        "DATABASE_URL",
        "KEPT",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "HTTPS_PROXY",
        "HTTP_PROXY",
        "NO_PROXY",
    }
    database = databases.endpoints()[endpoint]
    assert environment["DATABASE_URL"] == (
        f"postgres://{role}:pw2@127.0.0.1:5432/{database}?sslmode=disable"
    )
    assert environment["KEPT"] == "as deployed"


def test_the_function_calls_aws_as_its_role_and_never_the_internet(account, make_function):
    arn = invoke(account, make_function("whoami"), {})["Body"]
    assert arn.startswith("arn:aws:sts::123456789012:assumed-role/rehearsal-fn/fn-whoami-")

    assert invoke(account, make_function("outside"), {})["Body"] == "URLError"


def test_code_from_s3_runs_too(account, make_function):
    s3 = client(account, "s3")
    s3.create_bucket(Bucket="rehearsal-code")
    s3.put_object(Bucket="rehearsal-code", Key="fn.zip", Body=zipped({"handlers.py": HANDLERS}))
    name = make_function("handlers.echo", code={"S3Bucket": "rehearsal-code", "S3Key": "fn.zip"})

    assert invoke(account, name, {"from": "s3"})["Body"]["event"] == {"from": "s3"}


def test_an_instance_is_a_database_its_credentials_log_into_until_drop_all(account):
    endpoint = "app-db.aaaaaaaaaa.us-east-1.rds.amazonaws.com"
    role = databases.instance_created("app-db", endpoint, 5432, "amphibian", "amphibian", "s3cr3t")
    environment = databases.substitute({"DATABASE_HOST": endpoint, "DATABASE_NAME": "amphibian"})
    name = environment["DATABASE_NAME"]
    url = f"postgres://{role}:s3cr3t@127.0.0.1:5432/{name}"

    with psycopg.connect(url) as connection:
        connection.execute("CREATE TABLE made_by_the_app (id int)")
        owner = connection.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    assert owner == (role,)
    # Asking again (a stack update) keeps the role and the database.
    again = databases.instance_created("app-db", endpoint, 5432, "amphibian", "amphibian", "x")
    assert again == role

    databases.drop_all()

    with psycopg.connect(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres") as admin:
        found = "SELECT count(*) FROM pg_database WHERE datname = %s"
        assert admin.execute(found, [name]).fetchone() == (0,)
        found = "SELECT count(*) FROM pg_roles WHERE rolname = %s"
        assert admin.execute(found, [role]).fetchone() == (0,)


def test_a_proxy_endpoint_and_a_database_url_lead_to_the_instance(account):
    endpoint = "proxied.aaaaaaaaaa.us-east-1.rds.amazonaws.com"
    role = databases.instance_created("proxied", endpoint, 5432, "amphibian", "app", "pw")
    ec2, rds = client(account, "ec2"), client(account, "rds")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{n}.0/24")["Subnet"]["SubnetId"]
        for n in (1, 2)
    ]
    proxy = rds.create_db_proxy(
        DBProxyName="proxied",
        EngineFamily="POSTGRESQL",
        Auth=[{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED"}],
        RoleArn="arn:aws:iam::123456789012:role/proxy",
        VpcSubnetIds=subnets,
        RequireTLS=True,
    )["DBProxy"]["Endpoint"]
    rds.register_db_proxy_targets(DBProxyName="proxied", DBInstanceIdentifiers=["proxied"])

    environment = databases.substitute(
        {
            "DATABASE_HOST": proxy,
            "DATABASE_URL": f"postgres://{role}:pw@{proxy}:5432/amphibian?sslmode=require",
            "OTHER": "kept",
        }
    )

    name = environment["DATABASE_NAME"]
    assert environment["DATABASE_HOST"] == "127.0.0.1"
    assert (
        environment["DATABASE_URL"]
        == f"postgres://{role}:pw@127.0.0.1:5432/{name}?sslmode=disable"
    )
    assert environment["OTHER"] == "kept"
    unknown = {"DATABASE_HOST": "elsewhere.example.com", "DATABASE_URL": "postgres://a@b/c"}
    assert databases.substitute(unknown) == unknown


def test_execute_api_serves_a_rest_api(account, make_function):
    name = make_function("http")
    function_arn = client(account, "lambda").get_function(FunctionName=name)["Configuration"][
        "FunctionArn"
    ]
    apigateway = client(account, "apigateway")
    api = apigateway.create_rest_api(name="rehearsal-rest")["id"]
    root = apigateway.get_resources(restApiId=api)["items"][0]["id"]
    proxy = apigateway.create_resource(restApiId=api, parentId=root, pathPart="{proxy+}")["id"]
    for resource in (root, proxy):
        apigateway.put_method(
            restApiId=api, resourceId=resource, httpMethod="ANY", authorizationType="NONE"
        )
        apigateway.put_integration(
            restApiId=api,
            resourceId=resource,
            httpMethod="ANY",
            type="AWS_PROXY",
            integrationHttpMethod="POST",
            uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/"
            f"{function_arn}/invocations",
        )
    apigateway.create_deployment(restApiId=api, stageName="prod")

    status, headers, body = _get(f"{account.execute_api_url}/{api}/prod/readyz?probe=1")
    assert status == 200
    assert headers["X-Handler"] == "http"
    assert body == {"version": "1.0", "path": "/readyz", "stage": "prod", "api": api}
    assert _get(f"{account.execute_api_url}/{api}/prod/")[2]["path"] == "/"
    assert _get(f"{account.execute_api_url}/{api}/dev/readyz")[::2] == (
        403,
        {"message": "Forbidden"},
    )
    assert _get(f"{account.execute_api_url}/nosuchapi/prod/")[::2] == (
        404,
        {"message": "Not Found"},
    )


def test_execute_api_serves_an_http_api_with_payload_2(account, make_function):
    name = make_function("http")
    function_arn = client(account, "lambda").get_function(FunctionName=name)["Configuration"][
        "FunctionArn"
    ]
    apigatewayv2 = client(account, "apigatewayv2")
    api = apigatewayv2.create_api(Name="rehearsal-http", ProtocolType="HTTP")["ApiId"]
    integration = apigatewayv2.create_integration(
        ApiId=api,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function_arn,
        PayloadFormatVersion="2.0",
    )["IntegrationId"]
    apigatewayv2.create_route(
        ApiId=api, RouteKey="ANY /{proxy+}", Target=f"integrations/{integration}"
    )
    apigatewayv2.create_stage(ApiId=api, StageName="$default")

    status, _, body = _get(f"{account.execute_api_url}/{api}/readyz")

    assert status == 200
    assert body == {"version": "2.0", "path": "/readyz", "stage": "$default", "api": api}
    assert _get(f"{account.execute_api_url}/{api}/")[::2] == (404, {"message": "Not Found"})


@pytest.mark.package
def test_the_built_package_runs_a_management_command(account, make_function):
    if not PACKAGE.exists():
        pytest.skip(f"{PACKAGE.relative_to(ROOT)} is not built (make package STAGE=prod)")
    endpoint = "pkg-db.aaaaaaaaaa.us-east-1.rds.amazonaws.com"
    role = databases.instance_created("pkg-db", endpoint, 5432, "amphibian", "amphibian", "pw")
    s3 = client(account, "s3")
    s3.create_bucket(Bucket="rehearsal-package")
    s3.upload_file(str(PACKAGE), "rehearsal-package", "amphibian-prod.zip")
    name = make_function(
        "deploy.lambda.handler.lambda_handler",
        {
            "DJANGO_DEPLOY_TARGET": "lambda",
            "DJANGO_SECRET_KEY": "rehearsal-secret-key-" + "x" * 40,
            "DJANGO_ALLOWED_HOSTS": "app.example.com",
            "DATABASE_URL": f"postgres://{role}:pw@{endpoint}:5432/amphibian?sslmode=require",
            "SESSIONS_TABLE": "sessions",
            "TOKEN_DENYLIST_TABLE": "denylist",
            "MEDIA_BUCKET": "media",
            "COGNITO_USER_POOL_ID": "us-east-1_Pool",
            "COGNITO_APP_CLIENT_ID": "client",
        },
        timeout=60,
        code={"S3Bucket": "rehearsal-package", "S3Key": "amphibian-prod.zip"},
    )

    response = invoke(account, name, {"manage": "check --database default"}, LogType="Tail")

    assert "FunctionError" not in response, response["Body"]
    assert "System check identified no issues" in response["Body"]["output"]


def _queue(account, name):
    sqs = client(account, "sqs")
    url = sqs.create_queue(QueueName=f"{name}-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn, url


def _records(account, queue_url, count, wait=20):
    """Up to ``count`` records from the queue, waiting ``wait`` seconds at most for each."""
    sqs = client(account, "sqs")
    records = []
    for _ in range(max(count, 1)):
        messages = sqs.receive_message(
            QueueUrl=queue_url, WaitTimeSeconds=wait, MaxNumberOfMessages=10
        ).get("Messages", [])
        records += [json.loads(message["Body"]) for message in messages]
        if len(records) >= count:
            break
    return records


def _get(url):
    request = urllib.request.Request(url, headers={"User-Agent": "rehearsal-test"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


def _postgres_answers():
    try:
        with psycopg.connect(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres", connect_timeout=3):
            return True
    except psycopg.Error:
        return False

"""The least-privilege check (deploy/tools/iam): recorded requests -> API operations -> IAM
actions and ARNs, IAM's evaluation logic, the template's policies rendered with a stack's
values, and the report the deploy rehearsal prints.

The records are the real thing's shapes: botocore's own clients sign and serialize each call
the app makes, and a before-send handler turns the prepared request into a recorder line
instead of sending it (nothing leaves the process).
"""

import json
import re
from urllib.parse import unquote, urlsplit

import botocore.session
import pytest
from botocore.config import Config
from urllib3 import encode_multipart_formdata

from deploy.tools.harness.processes import ROOT
from deploy.tools.iam.actions import UnresolvedRequest, iam_requests, no_iam_reason
from deploy.tools.iam.evaluate import (
    ALLOWED,
    DENIED,
    IMPLICIT_DENY,
    evaluate,
    explain,
    lint,
    unused_grants,
)
from deploy.tools.iam.report import RecordError, check
from deploy.tools.iam.requests import RECORDED_HEADERS, UnknownRequest, operation_of
from deploy.tools.iam.template import TemplateError, resolve_policy

TEMPLATE = ROOT / "deploy" / "aws" / "amphibian.yaml"
REGION = "eu-west-1"
ACCOUNT = "123456789012"
APP_KEY = "AKIAAPPEXAMPLE"
MEDIA = f"amphibian-dev-media-{ACCOUNT}"
SESSIONS = "amphibian-dev-sessions"
DENYLIST = "amphibian-dev-denylist"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{SESSIONS}"
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds!db-0a1b-AbCdEf"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/amphibian-dev-failed-invocations"
CREDENTIAL = re.compile(r"Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")


class Sent(Exception):
    """Raised by the before-send handler in place of sending: carries the recorder's line."""

    def __init__(self, record):
        self.record = record


def record_of(method, url, headers, body, *, credential=None, form=None):
    """The recorder's line for one request (deploy/tools/rehearsal/recorder.py's rules: no
    object bytes, no upload form; ``form`` is the upload form's fields, which the check needs
    the recorder to keep)."""
    parts = urlsplit(url)
    headers = {key.lower(): value for key, value in headers.items()}
    scope = CREDENTIAL.search(unquote(credential or headers.get("authorization", "")))
    record = {
        "time": "2026-01-01T00:00:00Z",
        "access_key": scope["key"] if scope else None,
        "service": scope["service"] if scope else None,
        "region": scope["region"] if scope else None,
        "method": method,
        "path": parts.path or "/",
        "query": parts.query,
        "headers": {
            key: value
            for key, value in {**headers, "host": parts.netloc}.items()
            if key in RECORDED_HEADERS
        },
        "status": 200,
    }
    body = body.encode() if isinstance(body, str) else body or b""
    uploads = record["service"] == "s3" and method in ("PUT", "POST")
    if uploads and (form is not None or "/" in parts.path.strip("/")):
        record["body_omitted"] = len(body)
    else:
        record["body"] = body.decode()
    if form is not None:
        record["form"] = form
    return record


def client(service, endpoint_url=None, **config):
    session = botocore.session.get_session()
    made = session.create_client(
        service,
        region_name=REGION,
        aws_access_key_id=APP_KEY,
        aws_secret_access_key="secret",
        endpoint_url=endpoint_url,
        config=Config(retries={"max_attempts": 1}, **config),
    )

    def capture(request, **kwargs):
        headers = {
            key: value.decode() if isinstance(value, bytes) else value
            for key, value in request.headers.items()
        }
        body = request.body.read() if hasattr(request.body, "read") else request.body
        raise Sent(record_of(request.method, request.url, headers, body))

    made.meta.events.register("before-send", capture)
    return made


def recorded(service, operation, endpoint_url=None, **params):
    with pytest.raises(Sent) as sent:
        getattr(client(service, endpoint_url, signature_version="v4"), operation)(**params)
    return sent.value.record


def presigned_get(bucket, key):
    url = client("s3", signature_version="s3v4").generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": key}
    )
    return record_of("GET", url, {}, "", credential=url)


def presigned_post(bucket, key, keep_form=True):
    """What the browser sends with the app's presigned POST: a multipart form to the bucket."""
    post = client("s3", signature_version="s3v4").generate_presigned_post(bucket, key)
    fields = [*post["fields"].items(), ("file", ("photo.jpg", b"\xff\xd8", "image/jpeg"))]
    body, content_type = encode_multipart_formdata(fields)
    return record_of(
        "POST",
        post["url"],
        {"Content-Type": content_type},
        body,
        credential=f"Credential={post['fields']['x-amz-credential']}",
        form=post["fields"] if keep_form else {},
    )


def table_arn(name):
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def media(key):
    return f"arn:aws:s3:::{MEDIA}/{key}"


KEY = {"session_key": {"S": "abc"}}

# (record, operation, IAM requests): each call the app makes, as botocore sends it.
APP_CALLS = [
    (
        lambda: recorded("dynamodb", "get_item", TableName=SESSIONS, Key=KEY),
        "GetItem",
        [("dynamodb:GetItem", TABLE)],
    ),
    (
        lambda: recorded("dynamodb", "put_item", TableName=SESSIONS, Item=KEY),
        "PutItem",
        [("dynamodb:PutItem", TABLE)],
    ),
    (
        lambda: recorded(
            "dynamodb",
            "update_item",
            TableName=SESSIONS,
            Key=KEY,
            UpdateExpression="SET n = :n",
            ExpressionAttributeValues={":n": {"N": "1"}},
        ),
        "UpdateItem",
        [("dynamodb:UpdateItem", TABLE)],
    ),
    (
        lambda: recorded("dynamodb", "delete_item", TableName=SESSIONS, Key=KEY),
        "DeleteItem",
        [("dynamodb:DeleteItem", TABLE)],
    ),
    (
        lambda: recorded("dynamodb", "describe_table", TableName=SESSIONS),
        "DescribeTable",
        [("dynamodb:DescribeTable", TABLE)],
    ),
    (
        # A table named by its ARN stands as given.
        lambda: recorded("dynamodb", "describe_table", TableName=TABLE),
        "DescribeTable",
        [("dynamodb:DescribeTable", TABLE)],
    ),
    (
        lambda: recorded(
            "dynamodb",
            "batch_get_item",
            RequestItems={
                DENYLIST: {"Keys": [{"jti": {"S": "a"}}]},
                SESSIONS: {"Keys": [KEY]},
            },
        ),
        "BatchGetItem",
        [("dynamodb:BatchGetItem", table_arn(DENYLIST)), ("dynamodb:BatchGetItem", TABLE)],
    ),
    (
        lambda: recorded("s3", "head_bucket", Bucket=MEDIA),
        "HeadBucket",
        [("s3:ListBucket", f"arn:aws:s3:::{MEDIA}")],
    ),
    (
        # Path style, as against the local stack's loopback endpoint.
        lambda: recorded("s3", "head_bucket", "http://127.0.0.1:5000", Bucket=MEDIA),
        "HeadBucket",
        [("s3:ListBucket", f"arn:aws:s3:::{MEDIA}")],
    ),
    (
        lambda: recorded("s3", "head_object", Bucket=MEDIA, Key="files/a b/ü.txt"),
        "HeadObject",
        [("s3:GetObject", media("files/a b/ü.txt"))],
    ),
    (
        lambda: recorded("s3", "get_object", "http://127.0.0.1:5000", Bucket=MEDIA, Key="files/1"),
        "GetObject",
        [("s3:GetObject", media("files/1"))],
    ),
    (
        lambda: recorded("s3", "put_object", Bucket=MEDIA, Key="thumbnails/1.png", Body=b"\x89P"),
        "PutObject",
        [("s3:PutObject", media("thumbnails/1.png"))],
    ),
    (
        lambda: recorded(
            "s3",
            "copy_object",
            Bucket=MEDIA,
            Key="files/1",
            CopySource={"Bucket": MEDIA, "Key": "uploads/1 (copy)"},
        ),
        "CopyObject",
        [("s3:GetObject", media("uploads/1 (copy)")), ("s3:PutObject", media("files/1"))],
    ),
    (
        lambda: recorded("s3", "delete_object", Bucket=MEDIA, Key="uploads/1"),
        "DeleteObject",
        [("s3:DeleteObject", media("uploads/1"))],
    ),
    (
        lambda: recorded("s3", "list_objects_v2", Bucket=MEDIA, Prefix="uploads/"),
        "ListObjectsV2",
        [("s3:ListBucket", f"arn:aws:s3:::{MEDIA}")],
    ),
    (
        lambda: recorded("s3", "get_object_tagging", Bucket=MEDIA, Key="files/1"),
        "GetObjectTagging",
        [("s3:GetObjectTagging", media("files/1"))],
    ),
    (
        lambda: recorded(
            "s3",
            "put_object_tagging",
            Bucket=MEDIA,
            Key="files/1",
            Tagging={"TagSet": [{"Key": "scan", "Value": "clean"}]},
        ),
        "PutObjectTagging",
        [("s3:PutObjectTagging", media("files/1"))],
    ),
    (
        lambda: recorded(
            "s3",
            "delete_objects",
            Bucket=MEDIA,
            Delete={"Objects": [{"Key": "uploads/1"}, {"Key": "uploads/2"}]},
        ),
        "DeleteObjects",
        [("s3:DeleteObject", media("uploads/1")), ("s3:DeleteObject", media("uploads/2"))],
    ),
    (
        lambda: presigned_post(MEDIA, "uploads/7/photo.jpg"),
        "PostObject",
        [("s3:PutObject", media("uploads/7/photo.jpg"))],
    ),
    (
        lambda: presigned_get(MEDIA, "files/1/report.pdf"),
        "GetObject",
        [("s3:GetObject", media("files/1/report.pdf"))],
    ),
    (
        lambda: recorded(
            "lambda",
            "invoke",
            FunctionName="amphibian-dev",
            Qualifier="live",
            InvocationType="Event",
            Payload=b"{}",
        ),
        "Invoke",
        # Authorized on the qualified ARN: the alias the task backend invokes.
        [
            (
                "lambda:InvokeFunction",
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:amphibian-dev:live",
            )
        ],
    ),
    (
        lambda: recorded(
            "ssm",
            "get_parameters",
            Names=["/amphibian/dev/secrets/DJANGO_SECRET_KEY", "/amphibian/dev/secrets/X"],
            WithDecryption=True,
        ),
        "GetParameters",
        [
            (
                "ssm:GetParameters",
                f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/amphibian/dev/secrets/DJANGO_SECRET_KEY",
            ),
            (
                "ssm:GetParameters",
                f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/amphibian/dev/secrets/X",
            ),
        ],
    ),
    (
        lambda: recorded("secretsmanager", "get_secret_value", SecretId=SECRET),
        "GetSecretValue",
        [("secretsmanager:GetSecretValue", SECRET)],
    ),
    (
        lambda: recorded("sqs", "send_message", QueueUrl=QUEUE_URL, MessageBody="{}"),
        "SendMessage",
        [
            (
                "sqs:SendMessage",
                f"arn:aws:sqs:{REGION}:{ACCOUNT}:amphibian-dev-failed-invocations",
            )
        ],
    ),
    (
        lambda: recorded(
            "cognito-idp",
            "initiate_auth",
            ClientId="client",
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "a@example.com", "PASSWORD": "pw"},
        ),
        "InitiateAuth",
        [],
    ),
    (
        lambda: recorded("cognito-idp", "revoke_token", ClientId="client", Token="t"),
        "RevokeToken",
        [],
    ),
]


@pytest.mark.parametrize(("make", "operation", "expected"), APP_CALLS)
def test_recorded_call_to_iam_actions(make, operation, expected):
    record = make()
    assert operation_of(record)[1] == operation
    assert iam_requests(record) == expected


def test_query_protocol_and_account_from_the_arn():
    # The STS query protocol (Action=... in a form body) and an ARN naming another account.
    role = "arn:aws:iam::111122223333:role/deploy"
    scoped = [
        {"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"},
        {"arn": "arn:aws:iam::aws:policy/x"},
    ]
    record = recorded(
        "sts", "assume_role", RoleArn=role, RoleSessionName="rehearsal", PolicyArns=scoped
    )
    assert operation_of(record) == (
        "sts",
        "AssumeRole",
        {"RoleArn": role, "RoleSessionName": "rehearsal", "PolicyArns": scoped},
    )
    assert iam_requests(record) == [("sts:AssumeRole", "arn:aws:iam::111122223333:role/deploy")]


def test_account_argument_fills_arns_without_one():
    record = recorded("dynamodb", "get_item", TableName=SESSIONS, Key=KEY)
    assert iam_requests(record, account="999988887777") == [
        ("dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:999988887777:table/{SESSIONS}")
    ]


def test_public_cognito_operations_say_why_they_need_no_iam():
    assert "unsigned" in no_iam_reason("cognito-idp", "InitiateAuth")
    assert no_iam_reason("cognito-idp", "AdminCreateUser") is None
    record = recorded("cognito-idp", "admin_create_user", UserPoolId="eu-west-1_abc", Username="u")
    assert iam_requests(record) == [
        (
            "cognito-idp:AdminCreateUser",
            f"arn:aws:cognito-idp:{REGION}:{ACCOUNT}:userpool/eu-west-1_abc",
        )
    ]


def test_upload_form_without_its_fields_is_unresolved():
    record = presigned_post(MEDIA, "uploads/7/photo.jpg", keep_form=False)
    assert operation_of(record) == ("s3", "PostObject", {"Bucket": MEDIA})
    with pytest.raises(UnresolvedRequest, match=r"s3:PutObject: .* parameters \(Bucket\)"):
        iam_requests(record)


def test_copy_is_told_by_its_source_header():
    record = recorded(
        "s3", "copy_object", Bucket=MEDIA, Key="files/1", CopySource=f"{MEDIA}/uploads/1"
    )
    assert operation_of(record)[1] == "CopyObject"
    del record["headers"]["x-amz-copy-source"]
    # Without it the request is a PutObject as far as anyone can tell.
    assert operation_of(record)[1] == "PutObject"


def test_unknown_requests_are_named():
    record = recorded("dynamodb", "get_item", TableName=SESSIONS, Key=KEY)
    record["headers"]["x-amz-target"] = "DynamoDB_20120810.Teleport"
    with pytest.raises(UnknownRequest, match=r"no dynamodb operation matches POST /"):
        operation_of(record)
    record = recorded("s3", "head_bucket", Bucket=MEDIA)
    record["method"] = "TRACE"
    with pytest.raises(UnknownRequest, match="TRACE"):
        operation_of(record)


# --- IAM's evaluation logic (the IAM User Guide's examples) -----------------------------------


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_explicit_deny_wins_over_any_allow():
    document = policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
    )
    assert evaluate(document, "s3:GetObject", media("files/1")) == ALLOWED
    decision = explain(document, "s3:DeleteObject", media("files/1"))
    assert (decision.result, decision.statements) == (DENIED, ("NoDeletes",))
    assert evaluate(document, "dynamodb:GetItem", TABLE) == IMPLICIT_DENY


def test_not_action_and_not_resource():
    # "Allow everything but IAM" and "everything but this bucket", from the NotAction and
    # NotResource pages.
    document = policy(
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::public/*"]},
    )
    assert evaluate(document, "iam:CreateUser", "*") == IMPLICIT_DENY
    assert evaluate(document, "s3:GetObject", "arn:aws:s3:::public/a") == ALLOWED
    assert evaluate(document, "s3:GetObject", "arn:aws:s3:::private/a") == DENIED
    assert evaluate(document, "dynamodb:GetItem", TABLE) == ALLOWED


def test_wildcards_and_case_rules():
    document = policy(
        {
            "Effect": "Allow",
            "Action": ["S3:get*", "dynamodb:?etItem"],
            "Resource": [
                "arn:aws:s3:::Media/uploads/*",
                "arn:aws:dynamodb:*:*:table/amphibian-*",
            ],
        }
    )
    # Actions ignore case; resources do not.
    assert evaluate(document, "s3:GetObject", "arn:aws:s3:::Media/uploads/a") == ALLOWED
    assert evaluate(document, "s3:GetObject", "arn:aws:s3:::media/uploads/a") == IMPLICIT_DENY
    assert evaluate(document, "s3:PutObject", "arn:aws:s3:::Media/uploads/a") == IMPLICIT_DENY
    assert evaluate(document, "dynamodb:GetItem", TABLE) == ALLOWED
    assert evaluate(document, "dynamodb:SetItem", TABLE) == ALLOWED
    assert evaluate(document, "dynamodb:BatchGetItem", TABLE) == IMPLICIT_DENY
    # "*" in a segment stays in it: the region wildcard does not swallow the account.
    assert evaluate(document, "dynamodb:GetItem", "arn:aws:dynamodb:eu:table/amphibian-x") == (
        IMPLICIT_DENY
    )


def test_conditions_evaluated_when_the_context_has_them_and_reported_otherwise():
    # The User Guide's "deny everything without MFA" (BoolIfExists), over an Allow that only
    # applies from one network (aws:SourceIp with IpAddress, which this evaluator does not do).
    document = policy(
        {
            "Sid": "Office",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        },
        {"Sid": "Plain", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
        {
            "Sid": "DenyWithoutMFA",
            "Effect": "Deny",
            "NotAction": ["iam:*", "s3:ListBucket"],
            "Resource": "*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
        },
    )
    with_mfa = {"aws:MultiFactorAuthPresent": "true"}
    decision = explain(document, "s3:GetObject", media("a"), with_mfa)
    assert (decision.result, decision.unevaluated) == (IMPLICIT_DENY, ("Office",))
    assert evaluate(document, "s3:ListBucket", "arn:aws:s3:::m", with_mfa) == ALLOWED
    # Without the key, BoolIfExists holds: the Deny applies.
    assert evaluate(document, "s3:GetObject", media("a")) == DENIED
    unknown_deny = policy(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Sid": "Vpc",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        },
    )
    # A Deny whose condition cannot be evaluated counts: the safe side.
    decision = explain(unknown_deny, "s3:GetObject", media("a"))
    assert (decision.result, decision.unevaluated) == (DENIED, ("Vpc",))


def test_policy_variables_are_not_guessed():
    document = policy(
        {
            "Sid": "Home",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::home/${aws:username}/*",
        }
    )
    decision = explain(document, "s3:GetObject", "arn:aws:s3:::home/alice/a")
    assert (decision.result, decision.unevaluated) == (IMPLICIT_DENY, ("Home",))


def test_unused_grants_expand_wildcards_per_resource():
    other = table_arn("other")
    document = policy(
        {"Sid": "Read", "Effect": "Allow", "Action": "dynamodb:Get*", "Resource": [TABLE, other]}
    )
    grants = unused_grants(document, {("dynamodb:GetItem", TABLE)})
    actions = {(g.action, g.resource) for g in grants}
    assert ("dynamodb:GetItem", TABLE) not in actions
    assert ("dynamodb:GetItem", other) in actions
    assert ("dynamodb:GetResourcePolicy", TABLE) in actions
    # GetRecords and GetShardIterator act on streams, which a table's ARN does not name.
    assert not any(action == "dynamodb:GetRecords" for action, _ in actions)
    assert {g.sid for g in grants} == {"Read"}
    # Only what a Resource pattern can name: no object action on the bucket, nor the reverse.
    bucket = policy(
        {
            "Sid": "Bucket",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket"],
            "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/static/*"],
        }
    )
    assert {(g.action, g.resource) for g in unused_grants(bucket, set())} == {
        ("s3:GetObject", "arn:aws:s3:::b/static/*"),
        ("s3:ListBucket", "arn:aws:s3:::b"),
    }


def test_lint_explains_the_resource_star_it_expects():
    vpc = policy(
        {
            "Effect": "Allow",
            "Resource": "*",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DescribeNetworkInterfaces",
                "ec2:DeleteNetworkInterface",
            ],
        }
    )
    findings = lint(vpc)
    assert [f.issue for f in findings] == ["RESOURCE_STAR"]
    assert findings[0].expected and "VPC" in findings[0].reason
    careless = lint(policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}))
    assert [(f.issue, f.expected) for f in careless] == [("RESOURCE_STAR", False)]


# --- The template's policies, rendered with a stack's values ----------------------------------

PARAMETERS = {
    "Stage": "dev",
    "AppDomain": "app.example.com",
    "AppOriginDomain": "origin.example.com",
    "CertificateArn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/abc",
    "CallbackUrls": "https://app.example.com/accounts/callback/",
    "LogoutUrls": "https://app.example.com/",
    "CognitoDomainPrefix": "amphibian-dev",
}
# What describe-stack-resources reports (Ref values), plus the attributes they cannot give.
PHYSICAL_IDS = {
    "SessionsTable": SESSIONS,
    "DenylistTable": DENYLIST,
    "RateLimitsTable": "amphibian-dev-ratelimits",
    "MediaBucket": MEDIA,
    "StaticBucket": f"amphibian-dev-static-{ACCOUNT}",
    "FunctionLogGroup": "/aws/lambda/amphibian-dev",
    "FailedInvocationsQueue": QUEUE_URL,
    "Database.MasterUserSecret.SecretArn": SECRET,
}


def app_policy(**parameters):
    return resolve_policy(
        TEMPLATE, "AppPolicy", PHYSICAL_IDS, {**PARAMETERS, **parameters}, REGION, ACCOUNT
    )


def test_app_policy_allows_the_apps_calls_and_nothing_beside():
    document = app_policy()
    assert "Fn::" not in json.dumps(document) and "${" not in json.dumps(document)
    for _, _, expected in APP_CALLS:
        for action, resource in expected:
            if action != "sqs:SendMessage":  # the function role's, not the app's
                assert evaluate(document, action, resource) == ALLOWED, (action, resource)
    for action, resource in [
        ("s3:GetObject", media("private/1")),
        ("s3:GetObject", "arn:aws:s3:::other-bucket/files/1"),
        ("s3:ListBucket", "arn:aws:s3:::other-bucket"),
        ("dynamodb:Scan", TABLE),
        ("dynamodb:DeleteTable", TABLE),
        ("dynamodb:GetItem", table_arn("someone-elses")),
        ("lambda:InvokeFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:other"),
        ("ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/amphibian/prod/secrets/X"),
        ("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:x"),
    ]:
        assert evaluate(document, action, resource) == IMPLICIT_DENY, (action, resource)


def test_template_conditions_and_parameters_reach_the_policy():
    document = app_policy(LambdaFunctionName="tasks-fn", Stage="prod")
    assert (
        evaluate(
            document,
            "lambda:InvokeFunction",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tasks-fn:live",
        )
        == ALLOWED
    )
    # The live alias only: not the default name, not $LATEST, not another version.
    for resource in ("amphibian-prod:live", "tasks-fn", "tasks-fn:3"):
        assert (
            evaluate(
                document,
                "lambda:InvokeFunction",
                f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{resource}",
            )
            == IMPLICIT_DENY
        )


def test_role_is_its_inline_and_template_managed_policies():
    role = resolve_policy(TEMPLATE, "FunctionRole", PHYSICAL_IDS, PARAMETERS, REGION, ACCOUNT)
    assert evaluate(role, "dynamodb:GetItem", TABLE) == ALLOWED  # through AppPolicy
    stream = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/amphibian-dev:log-stream:x"
    assert evaluate(role, "logs:PutLogEvents", stream) == ALLOWED
    assert all(finding.expected for finding in lint(role)), lint(role)


def test_missing_values_are_named():
    ids = {key: value for key, value in PHYSICAL_IDS.items() if key != "MediaBucket"}
    with pytest.raises(TemplateError, match="no physical id for MediaBucket"):
        resolve_policy(TEMPLATE, "AppPolicy", ids, PARAMETERS, REGION, ACCOUNT)
    with pytest.raises(TemplateError, match="MediaBucket is a AWS::S3::Bucket"):
        resolve_policy(TEMPLATE, "MediaBucket", PHYSICAL_IDS, PARAMETERS, REGION, ACCOUNT)
    with pytest.raises(TemplateError, match="unknown parameters: Stag"):
        resolve_policy(TEMPLATE, "AppPolicy", PHYSICAL_IDS, {"Stag": "dev"}, REGION, ACCOUNT)


def test_intrinsic_functions(tmp_path):
    template = tmp_path / "t.yaml"
    template.write_text(
        """
Parameters:
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
  Extra: {Type: String, Default: ""}
Conditions:
  HasExtra: !Not [!Equals [!Ref Extra, ""]]
  Both: !And [!Condition HasExtra, !Or [!Equals [a, b], !Equals [!Ref "AWS::Region", eu-west-1]]]
Resources:
  Queue: {Type: AWS::SQS::Queue}
  Policy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Statement:
          - Effect: Allow
            Action: !Split [",", "sqs:SendMessage,sqs:GetQueueUrl"]
            Resource:
              - !GetAtt Queue.Arn
              - !Join ["", ["arn:", !Ref "AWS::Partition", ":s3:::", !Select [1, !Ref Names]]]
              - !Sub
                - "arn:aws:s3:::${B}/${AWS::StackName}/${!literal}"
                - {B: !Select [2, !Ref Names]}
              - !If [Both, !Sub "arn:aws:s3:::${Extra}", !Ref "AWS::NoValue"]
"""
    )
    ids = {"Queue": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q"}
    rendered = resolve_policy(template, "Policy", ids, {}, REGION, ACCOUNT, stack_name="st")
    statement = rendered["Statement"][0]
    assert statement["Action"] == ["sqs:SendMessage", "sqs:GetQueueUrl"]
    assert statement["Resource"] == [
        f"arn:aws:sqs:{REGION}:{ACCOUNT}:q",
        "arn:aws:s3:::b",
        "arn:aws:s3:::c/st/${literal}",
    ]
    with_extra = resolve_policy(template, "Policy", ids, {"Extra": "x"}, REGION, ACCOUNT, "st")
    assert with_extra["Statement"][0]["Resource"][-1] == "arn:aws:s3:::x"


# --- The report ---------------------------------------------------------------------------------


def test_check_reports_every_call_denials_unused_grants_and_findings(tmp_path):
    records = [make() for make, _, _ in APP_CALLS]
    records.append(recorded("dynamodb", "scan", TableName=SESSIONS))
    deploy_call = recorded("dynamodb", "delete_table", TableName=SESSIONS)
    deploy_call["access_key"] = "AKIADEPLOYER"
    records.append(deploy_call)
    records.append({**recorded("s3", "head_bucket", Bucket=MEDIA), "method": "TRACE"})
    log = tmp_path / "requests.jsonl"
    log.write_text("".join(json.dumps(record) + "\n" for record in records))

    report = check(log, app_policy(), access_keys={APP_KEY, None})

    denied = {(call.action, call.resource) for call in report.denied}
    # The scan, and the failure queue (the function role's grant, not the app policy's).
    assert denied == {
        ("dynamodb:Scan", TABLE),
        ("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:amphibian-dev-failed-invocations"),
    }
    assert not any(call.action == "dynamodb:DeleteTable" for call in report.calls)
    assert [item["operation"] for item in report.no_iam] == [
        "cognito-idp InitiateAuth",
        "cognito-idp RevokeToken",
    ]
    assert [item["request"] for item in report.unresolved] == ["TRACE /"]
    unused = {(grant.action, grant.resource) for grant in report.unused}
    assert (
        "ssm:GetParametersByPath",
        f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/amphibian/dev",
    ) in unused
    assert ("s3:GetObject", media("files/*")) not in unused
    assert not report.ok
    text = report.text()
    assert f"DENY dynamodb:Scan {TABLE}" in text and "cognito-idp InitiateAuth" in text
    out = tmp_path / "var" / "least-privilege.json"
    report.write_json(out)
    assert json.loads(out.read_text())["denied"][0]["action"] == "dynamodb:Scan"


def test_a_broken_log_line_is_named(tmp_path):
    log = tmp_path / "requests.jsonl"
    log.write_text(json.dumps(recorded("s3", "head_bucket", Bucket=MEDIA)) + "\n{not json\n")
    with pytest.raises(RecordError, match=r"requests.jsonl:2: not JSON"):
        check(log, app_policy())

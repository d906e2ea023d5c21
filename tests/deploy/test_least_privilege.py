"""Least privilege, checked offline: every AWS call the deployed app made in the rehearsal
against the policies its role runs with, as the emulated IAM holds them.

Runs after the e2e scenario on the "deployed" target (make test-deploy orders the files), so
the recording holds the app's requests of a whole visit: sign-in, uploads, thumbnails (tasks
through Lambda's Invoke), sessions, the deny-list, rate limits, secrets at cold start. The
app's requests are the ones signed with the temporary keys STS issued for the function's
role (to the e2e target's local Lambda, and to the account's own runs of the function); the
deploy's own are signed with the operator's.
"""

import json

import pytest

from deploy.tools.harness.processes import ROOT
from deploy.tools.iam import evaluate
from deploy.tools.iam.report import check

pytestmark = pytest.mark.deploy

REPORT = ROOT / "var" / "deploy" / "least-privilege.json"


def role_policy(rehearsal, role_arn):
    """Every statement of ``role_arn``'s policies, read back from the emulated IAM."""
    iam = rehearsal.client("iam")
    name = role_arn.rsplit("/", 1)[-1]
    statements = []
    for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(
            PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
        )["PolicyVersion"]
        statements += as_document(version["Document"])["Statement"]
    for inline in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=name, PolicyName=inline)["PolicyDocument"]
        statements += as_document(document)["Statement"]
    return {"Version": "2012-10-17", "Statement": statements}


def as_document(document):
    from urllib.parse import unquote

    return json.loads(unquote(document)) if isinstance(document, str) else document


@pytest.fixture(scope="module")
def app_calls(rehearsal):
    role_arn = rehearsal.outputs("prod")["FunctionRoleArn"]
    policy = role_policy(rehearsal, role_arn)
    # The e2e visit's local Lambda, and the prod function's runs inside the account (tasks
    # the visit enqueued, migrate, the smoke check); not the dev stage's or the servers'.
    app_keys = rehearsal.app_keys | rehearsal.function_keys("amphibian-prod")
    assert rehearsal.app_keys, "the e2e suite's deployed target did not run first"
    report = check(rehearsal.record, policy, access_keys=app_keys)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    report.write_json(REPORT)
    print(report.text())
    return policy, report


def test_the_app_made_the_calls_of_a_whole_visit(app_calls):
    _, report = app_calls
    services = {call.action.split(":")[0] for call in report.calls}
    # Not an empty recording: sessions, files, secrets at cold start, tasks.
    assert {"dynamodb", "s3", "secretsmanager", "ssm", "lambda"} <= services, report.text()


def test_every_call_the_app_made_is_allowed_by_its_role(app_calls):
    _, report = app_calls
    assert report.denied == [], report.text()
    assert report.unresolved == [], report.text()


def test_the_policy_lints_clean_but_for_the_documented_findings(app_calls):
    _, report = app_calls
    assert report.unexpected_findings == [], report.text()


def test_lambda_may_deliver_failures_to_the_queue_with_the_role(app_calls, rehearsal):
    # The on-failure destination sends with the execution role; the emulator delivers it
    # inside moto, so no request shows it: the grant is checked as data.
    policy, _ = app_calls
    queue = rehearsal.outputs("prod")["FailedInvocationsQueueArn"]
    assert evaluate.evaluate(policy, "sqs:SendMessage", queue) == evaluate.ALLOWED


# Statements of the role that a visit's app calls never use, and why they are there anyway.
NOT_USED_BY_A_VISIT = {
    # Lambda itself, not the app's code: the function's network interfaces in the VPC, its
    # log lines, and the on-failure destination (checked above as data).
    "VpcNetworkInterfaces": "Lambda creates the function's network interfaces in the VPC",
    "Logs": "Lambda writes the function's log lines",
    "FailedInvocations": "Lambda sends failed asynchronous invocations to the queue",
    # `make deploy` uploads static files with the operator's credentials; the grant lets a
    # deploy run as the function's role (zappa manage <stage> collectstatic).
    "StaticDeploy": "collectstatic to the static bucket from the function",
}


def test_every_statement_of_the_role_is_used_or_explained(app_calls):
    """The unused grants are reported (var/deploy/least-privilege.json); a statement no call
    of the visit used fails unless it says above why it is there."""
    policy, report = app_calls
    used = {sid for call in report.calls for sid in call.statements}
    allowing = {
        evaluate.statement_id(statement, index)
        for index, statement in enumerate(policy["Statement"])
        if statement["Effect"] == "Allow"
    }
    unexplained = allowing - used - set(NOT_USED_BY_A_VISIT)
    assert unexplained == set(), report.text()
    written = json.loads(REPORT.read_text())
    assert len(written["unused_grants"]) == len(report.unused)

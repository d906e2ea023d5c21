"""IAM's evaluation of one identity policy, its unused grants, and parliament's findings on it.

The rules are the IAM User Guide's ("Policy evaluation logic", "IAM JSON policy elements"): an
explicit Deny wins over any Allow, and without an Allow the answer is an implicit deny; Action
and NotAction match case-insensitively, Resource and NotResource case-sensitively, both with
``*`` and ``?`` wildcards. A Condition is evaluated when the given request context holds its
keys and its operator is one of ``CONDITION_OPERATORS``; otherwise it is reported and the
statement counts the safe way (an Allow does not apply, a Deny does).
"""

import dataclasses
import functools
import json
import re
import warnings

from policy_sentry.querying.actions import get_action_data
from policy_sentry.querying.all import get_all_actions
from policyuniverse.expander_minimizer import _expand_wildcard_action

ALLOWED, DENIED, IMPLICIT_DENY = "allowed", "denied", "implicit-deny"

# A resource pattern with a policy variable (${aws:username}) needs the request's context.
POLICY_VARIABLE = re.compile(r"\$\{(?![*?$]\})[^}]*\}")


@dataclasses.dataclass(frozen=True)
class Decision:
    """The answer for one (action, resource) and the statements that gave it."""

    result: str
    statements: tuple[str, ...] = ()
    # Statements whose Condition (or policy variable) could not be evaluated.
    unevaluated: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Grant:
    """One action an Allow statement grants on one of its Resource patterns."""

    sid: str
    action: str
    resource: str


@dataclasses.dataclass(frozen=True)
class Finding:
    """One of parliament's findings, and whether this policy is expected to have it."""

    issue: str
    severity: str
    title: str
    detail: str
    location: str
    expected: bool
    reason: str = ""


def statements(policy_document):
    statement = policy_document.get("Statement", [])
    return [statement] if isinstance(statement, dict) else list(statement)


def _as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def statement_id(statement, index):
    return statement.get("Sid") or f"Statement[{index}]"


@functools.cache
def _glob(pattern, ignore_case):
    """IAM's wildcards: ``*`` any run of characters, ``?`` one; nothing else is special."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(f"^{regex}$", re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def action_matches(pattern, action):
    return bool(_glob(pattern, True).match(action))


def resource_matches(pattern, resource):
    """IAM's Resource match: ``*`` alone is everything; otherwise an ARN matches segment by
    segment (a wildcard in the service or region does not eat the account), and the last
    segment (the resource part, where ``:`` may appear) as one glob."""
    if pattern == "*":
        return True
    pattern = re.sub(r"\$\{([*?$])\}", r"\1", pattern)
    if pattern.startswith("arn:") and resource.startswith("arn:"):
        parts, values = pattern.split(":", 5), resource.split(":", 5)
        if len(parts) == len(values) == 6:
            return all(_glob(p, False).match(v) for p, v in zip(parts, values, strict=True))
    return bool(_glob(pattern, False).match(resource))


def _applies(statement, action, resource):
    if "NotAction" in statement:
        action_hit = not any(action_matches(p, action) for p in _as_list(statement["NotAction"]))
    else:
        action_hit = any(action_matches(p, action) for p in _as_list(statement.get("Action")))
    if "NotResource" in statement:
        resources = _as_list(statement["NotResource"])
        resource_hit = not any(resource_matches(p, resource) for p in resources)
    else:
        resources = _as_list(statement.get("Resource"))
        resource_hit = any(resource_matches(p, resource) for p in resources)
    return action_hit and resource_hit, any(POLICY_VARIABLE.search(p) for p in resources)


def explain(policy_document, action, resource, context=None):
    """The ``Decision`` for ``action`` on ``resource`` under ``policy_document``.

    ``context`` is the request's condition keys (``{"aws:SecureTransport": "true"}``).
    """
    allows, denies, unevaluated = [], [], []
    for index, statement in enumerate(statements(policy_document)):
        applies, has_variable = _applies(statement, action, resource)
        # Only a policy variable can leave the match itself undecided.
        uncertain = has_variable and not applies
        if not applies and not uncertain:
            continue
        sid = statement_id(statement, index)
        condition = None if uncertain else conditions_hold(statement.get("Condition"), context)
        if condition is None:
            unevaluated.append(sid)
        if statement.get("Effect") == "Deny":
            if condition is None or condition:
                denies.append(sid)
        elif condition:
            allows.append(sid)
    if denies:
        return Decision(DENIED, tuple(denies), tuple(unevaluated))
    if allows:
        return Decision(ALLOWED, tuple(allows), tuple(unevaluated))
    return Decision(IMPLICIT_DENY, (), tuple(unevaluated))


def evaluate(policy_document, action, resource, context=None):
    """``"allowed"``, ``"denied"`` (an explicit Deny) or ``"implicit-deny"`` (no Allow)."""
    return explain(policy_document, action, resource, context).result


# --- Conditions --------------------------------------------------------------------------------


def _string_like(pattern, value):
    return bool(_glob(pattern, False).match(value))


CONDITION_OPERATORS = {
    "StringEquals": lambda wanted, value: value == wanted,
    "StringNotEquals": lambda wanted, value: value != wanted,
    "StringEqualsIgnoreCase": lambda wanted, value: value.lower() == wanted.lower(),
    "StringNotEqualsIgnoreCase": lambda wanted, value: value.lower() != wanted.lower(),
    "StringLike": lambda wanted, value: _string_like(wanted, value),
    "StringNotLike": lambda wanted, value: not _string_like(wanted, value),
    "ArnEquals": lambda wanted, value: value == wanted,
    "ArnLike": lambda wanted, value: resource_matches(wanted, value),
    "ArnNotEquals": lambda wanted, value: value != wanted,
    "ArnNotLike": lambda wanted, value: not resource_matches(wanted, value),
    "Bool": lambda wanted, value: value.lower() == str(wanted).lower(),
}
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals"}
NEGATED |= {"ArnNotLike"}


def conditions_hold(condition, context):
    """True or False when every condition can be evaluated against ``context``, else None."""
    if not condition:
        return True
    context = {key.lower(): value for key, value in (context or {}).items()}
    for operator, tests in condition.items():
        name = operator.removesuffix("IfExists")
        for key, wanted in tests.items():
            present = key.lower() in context
            if name == "Null":
                if (str(wanted).lower() == "true") == present:
                    return False
                continue
            if name not in CONDITION_OPERATORS or ":" in name:
                return None
            if not present:
                if operator.endswith("IfExists"):
                    continue
                return None
            value = str(context[key.lower()])
            check = CONDITION_OPERATORS[name]
            hits = [check(str(item), value) for item in _as_list(wanted)]
            # A negated operator holds only when the value matches none of the listed values.
            if not (all(hits) if name in NEGATED else any(hits)):
                return False
    return True


# --- Unused grants -----------------------------------------------------------------------------


@functools.cache
def _all_actions():
    return tuple(sorted(get_all_actions()))


def expand_actions(patterns, negated=False):
    """The concrete IAM actions ``patterns`` name (or, ``negated``, every other action),
    from policy-sentry's database; policyuniverse's expansion fills in what it lacks."""
    matched: set[str] = set()
    for pattern in patterns:
        matched.update(a for a in _all_actions() if action_matches(pattern, a))
        if not negated and ("*" in pattern or "?" in pattern):
            known = {action.lower() for action in matched}
            matched.update(a for a in _expand_wildcard_action(pattern) if a.lower() not in known)
        elif not negated and not matched:
            matched.add(pattern)
    if negated:
        return sorted(a for a in _all_actions() if a not in matched)
    return sorted(matched)


def unused_grants(policy_document, used):
    """Every ``Grant`` of the policy's Allow statements (actions expanded from wildcards, one
    per Resource pattern) that no ``(action, resource)`` in ``used`` exercised."""
    grants = []
    for index, statement in enumerate(statements(policy_document)):
        if statement.get("Effect") != "Allow":
            continue
        sid = statement_id(statement, index)
        if "NotAction" in statement:
            actions = expand_actions(_as_list(statement["NotAction"]), negated=True)
        else:
            actions = expand_actions(_as_list(statement.get("Action")))
        patterns = _as_list(statement.get("Resource")) or [
            f"NotResource:{pattern}" for pattern in _as_list(statement.get("NotResource"))
        ]
        for action in actions:
            for pattern in patterns:
                if not _fits(action, pattern):
                    continue  # s3:GetObject on a bucket's ARN grants nothing
                exercised = any(
                    action_matches(action, used_action) and _covers(pattern, resource)
                    for used_action, resource in used
                )
                if not exercised:
                    grants.append(Grant(sid, action, pattern))
    return grants


# Placeholders of IAM's ARN formats that never hold a "/" (a bucket is not bucket/key).
SINGLE_SEGMENT = {"Partition", "Region", "Account", "BucketName", "TableName", "FunctionName"}
ARN_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def _format_regex(arn_format):
    parts = ARN_PLACEHOLDER.split(arn_format)
    # split() alternates literal text and placeholder names.
    regex = "".join(
        re.escape(part) if index % 2 == 0 else "[^/:]+" if part in SINGLE_SEGMENT else ".+"
        for index, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


@functools.cache
def _resource_formats(action):
    """``(regexes, tails)`` of the action's ARN formats: tails are every suffix of a format
    written out (placeholders as "x"), for a trailing ``*`` to stand for."""
    prefix, _, name = action.partition(":")
    data = get_action_data(prefix, name) or {}
    formats = sorted({row["resource_arn_format"] for row in data.get(prefix, [])} - {"*"})
    written = [ARN_PLACEHOLDER.sub("x", arn_format) for arn_format in formats]
    tails = {text[index:] for text in written for index in range(len(text))}
    return tuple(map(_format_regex, formats)), frozenset(tails)


def _fits(action, pattern):
    """Whether a Resource pattern can name one of ``action``'s resource types: s3:GetObject
    on a bucket's ARN, or s3:ListBucket on its objects, grants nothing."""
    regexes, tails = _resource_formats(action)
    if not regexes or pattern.startswith("NotResource:") or not pattern.strip("*?"):
        return True
    pattern = pattern.replace("?", "x")
    samples = {pattern.replace("*", "x")}
    if pattern.endswith("*"):
        stem = pattern[:-1].replace("*", "x")
        samples.update(stem + tail for tail in tails)
    return any(regex.match(sample) for regex in regexes for sample in samples)


def _covers(pattern, resource):
    if pattern.startswith("NotResource:"):
        return not resource_matches(pattern.removeprefix("NotResource:"), resource)
    return resource_matches(pattern, resource)


# --- parliament --------------------------------------------------------------------------------


def _accepts_only_star(action):
    regexes, _ = _resource_formats(action)
    return not regexes


# Lambda's VPC networking: EC2 defines resource types for some of these on paper, but Lambda
# creates the interfaces in subnets it picks, and AWS's own AWSLambdaVPCAccessExecutionRole
# grants them on "*".
ENI_ACTIONS = {
    "ec2:createnetworkinterface",
    "ec2:deletenetworkinterface",
    "ec2:describenetworkinterfaces",
    "ec2:assignprivateipaddresses",
    "ec2:unassignprivateipaddresses",
}


def lint(policy_document):
    """parliament's findings on the policy, each marked expected (with why) or not."""
    with warnings.catch_warnings():
        # parliament 1.6 still imports pkg_resources.
        warnings.simplefilter("ignore")
        import parliament

    analyzed = parliament.analyze_policy_string(json.dumps(policy_document))
    findings = []
    for finding in map(parliament.enhance_finding, analyzed.findings):
        expected, reason = _expected(finding, policy_document)
        findings.append(
            Finding(
                issue=finding.issue,
                severity=finding.severity,
                title=finding.title,
                detail=json.dumps(finding.detail, default=str),
                location=json.dumps(finding.location, default=str),
                expected=expected,
                reason=reason,
            )
        )
    return findings


def _expected(finding, policy_document):
    """Whether a least-privilege policy may still have ``finding``, and why. Only
    RESOURCE_STAR may be, for actions that take no narrower resource (policy-sentry lists only
    "*" for them: ec2:DescribeNetworkInterfaces, xray:PutTraceSegments...) and for Lambda's
    VPC networking."""
    if finding.issue != "RESOURCE_STAR":
        return False, ""
    # parliament names the statement's actions in the detail.
    detail = finding.detail if isinstance(finding.detail, list) else []
    actions = [a for a in detail if isinstance(a, str)] or _star_actions(policy_document)
    if not actions:
        return False, ""
    if all(_accepts_only_star(action) for action in actions):
        return True, 'these actions accept only Resource "*"'
    if all(_accepts_only_star(a) or a.lower() in ENI_ACTIONS for a in actions):
        return True, 'Lambda\'s VPC network interfaces: Lambda picks them, IAM takes "*"'
    return False, ""


def _star_actions(policy_document):
    return [
        action
        for statement in statements(policy_document)
        if "*" in _as_list(statement.get("Resource"))
        for action in _as_list(statement.get("Action"))
    ]

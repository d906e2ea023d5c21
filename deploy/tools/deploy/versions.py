"""The function's published versions and its ``live`` alias, which every invoker calls.

SnapStart snapshots published versions only, so nothing may invoke ``$LATEST``:

- API Gateway (v1 and v2): Zappa's integration and permission, at ``live``
  (``apigateway_lambda_qualifier``; ``zappa_cli`` makes Zappa's SnapStart alias ours).
- The schedule rules and the media bucket's notification: made here (``schedules``,
  ``notifications``), targeting the alias with permissions on the alias; Zappa would target
  the unqualified function, so the settings file it gets has no ``events``.
- Asynchronous invocations (tasks, S3): the event-invoke configuration on the alias
  (function.event_invoke), and the task backend invokes ``TASKS_LAMBDA_QUALIFIER``.

Each deploy publishes a version and moves ``live`` (Zappa, in the function step); ``release``
records the move in the alias's description, newest first, so ``rollback`` knows where the
alias was before, and ``prune`` keeps the newest ``KEEP_VERSIONS`` plus every recorded one.
"""

import json
import re

from apps.core import aws

from .infrastructure import require_outputs
from .steps import DeployError, Outcome, code_sha256

LIVE = "live"
KEEP_VERSIONS = 5
# The alias description's history of versions, newest first (a description holds 256 chars).
HISTORY = "releases:"
HISTORY_LENGTH = 20
SCHEDULE_EVENT_FIELDS = (
    "time", "detail-type", "source", "account", "region", "detail", "version", "resources", "id",
)  # fmt: skip


def zappa_settings_file(context):
    """The settings Zappa deploys from: the stage as in zappa_settings.json, without the
    ``events`` this module schedules on the alias. Written under var/deploy/<stage>/."""
    stage = {key: value for key, value in context.stage_settings.items() if key != "events"}
    path = context.root / "var" / "deploy" / context.stage / "zappa_settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({context.stage: stage}, indent=4) + "\n")
    return path


def get_alias(context):
    lambda_ = context.client("lambda")
    try:
        return lambda_.get_alias(FunctionName=context.function_name, Name=LIVE)
    except lambda_.exceptions.ResourceNotFoundException:
        return None


def history(alias):
    """The versions ``live`` has pointed at, newest first (the current one included)."""
    description = (alias or {}).get("Description", "")
    found = description.removeprefix(HISTORY).split() if description.startswith(HISTORY) else []
    return [version for version in found if version.isdigit()]


def _move(context, version, versions):
    context.client("lambda").update_alias(
        FunctionName=context.function_name,
        Name=LIVE,
        FunctionVersion=version,
        Description=" ".join([HISTORY, *versions[:HISTORY_LENGTH]]),
    )


def published_versions(context):
    found = aws.pages(
        context.client("lambda"),
        "list_versions_by_function",
        "Versions",
        FunctionName=context.function_name,
    )
    return sorted((v for v in found if v["Version"] != "$LATEST"), key=lambda v: int(v["Version"]))


def release(context):
    """``live`` runs this tree's code: after a deploy, record the version Zappa moved it to;
    after a rollback, move it back to the newest version with this code."""
    alias = get_alias(context) if require_outputs(context) else None
    if context.plan and alias is None:
        return Outcome(True, f"would point alias {LIVE} at the new version")
    if alias is None:
        raise DeployError(
            f"function {context.function_name} has no alias {LIVE}",
            'check "snap_start": "PublishedVersions" in the stage, then run the function step',
        )
    recorded = history(alias)
    current = alias["FunctionVersion"]
    if context.package_path.exists():
        wanted = code_sha256(context.package_path)
        by_number = {v["Version"]: v for v in published_versions(context)}
        if by_number.get(current, {}).get("CodeSha256") != wanted:
            matching = [n for n, v in by_number.items() if v["CodeSha256"] == wanted]
            if not matching:
                raise DeployError(
                    f"no published version of {context.function_name} runs this package",
                    "run the function step (zappa publishes a version on each update)",
                )
            current = max(matching, key=int)
            if context.plan:
                return Outcome(True, f"would move {LIVE} to version {current} (this code)")
            _move(context, current, [current, *recorded])
            return Outcome(True, f"moved {LIVE} to version {current}, which runs this code")
    if recorded[:1] == [current]:
        return Outcome(False, f"{LIVE} is version {current}")
    if context.plan:
        return Outcome(True, f"would record version {current} as the release")
    _move(context, current, [current, *recorded])
    previous = recorded[0] if recorded else "none"
    return Outcome(True, f"{LIVE} is version {current} (previous release: {previous})")


def rollback(context, version=None):
    """Move ``live`` back: to ``version``, or to where it was before the current release."""
    alias = get_alias(context)
    if alias is None:
        raise DeployError(f"function {context.function_name} has no alias {LIVE}", "deploy first")
    recorded = history(alias) or [alias["FunctionVersion"]]
    existing = {v["Version"] for v in published_versions(context)}
    if version is None:
        earlier = [v for v in recorded[1:] if v in existing]
        if not earlier:
            raise DeployError(
                f"{LIVE} (version {alias['FunctionVersion']}) has no earlier release recorded",
                "name one: make rollback STAGE=... VERSION=N (the versions: aws lambda "
                "list-versions-by-function)",
            )
        version = earlier[0]
        remaining = recorded[recorded.index(version) :]
    else:
        version = str(version)
        if version not in existing:
            raise DeployError(
                f"function {context.function_name} has no version {version}",
                f"use one of {', '.join(sorted(existing, key=int)) or 'none'}",
            )
        remaining = [version, *(v for v in recorded[1:] if v != version)]
    previous = alias["FunctionVersion"]
    if context.plan:
        return Outcome(version != previous, f"would move {LIVE} from {previous} to {version}")
    _move(context, version, remaining)
    return Outcome(version != previous, f"moved {LIVE} from version {previous} to {version}")


def prune(context):
    """Delete old versions: the newest KEEP_VERSIONS stay, and every recorded release (what
    a rollback may return to); each kept version is a snapshot SnapStart keeps cached."""
    if context.plan and (not require_outputs(context) or get_alias(context) is None):
        return Outcome(False, "would delete versions beyond the newest kept")
    keep = set(history(get_alias(context)))
    versions = [v["Version"] for v in published_versions(context)]
    keep |= set(versions[-KEEP_VERSIONS:])
    doomed = [v for v in versions if v not in keep]
    if not doomed:
        return Outcome(False, f"{len(versions)} version(s), none to delete")
    if context.plan:
        return Outcome(True, f"would delete version(s) {', '.join(doomed)}")
    for version in doomed:
        context.client("lambda").delete_function(
            FunctionName=context.function_name, Qualifier=version
        )
    return Outcome(True, f"deleted version(s) {', '.join(doomed)}; kept {len(keep)}")


# --- The invokers that are not API Gateway --------------------------------------------------


def alias_arn(context):
    alias = get_alias(context)
    return alias["AliasArn"] if alias else None


def invoker_target(context):
    """The alias ARN an invoker is pointed at; None when planning a stage not deployed yet."""
    target = alias_arn(context) if require_outputs(context) else None
    if target is None and not context.plan:
        raise DeployError(f"no alias {LIVE} to point the invokers at", "run the function step")
    return target


def rule_name(function_name, event, index=0):
    """Zappa's rule name for a schedule event (its handler routes on the ``-<function>``
    end): ``<function name>-[<index>-]<name>-<dotted function>``, at most 64 characters."""
    name = event.get("name", event["function"])
    if name != event["function"]:
        name = f"{name}-{event['function']}"
    if index:
        name = f"{index}-{name}"
    if len(name) > 63:
        raise DeployError(f"schedule event name {name!r} is too long", "shorten its name")
    prefix = function_name
    if len(f"{prefix}-{name}") >= 64:  # Zappa's way to keep a long function name unique
        import hashlib

        prefix = hashlib.sha1(function_name.encode()).hexdigest()  # noqa: S324 - a name
    full = f"{prefix:.{max(0, 63 - len(name))}}-{name}"[:64]
    return full


def wanted_rules(context):
    """``{rule name: (expression, description, kwargs)}`` of the stage's schedule events."""
    rules = {}
    for event in context.stage_settings.get("events", []):
        expressions = event.get("expressions") or [event.get("expression")]
        for index, expression in enumerate(e for e in expressions if e):
            name = rule_name(context.function_name, event, index)
            rules[name] = (expression, event.get("description", event["function"]), event)
    return rules


def target_input(event):
    """What the rule passes: the scheduled event's fields and the event's ``kwargs``."""
    paths = {name: f"$.{name}" for name in SCHEDULE_EVENT_FIELDS}
    fields = ", ".join(f'"{name}": <{name}>' for name in SCHEDULE_EVENT_FIELDS)
    template = f'{{{fields}, "kwargs": {json.dumps(event.get("kwargs", {}))}}}'
    return {"InputPathsMap": paths, "InputTemplate": template}


def schedules(context):
    """One EventBridge rule per schedule event, its only target the alias."""
    rules = wanted_rules(context)
    target = invoker_target(context)
    if target is None:
        return Outcome(bool(rules), f"would schedule {len(rules)} rule(s) on {LIVE}")
    events = context.client("events")
    changes = []
    for name, (expression, description, event) in rules.items():
        try:
            rule = events.describe_rule(Name=name)
        except events.exceptions.ResourceNotFoundException:
            rule = {}
        targets = events.list_targets_by_rule(Rule=name)["Targets"] if rule else []
        wanted_target = {"Id": LIVE, "Arn": target, "InputTransformer": target_input(event)}
        same_rule = (rule.get("ScheduleExpression"), rule.get("State"), rule.get("Description"))
        if same_rule == (expression, "ENABLED", description) and targets == [wanted_target]:
            continue
        changes.append(name)
        if context.plan:
            continue
        rule_arn = events.put_rule(
            Name=name, ScheduleExpression=expression, State="ENABLED", Description=description
        )["RuleArn"]
        stale = [t["Id"] for t in targets if t["Id"] != LIVE]
        if stale:
            events.remove_targets(Rule=name, Ids=stale)
        events.put_targets(Rule=name, Targets=[wanted_target])
        allow(context, f"events-{name}", "events.amazonaws.com", rule_arn)
    changes += remove_stale_rules(context, set(rules), target)
    if not changes:
        return Outcome(False, f"{len(rules)} rule(s) invoke {LIVE}")
    verb = "would change" if context.plan else "changed"
    return Outcome(True, f"{verb} rule(s) {', '.join(changes)} (target {LIVE})")


def remove_stale_rules(context, wanted, target):
    """Rules aimed at this function that the stage no longer has (deleted), and the
    ``$LATEST`` targets an earlier deploy through Zappa gave the unqualified function."""
    events = context.client("events")
    unqualified = target.rsplit(":", 1)[0]
    removed = []
    for arn in (target, unqualified):
        for name in events.list_rule_names_by_target(TargetArn=arn)["RuleNames"]:
            if name in wanted and arn == target:
                continue
            removed.append(name)
            if context.plan:
                continue
            targets = events.list_targets_by_rule(Rule=name)["Targets"]
            if name in wanted:  # retargeted at the alias above: only $LATEST's target goes
                events.remove_targets(
                    Rule=name, Ids=[t["Id"] for t in targets if t["Arn"] == unqualified]
                )
            else:
                events.remove_targets(Rule=name, Ids=[t["Id"] for t in targets])
                events.delete_rule(Name=name)
    return removed


def notifications(context):
    """The S3 event sources of the stage (the media bucket's ObjectCreated) on the alias."""
    sources = [e for e in context.stage_settings.get("events", []) if "event_source" in e]
    sources = [e for e in sources if e["event_source"]["arn"].startswith("arn:aws:s3:::")]
    target = invoker_target(context)
    if target is None:
        return Outcome(bool(sources), f"would send {len(sources)} bucket event(s) to {LIVE}")
    s3 = context.client("s3")
    unqualified = target.rsplit(":", 1)[0]
    changes = []
    by_bucket: dict[str, list] = {}
    for event in sources:
        bucket = event["event_source"]["arn"].removeprefix("arn:aws:s3:::")
        by_bucket.setdefault(bucket, []).append(event)
    for bucket, events in by_bucket.items():
        current = s3.get_bucket_notification_configuration(Bucket=bucket)
        current.pop("ResponseMetadata", None)
        ours = [
            c
            for c in current.get("LambdaFunctionConfigurations", [])
            if re.fullmatch(re.escape(unqualified) + r"(:[^:]+)?", c["LambdaFunctionArn"])
        ]
        others = [c for c in current.get("LambdaFunctionConfigurations", []) if c not in ours]
        wanted = [notification(context.function_name, event, target) for event in events]
        if _comparable(ours) == _comparable(wanted):
            continue
        changes.append(bucket)
        if context.plan:
            continue
        allow(context, f"s3-{bucket}", "s3.amazonaws.com", f"arn:aws:s3:::{bucket}")
        s3.put_bucket_notification_configuration(
            Bucket=bucket,
            NotificationConfiguration={**current, "LambdaFunctionConfigurations": others + wanted},
        )
    if not changes:
        return Outcome(False, f"{len(sources)} bucket event(s) invoke {LIVE}")
    verb = "would point" if context.plan else "pointed"
    return Outcome(True, f"{verb} the events of bucket(s) {', '.join(changes)} at {LIVE}")


def notification(function_name, event, target):
    source = event["event_source"]
    configuration = {
        # The handler routes "<function name>:<dotted function>" ids (events.py).
        "Id": f"{function_name}:{event['function']}",
        "LambdaFunctionArn": target,
        "Events": source["events"],
    }
    rules = [{"Name": "prefix", "Value": source["prefix"]}] if source.get("prefix") else []
    rules += [{"Name": "suffix", "Value": source["suffix"]}] if source.get("suffix") else []
    if rules:
        configuration["Filter"] = {"Key": {"FilterRules": rules}}
    return configuration


def _comparable(configurations):
    def key(c):
        rules = c.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        return (
            c.get("Id"),
            c["LambdaFunctionArn"],
            tuple(sorted(c["Events"])),
            tuple(sorted((r["Name"].lower(), r["Value"]) for r in rules)),
        )

    return sorted(key(c) for c in configurations)


def allow(context, statement_id, principal, source_arn):
    """A resource-based permission on the alias for ``principal`` from ``source_arn`` (this
    account only: a bucket name could be taken by another account once deleted)."""
    lambda_ = context.client("lambda")
    try:
        policy = json.loads(
            lambda_.get_policy(FunctionName=context.function_name, Qualifier=LIVE)["Policy"]
        )
    except lambda_.exceptions.ResourceNotFoundException:
        policy = {"Statement": []}
    if any(s.get("Sid") == statement_id for s in policy["Statement"]):
        return
    account = context.client("sts").get_caller_identity()["Account"]
    lambda_.add_permission(
        FunctionName=context.function_name,
        Qualifier=LIVE,
        StatementId=statement_id[:100],
        Action="lambda:InvokeFunction",
        Principal=principal,
        SourceArn=source_arn,
        SourceAccount=account,
    )

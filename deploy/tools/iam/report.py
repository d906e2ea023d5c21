"""The least-privilege check: every AWS call the app made against the policy it runs with."""

import collections
import dataclasses
import json
from pathlib import Path

from .actions import UnresolvedRequest, no_iam_reason, operation_requests
from .evaluate import ALLOWED, Finding, Grant, explain, lint, unused_grants
from .requests import UnknownRequest, operation_of


class RecordError(ValueError):
    """The request log is not one JSON object per line."""


@dataclasses.dataclass(frozen=True)
class Call:
    """One (action, resource) the app needed, how often, and what the policy says."""

    action: str
    resource: str
    decision: str
    count: int
    operations: tuple[str, ...]
    statements: tuple[str, ...] = ()
    unevaluated: tuple[str, ...] = ()


@dataclasses.dataclass
class Report:
    calls: list[Call]
    # Operations that need no IAM: {"operation", "reason", "count"}.
    no_iam: list[dict]
    # Records that could not be turned into actions: {"line", "request", "reason"}.
    unresolved: list[dict]
    unused: list[Grant]
    findings: list[Finding]
    records: int

    @property
    def denied(self):
        return [call for call in self.calls if call.decision != ALLOWED]

    @property
    def unexpected_findings(self):
        return [finding for finding in self.findings if not finding.expected]

    @property
    def ok(self):
        """No call denied, none unexplained, and no finding parliament was not expected to
        make. Unused grants are for a person to judge (a rehearsal does not walk every path)."""
        return not (self.denied or self.unresolved or self.unexpected_findings)

    def text(self):
        lines = [
            f"{self.records} recorded requests, {len(self.calls)} distinct (action, resource): "
            f"{len(self.denied)} denied, {len(self.unresolved)} unresolved, "
            f"{len(self.unused)} unused grants, {len(self.findings)} parliament findings "
            f"({len(self.unexpected_findings)} unexpected)"
        ]
        for call in self.calls:
            mark = "ok  " if call.decision == ALLOWED else "DENY"
            via = f" [{', '.join(call.statements)}]" if call.statements else ""
            unsure = f" (unevaluated condition: {', '.join(call.unevaluated)})"
            lines.append(
                f"  {mark} {call.action} {call.resource} x{call.count}{via}"
                f"{unsure if call.unevaluated else ''}"
                + ("" if call.decision == ALLOWED else f" -> {call.decision}")
            )
        for item in self.no_iam:
            lines.append(f"  none {item['operation']} x{item['count']}: {item['reason']}")
        for item in self.unresolved:
            lines.append(f"  ???  line {item['line']} {item['request']}: {item['reason']}")
        if self.unused:
            lines.append("Unused grants:")
            lines.extend(f"  {g.sid}: {g.action} on {g.resource}" for g in self.unused)
        if self.findings:
            lines.append("parliament:")
            for finding in self.findings:
                why = f"expected: {finding.reason}" if finding.expected else "UNEXPECTED"
                lines.append(f"  {finding.issue} ({finding.severity}) {finding.detail}: {why}")
        return "\n".join(lines)

    def as_dict(self):
        return {
            "ok": self.ok,
            "records": self.records,
            "calls": [dataclasses.asdict(call) for call in self.calls],
            "denied": [dataclasses.asdict(call) for call in self.denied],
            "no_iam": self.no_iam,
            "unresolved": self.unresolved,
            "unused_grants": [dataclasses.asdict(grant) for grant in self.unused],
            "findings": [dataclasses.asdict(finding) for finding in self.findings],
        }

    def write_json(self, path):
        """Write the report as JSON (the rehearsal keeps var/deploy/least-privilege.json)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.as_dict(), indent=2) + "\n")


def read_records(records_path):
    """``(line number, record)`` for each line of the request log."""
    with Path(records_path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise RecordError(f"{records_path}:{number}: not JSON ({exc})") from None
            if not isinstance(record, dict):
                raise RecordError(f"{records_path}:{number}: not a JSON object")
            yield number, record


def check(records_path, policy_document, access_keys=None, account=None, context=None):
    """The ``Report`` of the calls recorded in ``records_path`` (by ``access_keys`` only, when
    given: the app's, not the deploy's) under ``policy_document``.

    ``account`` fills ARNs the calls name no account for; ``context`` is the condition keys
    every call is evaluated with.
    """
    counts: collections.Counter[tuple[str, str]] = collections.Counter()
    # (action, resource) -> the operations that needed it, in order (a dict as ordered set).
    operations: dict[tuple[str, str], dict[str, None]] = collections.defaultdict(dict)
    no_iam: collections.Counter[str] = collections.Counter()
    reasons = {}
    unresolved = []
    records = 0
    for number, record in read_records(records_path):
        if access_keys is not None and record.get("access_key") not in access_keys:
            continue
        records += 1
        try:
            service, operation, params = operation_of(record)
            region = record.get("region") or "us-east-1"
            pairs = operation_requests(service, operation, params, region, account)
        except (UnknownRequest, UnresolvedRequest) as exc:
            request = f"{record.get('method')} {record.get('path')}"
            unresolved.append({"line": number, "request": request, "reason": str(exc)})
            continue
        name = f"{service} {operation}"
        if not pairs:
            no_iam[name] += 1
            reasons[name] = no_iam_reason(service, operation)
        for pair in pairs:
            counts[pair] += 1
            operations[pair][name] = None
    calls = []
    for (action, resource), count in sorted(counts.items()):
        decision = explain(policy_document, action, resource, context)
        calls.append(
            Call(
                action,
                resource,
                decision.result,
                count,
                tuple(operations[action, resource]),
                decision.statements,
                decision.unevaluated,
            )
        )
    return Report(
        calls=calls,
        no_iam=[
            {"operation": name, "reason": reasons[name], "count": count}
            for name, count in sorted(no_iam.items())
        ],
        unresolved=unresolved,
        unused=unused_grants(policy_document, set(counts)),
        findings=lint(policy_document),
        records=records,
    )

"""Non-HTTP invocations, routed the way Zappa's handler routes them.

The shapes are Zappa's, so ``zappa invoke``, ``zappa manage``, the schedule rules and S3
notifications that ``zappa deploy`` creates, and our task payloads keep working:

- ``{"command": "dotted.function", ...}``: that function with ``(event, context)``; task
  payloads (deploy/lambda/tasks.py) and ``zappa invoke <stage> dotted.function``.
- ``{"manage": "migrate --noinput"}``: a management command (``zappa manage``).
- ``{"detail-type": "Scheduled Event", "resources": [rule ARN], "kwargs": {...}}``: the
  function at the end of the rule name (Zappa names rules ``...-<dotted.function>``).
- ``{"Records": [...]}``: the functions ``zappa_settings.py`` maps the source ARN to
  (``AWS_EVENT_MAPPING``, written by ``zappa package`` from the stage's ``events``).

Zappa's ``raw_command`` (Python source in the event, run with ``exec``) is refused: anyone
allowed to invoke the function could run arbitrary code with its role.
"""

import io
import logging
import shlex

from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

KEEP_WARM = "keep_warm_callback"


class UnroutableEvent(ValueError):
    """Nothing is configured to handle this event."""


def dispatch(event, context, package_settings=None):
    """Run what ``event`` asks for and return its result."""
    if not isinstance(event, dict):  # a bare string or list: `aws lambda invoke --payload`
        raise UnroutableEvent(f"No route for an event of type {type(event).__name__}.")
    if event.get("command"):
        return run_function(event["command"], event, context)
    if event.get("manage"):
        return manage(event["manage"])
    if event.get("detail-type") == "Scheduled Event":
        return scheduled(event, context)
    if event.get("Records"):
        return records(event, context, package_settings)
    if event.get("raw_command"):
        raise UnroutableEvent("raw_command events are refused; invoke a function by name.")
    raise UnroutableEvent(f"No route for an event with keys {sorted(event)}.")


def run_function(path, event, context):
    """Call the function at dotted ``path`` with the event and context."""
    return import_string(path)(event, context)


def manage(command_line):
    """Run a management command; its output is logged and returned."""
    from django.core.management import call_command

    output = io.StringIO()
    call_command(*shlex.split(command_line), stdout=output, stderr=output)
    text = output.getvalue()
    logger.info("manage %s\n%s", command_line, text)
    return {"output": text}


def scheduled(event, context):
    """A schedule rule's event: call the function its rule name ends with."""
    rule = event["resources"][0].rsplit("/", 1)[-1]
    path = rule.rsplit("-", 1)[-1]
    if path.rsplit(".", 1)[-1] == KEEP_WARM or "." not in path:
        # Keep-warm pings (the instance is warm now) and Zappa's certificate renewal,
        # which our package does not carry.
        return None
    return run_function(path, event, context)


def records(event, context, package_settings):
    """S3, SNS, SQS, DynamoDB or Kinesis records: the functions mapped to their source."""
    record = event["Records"][0]
    paths = _record_functions(record, getattr(package_settings, "AWS_EVENT_MAPPING", {}))
    if not paths:
        raise UnroutableEvent(
            f"No function is mapped to records from {_source_arn(record)!r}; add an event "
            "with this event_source to the stage in zappa_settings.json."
        )
    result = None
    for path in paths:
        result = run_function(path, event, context)
    return result


def _record_functions(record, mapping):
    s3 = record.get("s3") or {}
    configuration = s3.get("configurationId", "")
    if ":" in configuration:
        # Older Zappa releases named the notification "<lambda>:<dotted.function>".
        return [configuration.rsplit(":", 1)[-1]]
    found = mapping.get(_source_arn(record))
    if isinstance(found, str):
        return [found]
    return list(found or [])


def _source_arn(record):
    if "s3" in record:
        return record["s3"]["bucket"]["arn"]
    if "Sns" in record:
        return record["Sns"].get("TopicArn")
    return record.get("eventSourceARN")

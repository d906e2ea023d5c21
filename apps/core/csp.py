"""Content-Security-Policy with the origins of the running target, its violation reports,
and Permissions-Policy.

``CONTENT_SECURITY_POLICY`` in settings holds what every target shares ('self', 'none',
the nonce). What differs per target, where static files, uploads and thumbnails and the
hosted UI live, is computed here from the settings when a response goes out, so a test's
``override_settings`` and a target's environment both reach it and importing costs nothing.

Why a middleware subclass: django-csp 4 documents ``get_policy_parts`` as the place to
extend its middleware, and it covers every response, Django's own error pages and the admin
included, which per-view ``@csp_update`` decorators cannot. Writing the origins into the
settings modules instead would freeze them at import. For Django 6's built-in CSP, the
``DIRECTIVES`` move unchanged to ``SECURE_CSP`` (constants from ``django.utils.csp.CSP``,
the template variable becomes ``csp_nonce``); only this class's base and hook change, and
``target_sources`` stays as it is.
"""

import logging
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.urls import NoReverseMatch, reverse

from apps.core import aws

logger = logging.getLogger(__name__)

# What a violation report says, under the names of the two formats browsers send:
# report-uri's ``{"csp-report": {...}}`` and the Reporting API's ``[{"type":
# "csp-violation", "body": {...}}]``. Anything else in a report is not logged.
_REPORT_FIELDS = {
    "document": ("document-uri", "documentURL"),
    "blocked": ("blocked-uri", "blockedURL"),
    "directive": ("effective-directive", "effectiveDirective"),
    "disposition": ("disposition", "disposition"),
    "source": ("source-file", "sourceFile"),
    "line": ("line-number", "lineNumber"),
    "column": ("column-number", "columnNumber"),
    "sample": ("script-sample", "sample"),
}
_MAX_FIELD_CHARS = 512


def origin(url):
    """``scheme://host[:port]`` of an absolute URL, the host alone for ``//host/...``, None
    for a path."""
    parts = urlsplit(url or "")
    if not parts.netloc:
        return None
    host = parts.netloc.lower().rpartition("@")[2]
    return f"{parts.scheme.lower()}://{host}" if parts.scheme else host


def static_origins():
    """Where pages load stylesheets, scripts and images from besides the app itself:
    STATIC_URL's origin when it is absolute, and the CDN's, from which ``StaticStorage``
    builds its URLs (STATIC_CDN_DOMAIN may carry a path: the local stack's bucket)."""
    origins = [origin(settings.STATIC_URL)]
    if settings.STATIC_CDN_DOMAIN:
        origins.append(origin(f"{settings.STATIC_CDN_PROTOCOL}//{settings.STATIC_CDN_DOMAIN}"))
    return _unique(origins)


def media_origins():
    """Where browsers send uploads (presigned POSTs) and fetch thumbnails (presigned GETs):
    the media bucket's S3 endpoint, addressed as botocore addresses it.

    A custom endpoint (the local stack) is addressed by path. On AWS botocore signs for the
    global virtual host; S3 may answer a bucket outside us-east-1 with a redirect to its
    regional host, and CSP checks every hop, so both are allowed. A bucket name with dots
    cannot be a TLS host name and is addressed by path on S3's own hosts.
    """
    endpoint = aws.endpoint_url("s3")
    if endpoint:
        return _unique([origin(endpoint)])
    bucket, region = settings.MEDIA_BUCKET, settings.AWS_REGION
    if not bucket:
        return []
    prefix = "" if "." in bucket else f"{bucket}."
    hosts = [f"{prefix}s3.amazonaws.com"]
    if region:
        hosts.append(f"{prefix}s3.{region}.amazonaws.com")
    return [f"https://{host}" for host in hosts]


def sign_in_origins():
    """Where forms may lead besides the app: the sign-out form's POST is answered with a
    redirect to the hosted UI's logout when COGNITO_DOMAIN is set, and form-action applies
    to that redirect. (apps.accounts.conf.hosted_ui_url reads the setting the same way;
    apps.core imports no app.)"""
    domain = settings.COGNITO_DOMAIN
    if not domain:
        return []
    return _unique([origin(domain if "://" in domain else f"https://{domain}")])


def report_path():
    """The report endpoint, under the script prefix (API Gateway's stage) of this request;
    None under a URLconf without it (reports are then not asked for).

    Named by ``report-uri`` only. With ``report-to`` as well, Chromium reports through the
    Reporting API alone, batched for up to a minute, and the e2e suite's headless Chromium
    never delivers those, so no report could be seen there; every browser still sends
    ``report-uri``'s at once. The endpoint reads both formats: adding ``report-to`` is the
    directive and a Reporting-Endpoints header.
    """
    try:
        return reverse("csp-report")
    except NoReverseMatch:
        return None


def target_sources():
    """The sources that depend on the target's settings, added to CONTENT_SECURITY_POLICY's
    directives on every response; directives without any are left out (an empty source
    list would mean 'none')."""
    static = static_origins()
    media = media_origins()
    sources = {
        "script-src": static,
        "style-src": static,
        "font-src": static,
        "img-src": [*static, *media],
        "connect-src": media,
        "form-action": sign_in_origins(),
    }
    report = report_path()
    if report:
        sources["report-uri"] = [report]
    return {directive: values for directive, values in sources.items() if values}


def permissions_policy():
    """PERMISSIONS_POLICY as the header's structured fields: ``camera=()``, ``fullscreen=(self)``,
    ``payment=(self "https://pay.example")``."""
    features = []
    for feature, allowlist in settings.PERMISSIONS_POLICY.items():
        members = [item if item in ("self", "*") else f'"{item}"' for item in allowlist]
        features.append(f"{feature}=({' '.join(members)})")
    return ", ".join(features)


class SecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, with the target's sources (``target_sources``) added to each
    policy it sends; and Permissions-Policy, which Django has no setting for."""

    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only=report_only)
        update = {directive: list(values) for directive, values in target_sources().items()}
        for directive, values in (parts.update or {}).items():  # a view's @csp_update
            values = [values] if isinstance(values, str) else values
            update[directive] = [*update.get(directive, []), *values]
        parts.update = update
        return parts

    def process_response(self, request, response):
        response = super().process_response(request, response)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", permissions_policy())
        return response


def violations(payload):
    """The CSP violations in a report body of either format, each as the fields we log.

    Raises ValueError when ``payload`` is neither format. Reporting API batches may carry
    other report types (deprecations, interventions); those are skipped.
    """
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        return [_fields(payload["csp-report"], 0)]
    if isinstance(payload, list) and all(isinstance(report, dict) for report in payload):
        return [
            _fields(report["body"], 1)
            for report in payload
            if report.get("type") == "csp-violation" and isinstance(report.get("body"), dict)
        ]
    raise ValueError("Not a CSP violation report.")


def log_violations(payload):
    """One log line per violation in ``payload`` (see ``violations``); returns how many."""
    found = violations(payload)
    for violation in found:
        logger.warning(
            "csp violation: %s blocked by %s",
            violation.get("blocked"),
            violation.get("directive"),
            extra={"csp_violation": violation},
        )
    return len(found)


def _fields(report, style):
    fields: dict[str, str | int | float] = {}
    for field, names in _REPORT_FIELDS.items():
        value = report.get(names[style])
        if isinstance(value, int | float) and not isinstance(value, bool):
            fields[field] = value
        elif isinstance(value, str) and value:
            fields[field] = value[:_MAX_FIELD_CHARS]
    return fields


def _unique(origins):
    return list(dict.fromkeys(item for item in origins if item))

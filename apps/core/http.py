"""The HTTP boundary: input that is refused with a reason (400), and error responses with
one: 401 for API calls without credentials, 503 when a dependency is down (with
Retry-After, never cached; ``dependency_unavailable``). No input should ever be a 500.

Text from clients reaches databases that cannot store every Python string: PostgreSQL
refuses NUL, and a lone surrogate (``"\\ud800"`` in JSON) cannot be encoded as UTF-8 by
any driver. ``json_body``/``parse_json`` (JSON bodies, token payloads) and
``TextInputForm`` (every form, file names included) refuse both, so nothing behind them
needs to care.
"""

import json
import logging
import math
import re

from django import forms
from django.core.exceptions import BadRequest, ValidationError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.functional import empty
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.core import request_id

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
# project/urls.py mounts the JSON APIs here: their errors are JSON whoever asks.
API_PREFIX = "/api/"
MAX_JSON_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32
MAX_JSON_INT_DIGITS = 64  # no size or time needs more; Python's own limit is 4300

_UNSAFE_TEXT = re.compile("[\x00\ud800-\udfff]")
# JSON's strings (an unterminated one runs to the end, so no start is scanned twice) and
# its brackets: what the nesting check needs, in one linear pass.
_JSON_NESTING = re.compile(r'"(?:[^"\\]|\\.|\\\Z)*(?:"|\Z)|[\[\]{}]', re.DOTALL)


class InvalidInput(BadRequest, ValueError):
    """The client's input cannot be used; the message says why, for a 400.

    A BadRequest, so one that no view catches is still Django's 400 page, not a 500; and
    a ValueError, as callers of JSON parsers expect.
    """


def unsafe_text(text):
    """Whether ``text`` holds a NUL or a lone surrogate, which no database column takes."""
    return _UNSAFE_TEXT.search(text) is not None


def json_body(request, *, max_bytes=MAX_JSON_BYTES, max_depth=MAX_JSON_DEPTH):
    """The request's JSON body (``{}`` when empty), or InvalidInput saying what is wrong."""
    raw = request.body  # past DATA_UPLOAD_MAX_MEMORY_SIZE Django refuses it (400)
    if len(raw) > max_bytes:
        raise InvalidInput(f"The body is larger than {max_bytes} bytes.")
    return parse_json(raw or b"{}", max_depth=max_depth)


def parse_json(raw, *, max_depth=MAX_JSON_DEPTH):
    """``raw`` (UTF-8 bytes or str) parsed as JSON, or InvalidInput.

    Refused: nesting deeper than ``max_depth`` (checked before parsing: the parser
    recurses, and 5,000 brackets exhaust the stack), NaN and the infinities (not JSON;
    NaN fails every comparison, so ``exp <= now`` lets it through), integers longer
    than MAX_JSON_INT_DIGITS, and strings holding NUL or lone surrogates.
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("The JSON is not UTF-8.") from None
    if raw.count("[") + raw.count("{") > max_depth:
        _check_depth(raw, max_depth)
    try:
        value = json.loads(
            raw, parse_constant=_non_finite, parse_float=_finite_float, parse_int=_bounded_int
        )
    except InvalidInput:
        raise
    except ValueError as exc:
        raise InvalidInput(f"Not JSON: {exc}") from None
    _check_strings(value)
    return value


def _check_depth(text, max_depth):
    depth = 0
    for match in _JSON_NESTING.finditer(text):
        found = match.group()
        if found in ("[", "{"):
            depth += 1
            if depth > max_depth:
                raise InvalidInput(f"The JSON is nested more than {max_depth} deep.")
        elif found in ("]", "}"):
            depth -= 1


def _non_finite(constant):
    raise InvalidInput(f"{constant} is not a JSON number.")


def _finite_float(literal):
    value = float(literal)
    if not math.isfinite(value):
        raise InvalidInput(f"{literal} is out of range.")
    return value


def _bounded_int(literal):
    if len(literal.lstrip("-")) > MAX_JSON_INT_DIGITS:
        raise InvalidInput(f"A number has more than {MAX_JSON_INT_DIGITS} digits.")
    return int(literal)


def _check_strings(value):
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and unsafe_text(item):
            raise InvalidInput("Text may not contain NUL characters or lone surrogates.")


def validate_text(value):
    """A form validator: no NUL or lone surrogate in a value, or in an uploaded file's name."""
    text = getattr(value, "name", value)
    if isinstance(text, str) and unsafe_text(text):
        # Django's own message, so it is translated in every language it speaks.
        raise ValidationError(_("Enter a valid value."), code="unsafe_text")


class TextInputForm(forms.Form):
    """A form whose every field, file fields included, refuses text ``unsafe_text`` finds.

    Django's CharField refuses NUL but not lone surrogates; its FileField checks neither.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():  # each form's own copies of the fields
            field.validators.append(validate_text)


def unavailable(response):
    """Turn ``response`` into a 503 that tells clients when to retry."""
    response.status_code = 503
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    return response


def unavailable_json(**body):
    return unavailable(JsonResponse(body))


def dependency_unavailable(request, error):
    """The answer to ``error``, a DependencyUnavailable (apps.core.errors): a 503 with
    Retry-After, and one WARNING naming the dependency and why, with the request id.

    The client learns only that something is down and when to retry, nothing internal:
    JSON for API clients (``wants_json``), else the site's page in the visitor's language.
    The response keeps the error (``response.dependency_unavailable``): middleware it
    passes on the way out (SessionMiddleware) does not answer the same failure again.
    """
    logger.warning(
        "%s unavailable: %s",
        error.dependency,
        error,
        extra={"dependency": error.dependency, "request_id": request_id.get()},
    )
    if wants_json(request):
        response = unavailable_json(
            error="temporarily_unavailable",
            detail=gettext(
                "A service this request needs cannot be reached right now. Nothing was "
                "changed; please try again in a moment."
            ),
        )
    else:
        # The header shows the user only if the request knows them already, and the
        # messages wait for the next page: reading either may need the store that is down.
        context = {"user": known_user(request), "messages": ()}
        response = unavailable(render(request, "unavailable.html", context))
    response.dependency_unavailable = error
    return response


def wants_json(request):
    """Whether ``request`` is an API client's, which reads errors as JSON: it carries a
    Bearer token, or a JSON body (the uploader's calls), or is for a URL under API_PREFIX,
    or its Accept header prefers JSON to HTML. Anything else is a browser's: a page."""
    scheme, _space, _token = request.headers.get("Authorization", "").partition(" ")
    return (
        scheme.lower() == "bearer"
        or request.content_type == "application/json"
        or request.path_info.startswith(API_PREFIX)
        or request.get_preferred_type(["text/html", "application/json"]) == "application/json"
    )


def known_user(request):
    """``request.user`` if the request has resolved it already, else AnonymousUser.

    Resolving it asks the session store and the database, which may be what is down (or
    cost a call that nothing else needed).
    """
    from django.contrib.auth.models import AnonymousUser  # needs the app registry

    user = request.__dict__.get("user")
    if user is None or getattr(user, "_wrapped", None) is empty:
        return AnonymousUser()
    return user


def unauthorized(error=None, description=None):
    """401 with ``WWW-Authenticate: Bearer`` (RFC 6750) and the same reason in JSON.

    Without ``error`` (no credentials at all) the challenge names only the realm, as the
    RFC asks.
    """
    response = JsonResponse(
        {"error": error or "authentication_required", "detail": description or ""}, status=401
    )
    challenge = 'Bearer realm="api"'
    if error:
        challenge += f', error="{error}"'
    if description:
        challenge += f', error_description="{description}"'
    response["WWW-Authenticate"] = challenge
    return response

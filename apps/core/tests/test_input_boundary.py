"""The input rules of apps/core/http.py: JSON that is parsed without recursing too deep, no
NaN, no text a database refuses; and every form of the apps held to the same text rule."""

import contextlib
import importlib
import inspect
import json
import math
import time
from pathlib import Path

import pytest
from django import forms
from django.core.exceptions import BadRequest
from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.http import (
    MAX_JSON_DEPTH,
    InvalidInput,
    TextInputForm,
    parse_json,
    unsafe_text,
)

APPS = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[" * 5000 + b"]" * 5000, "nested more than 32"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "nested more than 32"),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), "nested"),
        (b'{"size": NaN}', "NaN is not a JSON number"),
        (b'{"size": Infinity}', "Infinity is not a JSON number"),
        (b'{"size": -Infinity}', "-Infinity is not a JSON number"),
        (b'{"size": 1e400}', "out of range"),
        (b'{"size": ' + b"9" * 5000 + b"}", "more than 64 digits"),
        (b'{"name": "a\\u0000.png"}', "NUL"),
        (b'{"name": "a\\ud800.png"}', "lone surrogates"),
        (b'{"a\\udfff": 1}', "lone surrogates"),
        (b'[["\\u0000"]]', "NUL"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{", "Not JSON"),
        (b"", "Not JSON"),
    ],
)
def test_refused_json(raw, reason):
    with pytest.raises(InvalidInput, match=reason):
        parse_json(raw)


def test_refusals_are_bad_requests_and_value_errors():
    # BadRequest: an uncaught one is Django's 400; ValueError: JSON callers already catch it.
    assert issubclass(InvalidInput, BadRequest) and issubclass(InvalidInput, ValueError)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH,
        b'{"name": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',
        b'{"name": "\\" [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ \\\\"}',
        '{"name": "😀 ünïcødé"}'.encode(),
        b'{"name": "\\ud83d\\ude00"}',  # a surrogate pair is one character, not a lone one
        b'{"size": 1.5e300, "n": -12}',
    ],
)
def test_accepted_json(raw):
    assert parse_json(raw) == json.loads(raw)


def test_the_nesting_scan_is_linear_on_unterminated_strings():
    # Each escaped quote could start a string that runs to the end: scanned once, not n times.
    raw = '"\\"' * 30000 + "[" * 40
    started = time.perf_counter()
    with pytest.raises(InvalidInput):
        parse_json(raw)
    assert time.perf_counter() - started < 0.5


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.just(10**70),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def _refusable(value):
    """What parse_json must refuse in a JSON-able value: NaN, infinities, 65+ digit
    integers, and strings (keys too) with NUL or lone surrogates."""
    if isinstance(value, dict):
        return any(_refusable(item) for item in [*value, *value.values()])
    if isinstance(value, list):
        return any(_refusable(item) for item in value)
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, int):
        return len(str(abs(value))) > 64
    return isinstance(value, str) and unsafe_text(value)


@settings(max_examples=200, deadline=None)
@given(value=json_values)
def test_parse_json_agrees_with_json_or_refuses_exactly_the_unsafe(value):
    raw = json.dumps(value)
    if _refusable(value):
        with pytest.raises(InvalidInput):
            parse_json(raw)
    else:
        assert parse_json(raw) == json.loads(raw)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(alphabet='[]{}"\\:,0123456789 eE.-a', max_size=200))
def test_parse_json_never_raises_anything_else(raw):
    with contextlib.suppress(InvalidInput):
        parse_json(raw)


def test_unsafe_text():
    assert unsafe_text("a\x00b") and unsafe_text("\ud800") and unsafe_text("x\udfff")
    assert not unsafe_text("plain ü 😀 \t\n")


def _app_forms():
    for module_path in sorted(APPS.glob("*/forms.py")):
        module = importlib.import_module(f"apps.{module_path.parent.name}.forms")
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, forms.BaseForm) and value.__module__ == module.__name__:
                yield value


def test_every_form_of_the_apps_uses_the_text_rule():
    found = list(_app_forms())
    assert {form.__name__ for form in found} >= {
        "PasswordLoginForm",
        "ContactForm",
        "FallbackUploadForm",
    }
    assert [form for form in found if not issubclass(form, TextInputForm)] == []


class SampleForm(TextInputForm):
    text = forms.CharField(required=False)
    choice = forms.ChoiceField(choices=[("\ud800", "odd")], required=False)
    file = forms.FileField(required=False)


@pytest.mark.parametrize(
    ("data", "files", "field"),
    [
        ({"text": "a\ud800b"}, {}, "text"),
        ({"text": "a\x00b"}, {}, "text"),
        ({"choice": "\ud800"}, {}, "choice"),
        ({}, {"file": SimpleUploadedFile("a\x00.png", b"x")}, "file"),
        ({}, {"file": SimpleUploadedFile("a\udc80.png", b"x")}, "file"),
    ],
)
def test_text_input_form_refuses_unsafe_text_in_every_field(data, files, field):
    form = SampleForm(data, files)
    assert not form.is_valid()
    assert field in form.errors


def test_text_input_form_accepts_ordinary_text():
    form = SampleForm({"text": "Grüße 😀"}, {"file": SimpleUploadedFile("plan ü.png", b"x")})
    assert form.is_valid(), form.errors

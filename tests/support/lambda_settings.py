"""The lambda target's settings with the test views of tests/support/lambda_urls.py mounted.

For the local Lambda tests (``DJANGO_SETTINGS_MODULE=tests.support.lambda_settings`` in the
function's environment). Static files come from their sources: collecting them to the
static bucket is the packaging's job, not these tests'.
"""

import importlib

# "lambda" is a keyword, so the target module is imported by name.
_target = importlib.import_module("project.settings.lambda")
globals().update({name: value for name, value in vars(_target).items() if name.isupper()})

ROOT_URLCONF = "tests.support.lambda_urls"
STORAGES = {
    **_target.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

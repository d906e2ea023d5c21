"""The Lambda function's entry point: handler setting ``deploy.lambda.handler.lambda_handler``.

Importing this module is Lambda's init phase, so Django is set up here: settings, apps,
URLconf and middleware load once per instance, before the first request, and are billed
as Init Duration instead of being added to the first visitor's wait. ``snapstart.warm_up``
then does what the first page would (templates, URL maps, storages, one home-page request),
which with SnapStart is in the snapshot; no AWS client is made and nothing of AWS is called
(apps.core.aws makes clients when a request needs one).
"""

import importlib
import os

from . import apigateway, events


def _apply_package_settings():
    """Apply what ``zappa package`` writes into ``zappa_settings.py`` at the package root.

    Zappa's handler sets the stage's ``environment_variables`` and Django settings module
    on cold start; keeping that contract keeps zappa_settings.json meaning the same.
    A settings module in the function's own environment wins over the package's.
    """
    try:
        package = importlib.import_module("zappa_settings")
    except ImportError:
        return None
    for name, value in getattr(package, "ENVIRONMENT_VARIABLES", {}).items():
        os.environ[name] = str(value)
    if getattr(package, "DJANGO_SETTINGS", None):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", package.DJANGO_SETTINGS)
    return package


PACKAGE_SETTINGS = _apply_package_settings()

# Django is set up by this import, after the stage's environment is in place.
from project.wsgi import application  # noqa: E402

from . import snapstart  # noqa: E402

# The rest of what a first request would do, done here: billed as init on demand, and free
# with SnapStart, whose snapshot is taken after it (the hooks keep instances apart).
# On the execute-api URL every path starts with the stage (apigateway: SCRIPT_NAME).
_stage = getattr(PACKAGE_SETTINGS, "API_STAGE", None)
snapstart.warm_up(application, ("/", f"/{_stage}/") if _stage else ("/",))
snapstart.register()


def lambda_handler(event, context):
    """Answer one invocation: HTTP events go to Django, the others to their function."""
    kind = apigateway.source(event)
    if kind is None:
        return events.dispatch(event, context, PACKAGE_SETTINGS)
    return apigateway.handle(application, event, context, kind)

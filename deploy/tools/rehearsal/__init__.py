"""The deploy rehearsal: an empty emulated AWS account on loopback (moto's server with the
CloudFormation models and routes the deploy needs, and a request recorder) that
``make deploy`` and Zappa run against offline.

The account's Lambda invocations, databases and execute-api front (``functions``,
``databases``, ``execute_api``) are optional modules of this package, found by ``sibling``.
"""

import importlib
from types import ModuleType


def sibling(name) -> ModuleType | None:
    """This package's module ``name``, or None when it does not exist (yet).

    Only the module itself may be missing: an import error inside it still raises.
    """
    module = f"{__name__}.{name}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None

"""Developer and operator tools: a Django app that only the local and test settings install.

Nothing here runs in a deployed function or server, and nothing here is packaged: the
local AWS stack (``localaws``), the local Lambda (``locallambda``), the cost model
(``costs``), the harness the tests and benchmarks start targets with (``harness``) and the
commands that drive them and the deploy (``management/commands``).
"""

import importlib


def lambda_module(name):
    """``deploy.lambda.<name>``: "lambda" is a keyword, so the target's package (named after
    it, like ``project.settings.lambda``) can only be imported by name."""
    return importlib.import_module(f"deploy.lambda.{name}")

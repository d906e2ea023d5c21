"""The Lambda target: the function's entry point and a local Lambda to run it.

``lambda`` is a Python keyword, so this package cannot be named in an ``import``
statement; it does not need to be. Lambda's Python runtime (``awslambdaric``) loads the
handler with ``importlib.import_module``, which takes any dotted path of packages, so the
function's handler setting is ``deploy.lambda.handler.lambda_handler``. Code inside the
package uses relative imports, and the management commands ``importlib``.
"""

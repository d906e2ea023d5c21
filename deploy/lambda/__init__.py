"""The Lambda target: the function's entry points, task backend, schedules and package build.

``lambda`` is a Python keyword, so this package cannot be named in an ``import``
statement; it does not need to be. Lambda's Python runtime (``awslambdaric``) loads the
handler with ``importlib.import_module``, which takes any dotted path of packages, so the
function's handler setting is ``deploy.lambda.handler.lambda_handler``. Code inside the
package uses relative imports; the tools use ``deploy.tools.lambda_module``.
"""

"""A local Lambda: the function's package run as Lambda runs it, without Docker.

- ``codedir``: the read-only code directory (a copy of the source tree or the built zip).
- ``runtime``: a function's pool of instances, and Lambda's START/END/REPORT lines.
- ``instance``: one instance, a worker process running the real runtime interface client
  (``awslambdaric``), with Lambda's environment, init phase and timeouts.
- ``runtime_api``: the local Runtime API each instance's worker polls.
- ``gateway``: a local API Gateway (REST v1, HTTP API v2, function URL or ALB shapes) on
  127.0.0.1 in front of them, with AWS's payload limits, timeouts and stage prefix.
- ``invocations``: the non-HTTP events ``manage.py invokelambda`` sends.
"""

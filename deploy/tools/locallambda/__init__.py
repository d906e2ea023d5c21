"""A local Lambda: the function's package run as Lambda runs it, without Docker.

- ``codedir``: the read-only code directory (a copy of the source tree or the built zip).
- ``runtime``: instances, each a worker process running the real runtime interface client
  (``awslambdaric``) against its own local Runtime API, plus START/END/REPORT lines.
- ``gateway``: a local API Gateway (REST v1, HTTP API v2, function URL or ALB shapes) on
  127.0.0.1 in front of them, with AWS's payload limits, timeouts and stage prefix.
- ``invocations``: the non-HTTP events ``manage.py invokelambda`` sends.
"""

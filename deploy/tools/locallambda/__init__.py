"""A local Lambda: the function's package run as Lambda runs it, without Docker.

- ``codedir``: the read-only code directory (a copy of the source tree or the built zip).
- ``runtime``: a function's pool of instances, and Lambda's START/END/REPORT lines.
- ``instance``: one instance, a worker process running the real runtime interface client
  (``awslambdaric``), with Lambda's environment, init phase and timeouts.
- ``runtime_api``: the local Runtime API each instance's worker polls.
- ``snapstart`` (``--snapstart``): a version's snapshot, one process that ran init and the
  before-snapshot hooks (``snapstart_bootstrap``, run by path), and instances restored from it
  as forks of that process, with its memory, a copy of its /tmp and the snapshot's ``random``
  state, which run the after-restore hooks; Restore Duration in their first REPORT line.
- ``gateway``: a local API Gateway (REST v1, HTTP API v2, function URL or ALB shapes) on
  127.0.0.1 in front of them, with AWS's payload limits, timeouts and stage prefix.
- ``invocations``: the non-HTTP events ``manage.py invokelambda`` sends.
"""

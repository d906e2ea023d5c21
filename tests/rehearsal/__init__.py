"""The deploy rehearsal's emulated AWS account: its server, recorder, routes and the
CloudFormation models it adds to moto."""

import boto3

REGION = "us-east-1"


def client(account, service, **options):
    """A boto3 client for ``service`` on the emulated ``account``, with its fixed keys."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client(service, endpoint_url=account.url, **options)

"""The template's table and bucket parts, deployed once into the local stack's CloudFormation
for the drift and stack tests of this folder."""

import json
import uuid

import pytest

from apps.core import aws
from tests.support.cloudformation import load_template

PARAMETERS = {
    "Stage": "dev",
    "AppDomain": "app.example.com",
    "AppOriginDomain": "origin.example.com",
    "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
    "CallbackUrls": "https://app.example.com/accounts/callback/",
    "LogoutUrls": "https://app.example.com/",
    "CognitoDomainPrefix": "amphibian-dev-test",
}


def data_part(template):
    """The template cut down to its tables and buckets (what moto can create) and the outputs
    that name them or the part's parameters."""
    parameters = ("Stage", "AppDomain", "MediaOrigins")
    kept = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::DynamoDB::Table", "AWS::S3::Bucket")
    }
    outputs = {
        name: output
        for name, output in template["Outputs"].items()
        if isinstance(output["Value"], dict)
        and output["Value"].get("Ref") in {*kept, *parameters, "AWS::Region"}
    }
    return {
        "AWSTemplateFormatVersion": template["AWSTemplateFormatVersion"],
        "Parameters": {name: template["Parameters"][name] for name in parameters},
        "Conditions": {
            name: template["Conditions"][name] for name in ("IsProd", "HasMediaOrigins")
        },
        "Resources": kept,
        "Outputs": outputs,
    }


@pytest.fixture(scope="package")
def deployed_stack(local_aws):
    cloudformation = aws.client("cloudformation")
    name = f"amphibian-cfn-{uuid.uuid4().hex[:6]}"
    part = data_part(load_template())
    cloudformation.create_stack(
        StackName=name,
        TemplateBody=json.dumps(part),
        Parameters=[
            {"ParameterKey": key, "ParameterValue": PARAMETERS[key]}
            for key in ("Stage", "AppDomain")
        ],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
    )
    resources = {
        item["LogicalResourceId"]: item["PhysicalResourceId"]
        for item in cloudformation.describe_stack_resources(StackName=name)["StackResources"]
    }
    yield {"name": name, "resources": resources, "part": part}
    cloudformation.delete_stack(StackName=name)

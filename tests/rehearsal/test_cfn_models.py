"""The CloudFormation models the emulated account adds to moto: small templates deployed into
a real ``manage.py emulatedaws`` process, checked through each service's own API, and the
whole of deploy/aws/amphibian.yaml deployed and updated."""

import json
import uuid

import pytest
from moto.cloudformation.parsing import get_model_map

from deploy.tools.harness.processes import ROOT
from deploy.tools.rehearsal import cfn_models
from deploy.tools.rehearsal.emulator import EmulatedAccountProcess
from tests.rehearsal import client
from tests.support.cloudformation import load_template
from tests.support.rehearsal import imported_certificate

PROD_PARAMETERS = ROOT / "deploy" / "aws" / "parameters" / "prod.json"
# The full stack's inputs when deploy/aws/parameters/prod.json does not exist (yet).
DEFAULT_PARAMETERS = {
    "Stage": "prod",
    "AppDomain": "app.example.com",
    "AppOriginDomain": "origin.example.com",
    "CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc",
    "CallbackUrls": "https://app.example.com/accounts/callback/",
    "LogoutUrls": "https://app.example.com/",
    "CognitoDomainPrefix": "amphibian-rehearsal",
    "AlbCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/alb",
    "ContainerImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/amphibian:1",
    "AlarmEmail": "ops@example.com",
}


@pytest.fixture(scope="module")
def account(tmp_path_factory):
    process = EmulatedAccountProcess(state_dir=tmp_path_factory.mktemp("account")).start()
    yield process
    assert process.stop() == 0, "".join(process.output)


def deploy(account, template, parameters=None, name=None, update=False):
    """Create (or update) a stack from ``template``; its outputs once it is complete."""
    cloudformation = client(account, "cloudformation")
    name = name or f"t-{uuid.uuid4().hex[:8]}"
    call = cloudformation.update_stack if update else cloudformation.create_stack
    call(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": key, "ParameterValue": value}
            for key, value in (parameters or {}).items()
        ],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    )
    stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    expected = "UPDATE_COMPLETE" if update else "CREATE_COMPLETE"
    assert stack["StackStatus"] == expected, (stack["StackStatus"], stack.get("StackStatusReason"))
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stack.get("Outputs", [])}
    return name, outputs


def outputs_of(resources, **values):
    """Resources plus one output per ``name=intrinsic``."""
    return {"Resources": resources, "Outputs": {k: {"Value": v} for k, v in values.items()}}


def test_every_resource_type_of_the_template_has_a_model():
    cfn_models.install()
    types = {resource["Type"] for resource in load_template()["Resources"].values()}
    assert types - set(get_model_map()) == set()
    # Ours replace none of moto's but the instance, whose managed password moto ignores.
    ours = {model.cloudformation_type() for model in cfn_models.install()}
    assert "AWS::RDS::DBInstance" in ours
    assert get_model_map()["AWS::RDS::DBInstance"] is cfn_models.DBInstance


def test_cognito_pool_client_group_domain_and_branding(account):
    resources = {
        "Pool": {
            "Type": "AWS::Cognito::UserPool",
            "Properties": {
                "UserPoolName": "rehearsal-users",
                "UsernameAttributes": ["email"],
                "MfaConfiguration": "OPTIONAL",
                "EnabledMfas": ["SOFTWARE_TOKEN_MFA"],
                "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True},
            },
        },
        "Client": {
            "Type": "AWS::Cognito::UserPoolClient",
            "Properties": {
                "UserPoolId": {"Ref": "Pool"},
                "ClientName": "web",
                "GenerateSecret": "false",
                "CallbackURLs": ["https://app.example.com/cb/"],
                "AllowedOAuthFlows": ["code"],
            },
        },
        "Admins": {
            "Type": "AWS::Cognito::UserPoolGroup",
            "Properties": {"UserPoolId": {"Ref": "Pool"}, "GroupName": "admins"},
        },
        "Domain": {
            "Type": "AWS::Cognito::UserPoolDomain",
            "Properties": {"UserPoolId": {"Ref": "Pool"}, "Domain": "rehearsal-login"},
        },
        "Branding": {
            "Type": "AWS::Cognito::ManagedLoginBranding",
            "DependsOn": "Domain",
            "Properties": {"UserPoolId": {"Ref": "Pool"}, "ClientId": {"Ref": "Client"}},
        },
    }
    _, outputs = deploy(
        account,
        outputs_of(
            resources,
            PoolId={"Ref": "Pool"},
            Provider={"Fn::GetAtt": ["Pool", "ProviderURL"]},
            ClientId={"Ref": "Client"},
            Group={"Ref": "Admins"},
            Cdn={"Fn::GetAtt": ["Domain", "CloudFrontDistribution"]},
            Branding={"Fn::GetAtt": ["Branding", "ManagedLoginBrandingId"]},
        ),
    )
    cognito = client(account, "cognito-idp")
    pool = cognito.describe_user_pool(UserPoolId=outputs["PoolId"])["UserPool"]
    assert pool["Name"] == "rehearsal-users"
    assert outputs["Provider"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool['Id']}"
    mfa = cognito.get_user_pool_mfa_config(UserPoolId=pool["Id"])
    assert mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    app = cognito.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=outputs["ClientId"])
    assert app["UserPoolClient"]["CallbackURLs"] == ["https://app.example.com/cb/"]
    assert "ClientSecret" not in app["UserPoolClient"]  # "false" is false
    assert cognito.get_group(UserPoolId=pool["Id"], GroupName=outputs["Group"])
    domain = cognito.describe_user_pool_domain(Domain="rehearsal-login")["DomainDescription"]
    assert (domain["UserPoolId"], domain["CloudFrontDistribution"]) == (pool["Id"], outputs["Cdn"])
    assert uuid.UUID(outputs["Branding"])


def test_cloudfront_distribution_origin_access_control_and_bucket_policy(account):
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Control": {
            "Type": "AWS::CloudFront::OriginAccessControl",
            "Properties": {
                "OriginAccessControlConfig": {
                    "Name": "static",
                    "OriginAccessControlOriginType": "s3",
                    "SigningBehavior": "always",
                    "SigningProtocol": "sigv4",
                }
            },
        },
        "Cdn": {
            "Type": "AWS::CloudFront::Distribution",
            "Properties": {
                "DistributionConfig": {
                    "Enabled": True,
                    "Aliases": ["app.example.com"],
                    "ViewerCertificate": {
                        "AcmCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/a",
                        "SslSupportMethod": "sni-only",
                    },
                    "Origins": [
                        {
                            "Id": "app",
                            "DomainName": "origin.example.com",
                            "CustomOriginConfig": {
                                "OriginProtocolPolicy": "https-only",
                                "OriginSSLProtocols": ["TLSv1.2"],
                            },
                            "OriginCustomHeaders": [{"HeaderName": "X-H", "HeaderValue": "v"}],
                        },
                        {
                            "Id": "static",
                            "DomainName": {"Fn::GetAtt": ["Bucket", "RegionalDomainName"]},
                            "OriginAccessControlId": {"Fn::GetAtt": ["Control", "Id"]},
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        },
                    ],
                    "CacheBehaviors": [
                        {
                            "PathPattern": "/static/*",
                            "TargetOriginId": "static",
                            "ViewerProtocolPolicy": "redirect-to-https",
                        }
                    ],
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "app",
                        "ViewerProtocolPolicy": "redirect-to-https",
                        "AllowedMethods": [
                            "GET",
                            "HEAD",
                            "OPTIONS",
                            "PUT",
                            "POST",
                            "PATCH",
                            "DELETE",
                        ],
                    },
                }
            },
        },
        "Policy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": {"Ref": "Bucket"},
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "s3:GetObject",
                            "Resource": {"Fn::Sub": "${Bucket.Arn}/static/*"},
                            "Condition": {
                                "StringEquals": {
                                    "AWS:SourceArn": {
                                        "Fn::Sub": "arn:aws:cloudfront::${AWS::AccountId}"
                                        ":distribution/${Cdn}"
                                    }
                                }
                            },
                        }
                    ],
                },
            },
        },
    }
    _, outputs = deploy(
        account,
        outputs_of(
            resources,
            Id={"Ref": "Cdn"},
            Domain={"Fn::GetAtt": ["Cdn", "DomainName"]},
            Control={"Ref": "Control"},
            Bucket={"Ref": "Bucket"},
        ),
    )
    cloudfront = client(account, "cloudfront")
    distribution = cloudfront.get_distribution(Id=outputs["Id"])["Distribution"]
    assert distribution["DomainName"] == outputs["Domain"]
    config = distribution["DistributionConfig"]
    assert config["Aliases"]["Items"] == ["app.example.com"]
    origins = {origin["Id"]: origin for origin in config["Origins"]["Items"]}
    assert origins["app"]["CustomHeaders"]["Items"] == [{"HeaderName": "X-H", "HeaderValue": "v"}]
    assert origins["static"]["OriginAccessControlId"] == outputs["Control"]
    assert config["ViewerCertificate"]["ACMCertificateArn"].endswith("certificate/a")
    control = cloudfront.get_origin_access_control(Id=outputs["Control"])
    assert control["OriginAccessControl"]["OriginAccessControlConfig"]["Name"] == "static"
    policy = json.loads(
        client(account, "s3").get_bucket_policy(Bucket=outputs["Bucket"])["Policy"]
    )
    condition = policy["Statement"][0]["Condition"]["StringEquals"]["AWS:SourceArn"]
    assert condition.endswith(f"distribution/{outputs['Id']}")


def alarm_template(threshold):
    resources = {
        "Topic": {"Type": "AWS::SNS::Topic"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "ToQueue": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "Topic"},
                "Protocol": "sqs",
                "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
                "RawMessageDelivery": "true",
            },
        },
        "Errors": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": {"Fn::Sub": "${AWS::StackName}-errors"},
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": "amphibian-prod"}],
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 5,
                "Threshold": threshold,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": [{"Ref": "Topic"}],
            },
        },
    }
    return outputs_of(
        resources,
        Alarm={"Ref": "Errors"},
        AlarmArn={"Fn::GetAtt": ["Errors", "Arn"]},
        Subscription={"Ref": "ToQueue"},
        Topic={"Ref": "Topic"},
    )


def test_alarm_and_subscription_update_in_place_and_go_with_the_stack(account):
    name, outputs = deploy(account, alarm_template(threshold=1))
    cloudwatch = client(account, "cloudwatch")
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[outputs["Alarm"]])["MetricAlarms"]
    assert alarm["AlarmArn"] == outputs["AlarmArn"]
    assert alarm["Threshold"] == 1.0
    assert alarm["AlarmActions"] == [outputs["Topic"]]
    subscriptions = client(account, "sns").list_subscriptions_by_topic(TopicArn=outputs["Topic"])
    assert [s["SubscriptionArn"] for s in subscriptions["Subscriptions"]] == [
        outputs["Subscription"]
    ]
    attributes = client(account, "sns").get_subscription_attributes(
        SubscriptionArn=outputs["Subscription"]
    )["Attributes"]
    assert attributes["RawMessageDelivery"] == "true"

    deploy(account, alarm_template(threshold=3), name=name, update=True)
    [alarm] = cloudwatch.describe_alarms(AlarmNames=[outputs["Alarm"]])["MetricAlarms"]
    assert alarm["Threshold"] == 3.0

    client(account, "cloudformation").delete_stack(StackName=name)
    assert cloudwatch.describe_alarms(AlarmNames=[outputs["Alarm"]])["MetricAlarms"] == []


def test_application_auto_scaling_target_and_policy(account):
    target_id = "table/counters"
    resources = {
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "TableName": "counters",
                "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
                "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2},
            },
        },
        "Target": {
            "DependsOn": "Table",
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "ServiceNamespace": "dynamodb",
                "ResourceId": target_id,
                "ScalableDimension": "dynamodb:table:ReadCapacityUnits",
                "MinCapacity": 2,
                "MaxCapacity": 6,
                "RoleARN": "arn:aws:iam::123456789012:role/scaling",
            },
        },
        "Cpu": {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Properties": {
                "PolicyName": "cpu",
                "PolicyType": "TargetTrackingScaling",
                "ScalingTargetId": {"Ref": "Target"},
                "TargetTrackingScalingPolicyConfiguration": {
                    "TargetValue": 60.0,
                    "PredefinedMetricSpecification": {
                        "PredefinedMetricType": "DynamoDBReadCapacityUtilization"
                    },
                },
            },
        },
    }
    _, outputs = deploy(
        account, outputs_of(resources, Target={"Ref": "Target"}, Policy={"Ref": "Cpu"})
    )
    assert outputs["Target"] == f"{target_id}|dynamodb:table:ReadCapacityUnits|dynamodb"
    scaling = client(account, "application-autoscaling")
    [target] = scaling.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        target_id,
        2,
        6,
    )
    [policy] = scaling.describe_scaling_policies(ServiceNamespace="dynamodb")["ScalingPolicies"]
    assert policy["PolicyARN"] == outputs["Policy"]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 60.0


def test_web_acl_association_email_identity_queue_policy_and_egress(account):
    alb = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/1"
    resources = {
        "Acl": {
            "Type": "AWS::WAFv2::WebACL",
            "Properties": {
                "Name": "web",
                "Scope": "REGIONAL",
                "DefaultAction": {"Allow": {}},
                "VisibilityConfig": {
                    "SampledRequestsEnabled": True,
                    "CloudWatchMetricsEnabled": True,
                    "MetricName": "web",
                },
                "Rules": [
                    {
                        "Name": "rate",
                        "Priority": 0,
                        "Action": {"Block": {}},
                        "Statement": {
                            "RateBasedStatement": {"Limit": 2000, "AggregateKeyType": "IP"}
                        },
                        "VisibilityConfig": {
                            "SampledRequestsEnabled": True,
                            "CloudWatchMetricsEnabled": True,
                            "MetricName": "rate",
                        },
                    }
                ],
            },
        },
        "OnAlb": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Properties": {"WebACLArn": {"Fn::GetAtt": ["Acl", "Arn"]}, "ResourceArn": alb},
        },
        "Mail": {
            "Type": "AWS::SES::EmailIdentity",
            "Properties": {"EmailIdentity": "mail.example.com"},
        },
        "Queue": {"Type": "AWS::SQS::Queue"},
        "QueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {
                "Queues": [{"Ref": "Queue"}],
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "sns.amazonaws.com"},
                            "Action": "sqs:SendMessage",
                            "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
                        }
                    ],
                },
            },
        },
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.9.0.0/16"}},
        "Group": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "g", "VpcId": {"Ref": "Vpc"}},
        },
        "ToHttps": {
            "Type": "AWS::EC2::SecurityGroupEgress",
            "Properties": {
                "GroupId": {"Fn::GetAtt": ["Group", "GroupId"]},
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "CidrIp": "10.9.0.0/16",
            },
        },
    }
    _, outputs = deploy(
        account,
        outputs_of(
            resources,
            AclId={"Fn::GetAtt": ["Acl", "Id"]},
            AclArn={"Fn::GetAtt": ["Acl", "Arn"]},
            Dkim={"Fn::GetAtt": ["Mail", "DkimDNSTokenName1"]},
            Queue={"Ref": "Queue"},
            Group={"Fn::GetAtt": ["Group", "GroupId"]},
            Rule={"Ref": "ToHttps"},
        ),
    )
    wafv2 = client(account, "wafv2")
    acl = wafv2.get_web_acl(Name="web", Scope="REGIONAL", Id=outputs["AclId"])["WebACL"]
    assert [rule["Name"] for rule in acl["Rules"]] == ["rate"]
    assert wafv2.get_web_acl_for_resource(ResourceArn=alb)["WebACL"]["ARN"] == outputs["AclArn"]
    identity = client(account, "sesv2").get_email_identity(EmailIdentity="mail.example.com")
    assert identity["IdentityType"] == "DOMAIN"
    assert outputs["Dkim"].endswith("._domainkey.mail.example.com")
    policy = client(account, "sqs").get_queue_attributes(
        QueueUrl=outputs["Queue"], AttributeNames=["Policy"]
    )["Attributes"]["Policy"]
    assert json.loads(policy)["Statement"][0]["Action"] == "sqs:SendMessage"
    rules = client(account, "ec2").describe_security_group_rules(
        Filters=[{"Name": "group-id", "Values": [outputs["Group"]]}]
    )["SecurityGroupRules"]
    egress = {(r["FromPort"], r.get("CidrIpv4")) for r in rules if r["IsEgress"]}
    assert (443, "10.9.0.0/16") in egress
    assert outputs["Rule"] in {r["SecurityGroupRuleId"] for r in rules}


def test_database_gets_its_managed_secret_and_a_proxy(account):
    subnets = {
        f"Subnet{n}": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"VpcId": {"Ref": "Vpc"}, "CidrBlock": f"10.8.{n}.0/24"},
        }
        for n in (1, 2)
    }
    resources = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.8.0.0/16"}},
        **subnets,
        "Database": {
            "Type": "AWS::RDS::DBInstance",
            "DeletionPolicy": "Delete",
            "Properties": {
                "Engine": "postgres",
                "DBInstanceClass": "db.t4g.micro",
                "DBName": "amphibian",
                "MasterUsername": "amphibian",
                "ManageMasterUserPassword": True,
                "AllocatedStorage": "20",
            },
        },
        "Proxy": {
            "Type": "AWS::RDS::DBProxy",
            "Properties": {
                "DBProxyName": {"Fn::Sub": "${AWS::StackName}-proxy"},
                "EngineFamily": "POSTGRESQL",
                "RoleArn": "arn:aws:iam::123456789012:role/proxy",
                "Auth": [
                    {
                        "AuthScheme": "SECRETS",
                        "SecretArn": {"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]},
                    }
                ],
                "VpcSubnetIds": [{"Ref": name} for name in subnets],
            },
        },
        "Targets": {
            "Type": "AWS::RDS::DBProxyTargetGroup",
            "Properties": {
                "DBProxyName": {"Ref": "Proxy"},
                "TargetGroupName": "default",
                "DBInstanceIdentifiers": [{"Ref": "Database"}],
            },
        },
    }
    _, outputs = deploy(
        account,
        outputs_of(
            resources,
            Instance={"Ref": "Database"},
            Address={"Fn::GetAtt": ["Database", "Endpoint.Address"]},
            Port={"Fn::GetAtt": ["Database", "Endpoint.Port"]},
            Secret={"Fn::GetAtt": ["Database", "MasterUserSecret.SecretArn"]},
            Proxy={"Ref": "Proxy"},
            ProxyEndpoint={"Fn::GetAtt": ["Proxy", "Endpoint"]},
            TargetGroup={"Fn::GetAtt": ["Targets", "TargetGroupArn"]},
        ),
    )
    rds = client(account, "rds")
    [instance] = rds.describe_db_instances(DBInstanceIdentifier=outputs["Instance"])["DBInstances"]
    assert instance["MasterUserSecret"]["SecretArn"] == outputs["Secret"]
    assert (instance["Endpoint"]["Address"], outputs["Port"]) == (outputs["Address"], "5432")
    secret = client(account, "secretsmanager").get_secret_value(SecretId=outputs["Secret"])
    assert secret["Name"].startswith("rds!db-")
    credentials = json.loads(secret["SecretString"])
    assert credentials["username"].startswith("amphibian")
    assert len(credentials["password"]) == 32
    [proxy] = rds.describe_db_proxies(DBProxyName=outputs["Proxy"])["DBProxies"]
    assert proxy["Endpoint"] == outputs["ProxyEndpoint"]
    assert proxy["Auth"][0]["SecretArn"] == outputs["Secret"]
    [target] = rds.describe_db_proxy_targets(DBProxyName=outputs["Proxy"])["Targets"]
    assert target["RdsResourceId"] == outputs["Instance"]
    [group] = rds.describe_db_proxy_target_groups(DBProxyName=outputs["Proxy"])["TargetGroups"]
    assert group["TargetGroupArn"] == outputs["TargetGroup"]


def test_http_api_routes_to_its_integration(account):
    function = "arn:aws:lambda:us-east-1:123456789012:function:amphibian-dev"
    resources = {
        "ApiV2": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {"Name": "amphibian-dev", "ProtocolType": "HTTP"},
        },
        "IntegrationV2": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": "ApiV2"},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": function,
                "PayloadFormatVersion": "2.0",
            },
        },
        "RouteV2": {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": {"Ref": "ApiV2"},
                "RouteKey": "$default",
                "AuthorizationType": "NONE",
                "Target": {"Fn::Join": ["", ["integrations/", {"Ref": "IntegrationV2"}]]},
            },
        },
        "StageV2": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {"ApiId": {"Ref": "ApiV2"}, "StageName": "$default", "AutoDeploy": True},
        },
    }
    name, outputs = deploy(
        account,
        outputs_of(
            resources,
            Api={"Ref": "ApiV2"},
            Endpoint={"Fn::GetAtt": ["ApiV2", "ApiEndpoint"]},
            Integration={"Ref": "IntegrationV2"},
            Stage={"Ref": "StageV2"},
        ),
    )
    apigateway = client(account, "apigatewayv2")
    api = apigateway.get_api(ApiId=outputs["Api"])
    assert (api["Name"], api["ProtocolType"], api["ApiEndpoint"]) == (
        "amphibian-dev",
        "HTTP",
        outputs["Endpoint"],
    )
    [integration] = apigateway.get_integrations(ApiId=outputs["Api"])["Items"]
    assert integration["IntegrationUri"] == function
    [route] = apigateway.get_routes(ApiId=outputs["Api"])["Items"]
    assert route["Target"] == f"integrations/{outputs['Integration']}"
    [stage] = apigateway.get_stages(ApiId=outputs["Api"])["Items"]
    assert (stage["StageName"], stage["AutoDeploy"]) == (outputs["Stage"], True)
    assert outputs["Stage"] == "$default"

    # The API goes with its stack, whatever order moto deletes its children in.
    client(account, "cloudformation").delete_stack(StackName=name)
    assert [a for a in apigateway.get_apis()["Items"] if a["ApiId"] == outputs["Api"]] == []


def prod_parameters():
    """deploy/aws/parameters/prod.json's values (either file shape), or the defaults here."""
    if not PROD_PARAMETERS.exists():
        return dict(DEFAULT_PARAMETERS)
    data = json.loads(PROD_PARAMETERS.read_text())
    if isinstance(data, dict) and "Parameters" in data:
        data = data["Parameters"]
    if isinstance(data, list):
        return {item["ParameterKey"]: item["ParameterValue"] for item in data}
    return {key: ",".join(v) if isinstance(v, list) else str(v) for key, v in data.items()}


def conditions(template, parameters):
    """The template's conditions for ``parameters`` (what moto evaluated for the stack)."""
    values = {name: p.get("Default", "") for name, p in template["Parameters"].items()}
    values.update(parameters)

    def value(node):
        if isinstance(node, dict) and "Ref" in node:
            return values[node["Ref"]]
        if isinstance(node, dict) and "Fn::Join" in node:
            separator, items = node["Fn::Join"]
            return separator.join(str(item) for item in value(items))
        return node

    def holds(node):
        [(function, arguments)] = node.items()
        if function == "Condition":
            return holds(template["Conditions"][arguments])
        if function == "Fn::Equals":
            return str(value(arguments[0])) == str(value(arguments[1]))
        results = [holds(argument) for argument in arguments]
        return {"Fn::Not": lambda: not results[0], "Fn::And": lambda: all(results)}.get(
            function, lambda: any(results)
        )()

    return {name: holds(node) for name, node in template["Conditions"].items()}


def test_the_whole_template_deploys_and_updates(account):
    template = load_template()
    parameters = {**prod_parameters(), "EnableEcs": "true"}
    parameters["AlbCertificateArn"] = imported_certificate(
        client(account, "acm"), parameters["AppOriginDomain"]
    )
    parameters = {key: value for key, value in parameters.items() if key in template["Parameters"]}
    name, outputs = deploy(account, template, parameters, name="amphibian-prod")
    holds = conditions(template, parameters)
    expected = {
        key
        for key, output in template["Outputs"].items()
        if "Condition" not in output or holds[output["Condition"]]
    }
    assert expected - set(outputs) == set()
    assert all(outputs[key] not in ("", "None") for key in expected), outputs

    # An update in place (an alarm, the web ACL), then the image's first deploy: the update
    # that creates the ECS service, as `make deploy` does once the image is pushed.
    changed = {**parameters, "DatabaseConnectionsThreshold": "90", "RateLimitPer5Min": "1500"}
    deploy(account, template, changed, name=name, update=True)
    alarms = client(account, "cloudwatch").describe_alarms(AlarmNamePrefix=name)["MetricAlarms"]
    thresholds = {alarm.get("MetricName"): alarm["Threshold"] for alarm in alarms}
    assert thresholds["DatabaseConnections"] == 90.0
    wafv2 = client(account, "wafv2")
    [acl] = [
        a
        for a in wafv2.list_web_acls(Scope="REGIONAL")["WebACLs"]
        if a["ARN"] == outputs["WebAclArn"]
    ]
    rules = wafv2.get_web_acl(Name=acl["Name"], Scope="REGIONAL", Id=acl["Id"])["WebACL"]["Rules"]
    statements = [rule["Statement"] for rule in rules]
    limits = [s["RateBasedStatement"]["Limit"] for s in statements if "RateBasedStatement" in s]
    assert limits == [1500]

    image = {**changed, "ContainerImage": f"{outputs['RepositoryUri']}:1"}
    _, outputs = deploy(account, template, image, name=name, update=True)
    services = client(account, "ecs").describe_services(
        cluster=outputs["EcsClusterName"], services=[outputs["EcsServiceName"]]
    )["services"]
    assert [service["desiredCount"] for service in services] == [int(image.get("DesiredCount", 2))]

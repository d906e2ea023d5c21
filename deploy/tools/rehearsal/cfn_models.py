"""CloudFormation resource types moto 5.2.5's CloudFormation lacks, for the emulated account.

moto skips a type it has no model for ("not supported by moto's CloudFormation
implementation"), so the resource never exists and ``Fn::GetAtt`` on it fails the stack. Each
model here creates the real resource in moto's own backend for its service, so that
service's API answers for it afterwards (``describe_alarms``, ``wafv2 get_web_acl``...),
and answers ``Ref`` and the ``Fn::GetAtt`` attributes AWS documents for the type.

How moto finds them (moto/cloudformation/parsing.py): ``get_model_map()`` is
``{m.cloudformation_type(): m for m in CloudFormationModel.__subclasses__()}``, so a model
must be a *direct* subclass, defined before the first stack is parsed (the map is
``lru_cache``d: ``install()`` clears it), and a later class for the same type replaces
moto's (``DBInstance`` below). moto's metaclass files every model under
``cls.__module__.split(".")[1]`` for its ``/moto-api/data.json`` listing, which only needs a
dotted module name (a model defined in an undotted module fails there); these are filed
under ``tools``. Updates: moto calls ``update_from_cloudformation_json`` for a changed
resource and stores whatever it returns, so every model here implements it (in place where
the API can, else delete and re-create, as CloudFormation replaces); deletes go through
``delete(account_id, region_name)``.
"""

import hashlib
import ipaddress
import itertools
import json
import logging
import secrets
import string
import uuid
from contextlib import contextmanager
from functools import cache
from typing import Any, ClassVar

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException, ValidationError
from moto.core.common_models import CloudFormationModel
from moto.core.exceptions import ServiceException, _RESTError

from deploy.tools.rehearsal import sibling

logger = logging.getLogger(__name__)


def _flag(value, default=False):
    """CloudFormation passes booleans from String parameters as "true"/"false"."""
    if value is None:
        return default
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def _backend(service, account_id, region_name):
    from moto.backends import get_backend

    return get_backend(service)[account_id][region_name]


def _suffix(*parts, length=13):
    """A stable id suffix: the same inputs name the same resource."""
    return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:length]


@contextmanager
def _failure_reported(resource_type, name):
    """A model's unexpected failure as CloudFormation reports one (a 400 naming the
    resource), not a 500 from the emulator; the services' own errors pass as they are."""
    try:
        yield
    except (ServiceException, _RESTError):
        raise
    except Exception as exc:
        logger.exception("%s %s failed", resource_type, name)
        raise ValidationError(
            message=f"Resource handler for {resource_type} {name} failed: {exc!r}"
        ) from exc


def _is_not_found(exc):
    names = (
        type(exc).__name__,
        str(getattr(exc, "code", "")),
        str(getattr(exc, "error_type", "")),
    )
    return any("NotFound" in name or "NoSuch" in name for name in names)


class _Resource:
    """What the models share: properties in, a physical id and attributes out.

    A subclass names its type, the properties whose change replaces the resource
    (``"*"``: every change does), its ``Fn::GetAtt`` attributes, and implements ``create``
    (set ``physical_resource_id`` and ``attributes``) and ``remove``; ``modify`` updates in
    place where the service's API can.
    """

    cfn_type: ClassVar[str]
    name_property: ClassVar[str] = ""
    attribute_names: ClassVar[tuple[str, ...]] = ()
    replacing: ClassVar[frozenset[str] | str] = "*"

    def __init__(self, name, properties, account_id, region_name):
        self.name = name
        self.properties = properties
        self.account_id = account_id
        self.region_name = region_name
        self.physical_resource_id = ""
        self.attributes: dict[str, Any] = {}

    def backend(self, service, region=None):
        return _backend(service, self.account_id, region or self.region_name)

    # moto's model protocol ---------------------------------------------------------------
    @classmethod
    def cloudformation_type(cls):
        return cls.cfn_type

    @classmethod
    def cloudformation_name_type(cls):
        return cls.name_property

    @classmethod
    def has_cfn_attr(cls, attr):
        return attr in cls.attribute_names

    def get_cfn_attribute(self, attribute_name):
        if attribute_name not in self.attributes:
            raise UnformattedGetAttTemplateException()
        return self.attributes[attribute_name]

    def is_created(self):
        return True

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        resource = cls(
            resource_name, cloudformation_json.get("Properties") or {}, account_id, region_name
        )
        with _failure_reported(cls.cfn_type, resource_name):
            resource.create()
        return resource

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        properties = cloudformation_json.get("Properties") or {}
        changed = {
            key
            for key in {*properties, *original_resource.properties}
            if properties.get(key) != original_resource.properties.get(key)
        }
        if not changed:
            return original_resource
        if cls.replacing == "*" or changed & set(cls.replacing):
            with _failure_reported(cls.cfn_type, original_resource.physical_resource_id):
                original_resource.remove()
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name
            )
        original_resource.properties = properties
        with _failure_reported(cls.cfn_type, original_resource.physical_resource_id):
            original_resource.modify()
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name
    ):
        """Only reached for a resource moto never built (``delete`` handles the rest)."""

    def delete(self, account_id, region_name):
        # moto deletes a stack's resources in no order: the parent (an API, a user pool, a
        # bucket) may be gone already, and took this resource with it.
        try:
            self.remove()
        except (ServiceException, _RESTError) as exc:
            if not _is_not_found(exc):
                raise

    # What each type implements -------------------------------------------------------------
    def create(self):
        raise NotImplementedError

    def modify(self):
        self.remove()
        self.create()

    def remove(self):
        raise NotImplementedError


# --- Cognito ---------------------------------------------------------------------------------
_USER_POOL_CFN_ONLY = ("UserPoolName", "EnabledMfas", "UserPoolTags")


class UserPool(_Resource, CloudFormationModel):
    cfn_type = "AWS::Cognito::UserPool"
    name_property = "UserPoolName"
    attribute_names = ("Arn", "ProviderName", "ProviderURL", "UserPoolId")
    replacing = frozenset({"UserPoolName", "UsernameAttributes", "AliasAttributes", "Schema"})

    def _config(self):
        config = {k: v for k, v in self.properties.items() if k not in _USER_POOL_CFN_ONLY}
        if "UserPoolTags" in self.properties:
            config["UserPoolTags"] = self.properties["UserPoolTags"]
        return config

    def create(self):
        pool = self.backend("cognito-idp").create_user_pool(self.name, self._config())
        self._set_mfa(pool.id)
        provider = f"cognito-idp.{self.region_name}.amazonaws.com/{pool.id}"
        self.physical_resource_id = pool.id
        self.attributes = {
            "Arn": pool.arn,
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": pool.id,
        }

    def _set_mfa(self, pool_id):
        enabled = self.properties.get("EnabledMfas") or []
        if "SOFTWARE_TOKEN_MFA" in enabled:
            self.backend("cognito-idp").set_user_pool_mfa_config(
                pool_id,
                sms_config={},
                token_config={"Enabled": True},
                mfa_config=self.properties.get("MfaConfiguration", "OFF"),
            )

    def modify(self):
        self.backend("cognito-idp").update_user_pool(self.physical_resource_id, self._config())
        self._set_mfa(self.physical_resource_id)

    def remove(self):
        self.backend("cognito-idp").delete_user_pool(self.physical_resource_id)


class UserPoolClient(_Resource, CloudFormationModel):
    cfn_type = "AWS::Cognito::UserPoolClient"
    attribute_names = ("ClientId", "ClientSecret", "Name")
    replacing = frozenset({"UserPoolId", "GenerateSecret"})

    def _config(self):
        config = {k: v for k, v in self.properties.items() if k not in ("UserPoolId",)}
        for key in ("GenerateSecret", "AllowedOAuthFlowsUserPoolClient", "EnableTokenRevocation"):
            if key in config:
                config[key] = _flag(config[key])
        config.setdefault("ClientName", self.name)
        return config

    def create(self):
        client = self.backend("cognito-idp").create_user_pool_client(
            self.properties["UserPoolId"],
            _flag(self.properties.get("GenerateSecret")),
            self._config(),
        )
        self.physical_resource_id = client.id
        self.attributes = {
            "ClientId": client.id,
            "ClientSecret": client.secret if client.generate_secret else None,
            "Name": client.extended_config.get("ClientName"),
        }

    def modify(self):
        self.backend("cognito-idp").update_user_pool_client(
            self.properties["UserPoolId"], self.physical_resource_id, self._config()
        )

    def remove(self):
        self.backend("cognito-idp").delete_user_pool_client(
            self.properties["UserPoolId"], self.physical_resource_id
        )


class UserPoolGroup(_Resource, CloudFormationModel):
    cfn_type = "AWS::Cognito::UserPoolGroup"
    replacing = frozenset({"UserPoolId", "GroupName"})

    def _arguments(self):
        return (
            self.properties["UserPoolId"],
            self.properties.get("GroupName") or self.name,
            self.properties.get("Description"),
            self.properties.get("RoleArn"),
            self.properties.get("Precedence"),
        )

    def create(self):
        group = self.backend("cognito-idp").create_group(*self._arguments())
        self.physical_resource_id = group.group_name

    def modify(self):
        self.backend("cognito-idp").update_group(*self._arguments())

    def remove(self):
        self.backend("cognito-idp").delete_group(
            self.properties["UserPoolId"], self.physical_resource_id
        )


class UserPoolDomain(_Resource, CloudFormationModel):
    cfn_type = "AWS::Cognito::UserPoolDomain"
    attribute_names = ("CloudFrontDistribution", "ManagedLoginVersion")
    replacing = frozenset({"UserPoolId", "Domain"})

    def create(self):
        domain = self.backend("cognito-idp").create_user_pool_domain(
            self.properties["UserPoolId"],
            self.properties["Domain"],
            self.properties.get("CustomDomainConfig"),
        )
        self.physical_resource_id = domain.domain
        self.attributes = {
            "CloudFrontDistribution": domain._distribution_name(),
            "ManagedLoginVersion": self.properties.get("ManagedLoginVersion", 1),
        }

    def modify(self):
        self.attributes["ManagedLoginVersion"] = self.properties.get("ManagedLoginVersion", 1)
        if "CustomDomainConfig" in self.properties:
            self.backend("cognito-idp").update_user_pool_domain(
                self.physical_resource_id, self.properties["CustomDomainConfig"]
            )

    def remove(self):
        self.backend("cognito-idp").delete_user_pool_domain(self.physical_resource_id)


class ManagedLoginBranding(_Resource, CloudFormationModel):
    """Recorded only: moto 5.2.5 has no managed-login branding API to create it in."""

    cfn_type = "AWS::Cognito::ManagedLoginBranding"
    attribute_names = ("ManagedLoginBrandingId",)
    replacing = frozenset({"UserPoolId", "ClientId"})

    def create(self):
        self.backend("cognito-idp").describe_user_pool(self.properties["UserPoolId"])
        self.physical_resource_id = str(uuid.uuid4())
        self.attributes = {"ManagedLoginBrandingId": self.physical_resource_id}

    def modify(self):
        """Nothing kept outside this record to change."""

    def remove(self):
        """Nothing was created outside this record."""


# --- CloudFront ------------------------------------------------------------------------------
# CloudFormation's names for a few API members (the rest match but for case).
_CLOUDFRONT_RENAMES = {"CustomHeaders": "OriginCustomHeaders"}


@cache
def _cloudfront_shape(name):
    import botocore.session

    return botocore.session.get_session().get_service_model("cloudfront").shape_for(name)


def api_shape(value, shape, renames=_CLOUDFRONT_RENAMES):
    """CloudFormation's form of a value -> the API's, guided by botocore's model of it.

    CloudFront's API wraps every list as ``{"Quantity": n, "Items": [...]}`` and spells some
    members differently (``ACMCertificateArn``, ``OriginSslProtocols``); CloudFormation
    writes the bare list and ``AcmCertificateArn``. moto's backend takes the API's form.
    """
    if value is None:
        return None
    if shape.type_name == "structure":
        members = shape.members
        if "Items" in members and "Quantity" in members and isinstance(value, list):
            items = [api_shape(v, members["Items"].member, renames) for v in value]
            return {"Quantity": len(items), "Items": items}
        by_lower = {key.lower(): key for key in value}
        result = {}
        for member, member_shape in members.items():
            key = renames.get(member) or by_lower.get(member.lower())
            if key in value:
                result[member] = api_shape(value[key], member_shape, renames)
        return result
    if shape.type_name == "list":
        return [api_shape(v, shape.member, renames) for v in value]
    if shape.type_name == "boolean":
        return _flag(value)
    if shape.type_name in ("integer", "long"):
        return int(value)
    return value


class Distribution(_Resource, CloudFormationModel):
    cfn_type = "AWS::CloudFront::Distribution"
    attribute_names = ("DomainName", "Id")
    replacing = frozenset()

    def _config(self, caller_reference):
        config = api_shape(
            self.properties["DistributionConfig"], _cloudfront_shape("DistributionConfig")
        )
        config["CallerReference"] = caller_reference
        config.setdefault("Comment", "")
        return config

    def create(self):
        self.caller_reference = str(uuid.uuid4())
        distribution, _location, _etag = self.backend("cloudfront", "aws").create_distribution(
            self._config(self.caller_reference), tags=self.properties.get("Tags") or []
        )
        self._keep_access_controls(distribution)
        self.physical_resource_id = distribution.distribution_id
        self.attributes = {"DomainName": distribution.domain_name, "Id": self.physical_resource_id}

    def _keep_access_controls(self, distribution):
        # moto's Origin drops OriginAccessControlId; its serializer reads the attribute.
        controls = {
            origin["Id"]: origin.get("OriginAccessControlId", "")
            for origin in self.properties["DistributionConfig"]["Origins"]
        }
        for origin in distribution.distribution_config.Origins["Items"]:
            origin.origin_access_control_id = controls.get(origin.id, "")

    def modify(self):
        distribution, _location, _etag = self.backend("cloudfront", "aws").update_distribution(
            self._config(self.caller_reference), self.physical_resource_id, if_match=True
        )
        self._keep_access_controls(distribution)

    def remove(self):
        self.backend("cloudfront", "aws").delete_distribution(
            self.physical_resource_id, if_match=True
        )


class OriginAccessControl(_Resource, CloudFormationModel):
    cfn_type = "AWS::CloudFront::OriginAccessControl"
    attribute_names = ("Id",)
    replacing = frozenset()

    def create(self):
        control = self.backend("cloudfront", "aws").create_origin_access_control(
            self.properties["OriginAccessControlConfig"]
        )
        self.physical_resource_id = control.id
        self.attributes = {"Id": control.id}

    def modify(self):
        self.backend("cloudfront", "aws").update_origin_access_control(
            self.physical_resource_id, self.properties["OriginAccessControlConfig"]
        )

    def remove(self):
        self.backend("cloudfront", "aws").delete_origin_access_control(self.physical_resource_id)


# --- S3, SQS, SNS, EC2 policies and rules ----------------------------------------------------
def _document(policy):
    return policy if isinstance(policy, str) else json.dumps(policy)


class BucketPolicy(_Resource, CloudFormationModel):
    cfn_type = "AWS::S3::BucketPolicy"
    replacing = frozenset({"Bucket"})

    def create(self):
        self.backend("s3", "aws").put_bucket_policy(
            self.properties["Bucket"], _document(self.properties["PolicyDocument"]).encode()
        )
        self.physical_resource_id = self.properties["Bucket"]

    def modify(self):
        self.create()

    def remove(self):
        self.backend("s3", "aws").delete_bucket_policy(self.physical_resource_id)


class QueuePolicy(_Resource, CloudFormationModel):
    cfn_type = "AWS::SQS::QueuePolicy"
    replacing = frozenset()

    def _queues(self):
        return [url.rstrip("/").rsplit("/", 1)[-1] for url in self.properties["Queues"]]

    def create(self):
        policy = _document(self.properties["PolicyDocument"])
        for queue in self._queues():
            self.backend("sqs").set_queue_attributes(queue, {"Policy": policy})
        self.physical_resource_id = f"{self.name}-{_suffix(*self._queues())}"

    def modify(self):
        self.create()

    def remove(self):
        for queue in self._queues():
            self.backend("sqs").set_queue_attributes(queue, {"Policy": ""})


class Subscription(_Resource, CloudFormationModel):
    cfn_type = "AWS::SNS::Subscription"
    attribute_names = ("Arn",)
    replacing = frozenset({"TopicArn", "Endpoint", "Protocol"})
    _attribute_properties = (
        "DeliveryPolicy",
        "FilterPolicy",
        "FilterPolicyScope",
        "RawMessageDelivery",
        "RedrivePolicy",
    )

    def create(self):
        sns = self.backend("sns")
        subscription = sns.subscribe(
            self.properties["TopicArn"], self.properties["Endpoint"], self.properties["Protocol"]
        )
        self.physical_resource_id = subscription.arn
        self.attributes = {"Arn": subscription.arn}
        self.modify()

    def modify(self):
        sns = self.backend("sns")
        for name in self._attribute_properties:
            if name in self.properties:
                value = self.properties[name]
                sns.set_subscription_attributes(
                    self.physical_resource_id,
                    name,
                    value if isinstance(value, str) else json.dumps(value),
                )

    def remove(self):
        self.backend("sns").unsubscribe(self.physical_resource_id)


class SecurityGroupEgress(_Resource, CloudFormationModel):
    cfn_type = "AWS::EC2::SecurityGroupEgress"
    attribute_names = ("Id",)

    def _rule(self):
        props = self.properties
        ranges = []
        if props.get("CidrIp"):
            ranges.append({"CidrIp": props["CidrIp"], "Description": props.get("Description")})
        if props.get("CidrIpv6"):
            ranges.append({"CidrIpv6": props["CidrIpv6"]})
        groups = (
            [{"GroupId": props["DestinationSecurityGroupId"]}]
            if props.get("DestinationSecurityGroupId")
            else None
        )
        prefixes = (
            [{"PrefixListId": props["DestinationPrefixListId"]}]
            if props.get("DestinationPrefixListId")
            else None
        )
        return {
            "group_name_or_id": props["GroupId"],
            "ip_protocol": str(props["IpProtocol"]),
            "from_port": props.get("FromPort"),
            "to_port": props.get("ToPort"),
            "ip_ranges": ranges,
            "source_groups": groups,
            "prefix_list_ids": prefixes,
        }

    def create(self):
        rules, _group = self.backend("ec2").authorize_security_group_egress(**self._rule())
        self.physical_resource_id = rules[0].id
        self.attributes = {"Id": self.physical_resource_id}

    def remove(self):
        self.backend("ec2").revoke_security_group_egress(**self._rule())


# --- CloudWatch, Application Auto Scaling ----------------------------------------------------
def _metric_data_query(query):
    """One of an alarm's ``Metrics`` as moto's model of it (what its PutMetricAlarm builds)."""
    from moto.cloudwatch.models import Dimension, Metric, MetricDataQuery, MetricStat

    stat = query.get("MetricStat")
    metric_stat = None
    if stat:
        metric = stat["Metric"]
        metric_stat = MetricStat(
            metric=Metric(
                metric_name=metric["MetricName"],
                namespace=metric.get("Namespace"),
                dimensions=[
                    Dimension(name=d["Name"], value=d["Value"])
                    for d in metric.get("Dimensions") or []
                ],
            ),
            period=stat.get("Period"),
            stat=stat.get("Stat"),
            unit=stat.get("Unit"),
        )
    return MetricDataQuery(
        query_id=query["Id"],
        label=query.get("Label", ""),
        period=query.get("Period"),
        return_data=_flag(query.get("ReturnData"), default=True),
        expression=query.get("Expression"),
        metric_stat=metric_stat,
    )


class Alarm(_Resource, CloudFormationModel):
    cfn_type = "AWS::CloudWatch::Alarm"
    name_property = "AlarmName"
    attribute_names = ("Arn",)
    replacing = frozenset({"AlarmName"})

    def create(self):
        props = self.properties
        queries = [_metric_data_query(query) for query in props.get("Metrics") or []]
        threshold = props.get("Threshold")
        alarm = self.backend("cloudwatch").put_metric_alarm(
            name=self.name,
            namespace=props.get("Namespace"),
            metric_name=props.get("MetricName"),
            comparison_operator=props["ComparisonOperator"],
            evaluation_periods=int(props["EvaluationPeriods"]),
            period=int(props["Period"]) if props.get("Period") is not None else None,
            threshold=float(threshold) if threshold is not None else None,
            statistic=props.get("Statistic"),
            description=props.get("AlarmDescription"),
            dimensions=props.get("Dimensions") or [],
            alarm_actions=props.get("AlarmActions") or [],
            metric_data_queries=queries or None,
            datapoints_to_alarm=props.get("DatapointsToAlarm"),
            extended_statistic=props.get("ExtendedStatistic"),
            ok_actions=props.get("OKActions") or [],
            insufficient_data_actions=props.get("InsufficientDataActions") or [],
            unit=props.get("Unit"),
            actions_enabled=_flag(props.get("ActionsEnabled"), default=True),
            treat_missing_data=props.get("TreatMissingData"),
            evaluate_low_sample_count_percentile=props.get("EvaluateLowSampleCountPercentile"),
            threshold_metric_id=props.get("ThresholdMetricId"),
        )
        self.physical_resource_id = alarm.name
        self.attributes = {"Arn": alarm.alarm_arn}

    def modify(self):
        self.create()  # PutMetricAlarm replaces an alarm of the same name in place

    def remove(self):
        self.backend("cloudwatch").delete_alarms([self.physical_resource_id])


class ScalableTarget(_Resource, CloudFormationModel):
    cfn_type = "AWS::ApplicationAutoScaling::ScalableTarget"
    attribute_names = ("Id",)
    replacing = frozenset({"ResourceId", "ScalableDimension", "ServiceNamespace"})

    def _key(self):
        props = self.properties
        return props["ServiceNamespace"], props["ResourceId"], props["ScalableDimension"]

    def create(self):
        props = self.properties
        suspended = props.get("SuspendedState")
        self.backend("application-autoscaling").register_scalable_target(
            *self._key(),
            min_capacity=int(props["MinCapacity"]),
            max_capacity=int(props["MaxCapacity"]),
            role_arn=props.get("RoleARN", ""),
            suspended_state=suspended,
        )
        namespace, resource_id, dimension = self._key()
        # CloudFormation's id for a scalable target: resource|dimension|namespace.
        self.physical_resource_id = f"{resource_id}|{dimension}|{namespace}"
        self.attributes = {"Id": self.physical_resource_id}

    def modify(self):
        self.create()  # registering again updates the capacities

    def remove(self):
        self.backend("application-autoscaling").deregister_scalable_target(*self._key())


class ScalingPolicy(_Resource, CloudFormationModel):
    cfn_type = "AWS::ApplicationAutoScaling::ScalingPolicy"
    attribute_names = ("Arn",)
    replacing = frozenset(
        {"PolicyName", "ScalingTargetId", "ResourceId", "ScalableDimension", "ServiceNamespace"}
    )

    def _key(self):
        props = self.properties
        if props.get("ScalingTargetId"):
            resource_id, dimension, namespace = props["ScalingTargetId"].split("|")
        else:
            resource_id = props["ResourceId"]
            dimension = props["ScalableDimension"]
            namespace = props["ServiceNamespace"]
        return props.get("PolicyName") or self.name, namespace, resource_id, dimension

    def create(self):
        props = self.properties
        policy_type = props["PolicyType"]
        body_key = (
            "TargetTrackingScalingPolicyConfiguration"
            if policy_type == "TargetTrackingScaling"
            else "StepScalingPolicyConfiguration"
        )
        policy = self.backend("application-autoscaling").put_scaling_policy(
            *self._key(), policy_body=props.get(body_key) or {}, policy_type=policy_type
        )
        self.physical_resource_id = policy.policy_arn
        self.attributes = {"Arn": policy.policy_arn}

    def modify(self):
        self.create()  # PutScalingPolicy updates a policy of the same name

    def remove(self):
        self.backend("application-autoscaling").delete_scaling_policy(*self._key())


class AutoScalingPolicy(_Resource, CloudFormationModel):
    """EC2 Auto Scaling's policy (moto models the group, not its policies)."""

    cfn_type = "AWS::AutoScaling::ScalingPolicy"
    attribute_names = ("Arn", "PolicyName")
    replacing = frozenset({"AutoScalingGroupName"})

    def create(self):
        props = self.properties
        self.policy_name = getattr(self, "policy_name", None) or self.name
        policy = self.backend("autoscaling").put_scaling_policy(
            name=self.policy_name,
            policy_type=props.get("PolicyType", "SimpleScaling"),
            metric_aggregation_type=props.get("MetricAggregationType"),
            adjustment_type=props.get("AdjustmentType"),
            as_name=props["AutoScalingGroupName"],
            min_adjustment_magnitude=props.get("MinAdjustmentMagnitude"),
            scaling_adjustment=props.get("ScalingAdjustment"),
            cooldown=props.get("Cooldown"),
            target_tracking_config=props.get("TargetTrackingConfiguration"),
            step_adjustments=props.get("StepAdjustments"),
            estimated_instance_warmup=props.get("EstimatedInstanceWarmup"),
            predictive_scaling_configuration=props.get("PredictiveScalingConfiguration"),
        )
        self.physical_resource_id = policy.arn
        self.attributes = {"Arn": policy.arn, "PolicyName": policy.name}

    def modify(self):
        self.create()  # PutScalingPolicy updates a policy of the same name

    def remove(self):
        self.backend("autoscaling").delete_policy(self.policy_name)


# --- WAFv2, SES ------------------------------------------------------------------------------
def _waf_region(scope, region_name):
    from moto.wafv2.models import GLOBAL_REGION

    return GLOBAL_REGION if scope == "CLOUDFRONT" else region_name


class WebACL(_Resource, CloudFormationModel):
    cfn_type = "AWS::WAFv2::WebACL"
    name_property = "Name"
    attribute_names = ("Arn", "Capacity", "Id", "LabelNamespace")
    replacing = frozenset({"Name", "Scope"})

    def waf(self):
        return self.backend("wafv2", _waf_region(self.properties["Scope"], self.region_name))

    def create(self):
        props = self.properties
        acl = self.waf().create_web_acl(
            name=self.name,
            visibility_config=props["VisibilityConfig"],
            default_action=props["DefaultAction"],
            scope=props["Scope"],
            description=props.get("Description"),
            tags=props.get("Tags") or [],
            rules=props.get("Rules") or [],
            association_config=props.get("AssociationConfig"),
            captcha_config=props.get("CaptchaConfig"),
            challenge_config=props.get("ChallengeConfig"),
            custom_response_bodies=props.get("CustomResponseBodies"),
            token_domains=props.get("TokenDomains"),
        )
        self.acl_arn = acl.arn
        self.physical_resource_id = f"{self.name}|{acl.id}|{props['Scope']}"
        self.attributes = {
            "Arn": acl.arn,
            "Capacity": acl.capacity,
            "Id": acl.id,
            "LabelNamespace": f"awswaf:{self.account_id}:webacl:{self.name}:",
        }

    def modify(self):
        props = self.properties
        waf = self.waf()
        acl = waf.wacls[self.acl_arn]
        waf.update_web_acl(
            name=self.name,
            _id=acl.id,
            default_action=props["DefaultAction"],
            rules=props.get("Rules") or [],
            description=props.get("Description"),
            visibility_config=props["VisibilityConfig"],
            lock_token=acl.lock_token,
            custom_response_bodies=props.get("CustomResponseBodies"),
            captcha_config=props.get("CaptchaConfig"),
            challenge_config=props.get("ChallengeConfig"),
            token_domains=props.get("TokenDomains"),
            association_config=props.get("AssociationConfig"),
        )

    def remove(self):
        waf = self.waf()
        acl = waf.wacls[self.acl_arn]
        waf.delete_web_acl(self.name, self.properties["Scope"], acl.id, acl.lock_token)


class WebACLAssociation(_Resource, CloudFormationModel):
    cfn_type = "AWS::WAFv2::WebACLAssociation"

    def create(self):
        self.backend("wafv2").associate_web_acl(
            self.properties["WebACLArn"], self.properties["ResourceArn"]
        )
        self.physical_resource_id = (
            f"{self.properties['ResourceArn']}|{self.properties['WebACLArn']}"
        )

    def remove(self):
        self.backend("wafv2").disassociate_web_acl(self.properties["ResourceArn"])


class EmailIdentity(_Resource, CloudFormationModel):
    cfn_type = "AWS::SES::EmailIdentity"
    attribute_names = tuple(
        f"DkimDNSToken{part}{n}" for n in (1, 2, 3) for part in ("Name", "Value")
    )
    replacing = frozenset({"EmailIdentity"})

    def create(self):
        identity = self.properties["EmailIdentity"]
        self.backend("sesv2").create_email_identity(
            identity,
            tags=self.properties.get("Tags"),
            dkim_signing_attributes=self.properties.get("DkimSigningAttributes"),
            configuration_set_name=(self.properties.get("ConfigurationSetAttributes") or {}).get(
                "ConfigurationSetName"
            ),
        )
        self.physical_resource_id = identity
        # Easy DKIM's three CNAMEs; moto generates no tokens, so derive stable ones.
        domain = identity.rpartition("@")[2]
        for n in (1, 2, 3):
            token = _suffix(self.account_id, identity, n, length=32)
            self.attributes[f"DkimDNSTokenName{n}"] = f"{token}._domainkey.{domain}"
            self.attributes[f"DkimDNSTokenValue{n}"] = f"{token}.dkim.amazonses.com"

    def remove(self):
        self.backend("sesv2").delete_email_identity(self.physical_resource_id)


# --- RDS: the instance's managed secret, the proxy -------------------------------------------
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


class DBInstance(_Resource, CloudFormationModel):
    """Replaces moto's model: it reads subnet groups as objects (a ``Ref`` gives a name),
    defaults every engine to port 3306 and ignores ``ManageMasterUserPassword``. Here the
    instance gets its ``rds!db-<uuid>`` secret (``{"username", "password"}``, 32 generated
    characters) in Secrets Manager, and the rehearsal's ``databases`` module, when present,
    creates the matching PostgreSQL database."""

    cfn_type = "AWS::RDS::DBInstance"
    name_property = "DBInstanceIdentifier"
    attribute_names = (
        "DBInstanceArn",
        "DbiResourceId",
        "Endpoint.Address",
        "Endpoint.Port",
        "Endpoint.HostedZoneId",
        "MasterUserSecret.SecretArn",
    )
    replacing = frozenset(
        {"DBInstanceIdentifier", "DBName", "Engine", "MasterUsername", "DBSubnetGroupName"}
    )
    _DEFAULT_PORTS: ClassVar[dict[str, int]] = {"postgres": 5432, "mysql": 3306, "mariadb": 3306}

    def _db_kwargs(self):
        props = self.properties
        engine = props.get("Engine", "postgres")
        return {
            "db_instance_identifier": self.name.lower().replace("_", "-"),  # as RDS stores it
            "engine": engine,
            "engine_version": props.get("EngineVersion"),
            "db_instance_class": props.get("DBInstanceClass"),
            "allocated_storage": int(props["AllocatedStorage"])
            if props.get("AllocatedStorage")
            else None,
            "max_allocated_storage": props.get("MaxAllocatedStorage"),
            "storage_type": props.get("StorageType"),
            "storage_encrypted": _flag(props.get("StorageEncrypted")),
            "kms_key_id": props.get("KmsKeyId"),
            "db_name": props.get("DBName"),
            "master_username": props.get("MasterUsername"),
            "master_user_password": props.get("MasterUserPassword"),
            "manage_master_user_password": _flag(props.get("ManageMasterUserPassword")),
            "master_user_secret_kms_key_id": (props.get("MasterUserSecret") or {}).get("KmsKeyId"),
            "port": int(props.get("Port") or self._DEFAULT_PORTS.get(engine, 3306)),
            # moto's subnet group has no physical id: a Ref to it gives the model itself.
            "db_subnet_group_name": getattr(
                props.get("DBSubnetGroupName"), "name", props.get("DBSubnetGroupName")
            ),
            "vpc_security_group_ids": props.get("VPCSecurityGroups") or [],
            "db_parameter_group_name": props.get("DBParameterGroupName"),
            "multi_az": _flag(props.get("MultiAZ")),
            "publicly_accessible": _flag(props.get("PubliclyAccessible")),
            "backup_retention_period": props.get("BackupRetentionPeriod"),
            "deletion_protection": _flag(props.get("DeletionProtection")),
            "enable_iam_database_authentication": _flag(
                props.get("EnableIAMDatabaseAuthentication")
            ),
            "copy_tags_to_snapshot": _flag(props.get("CopyTagsToSnapshot")),
            "auto_minor_version_upgrade": _flag(props.get("AutoMinorVersionUpgrade"), True),
            "tags": props.get("Tags") or [],
        }

    def create(self):
        database = self.backend("rds").create_db_instance(self._db_kwargs())
        self.database = database
        self.physical_resource_id = database.db_instance_identifier
        username = database.master_username
        password = self.properties.get("MasterUserPassword")
        if database.manage_master_user_password:
            password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(32))
        databases = sibling("databases")
        if databases is not None:
            # The local PostgreSQL's roles are server-wide: it names the one to use.
            username = databases.instance_created(
                database.db_instance_identifier,
                database.address,
                database.port,
                database.db_name,
                username,
                password,
            )
        secret_arn = None
        if database.manage_master_user_password:
            secret_arn = database.master_user_secret.secret_arn
            # moto writes a fixed admin/P@55w0rd! into the secret: store the real ones.
            self.backend("secretsmanager").put_secret_value(
                secret_id=secret_arn,
                secret_string=json.dumps({"username": username, "password": password}),
                secret_binary=None,
                client_request_token=None,
                version_stages=["AWSCURRENT"],
            )
        self.attributes = {
            "DBInstanceArn": database.db_instance_arn,
            "DbiResourceId": database.dbi_resource_id,
            "Endpoint.Address": database.address,
            "Endpoint.Port": str(database.port),
            "Endpoint.HostedZoneId": "Z2R2ITUGPM61AM",
            "MasterUserSecret.SecretArn": secret_arn,
        }

    def modify(self):
        kwargs = self._db_kwargs()
        for key in (
            "db_instance_identifier",
            "db_name",
            "master_username",
            "master_user_password",
            "manage_master_user_password",
            "master_user_secret_kms_key_id",
            "tags",
        ):
            kwargs.pop(key)
        self.backend("rds").modify_db_instance(self.physical_resource_id, kwargs)

    def remove(self):
        rds = self.backend("rds")
        rds.modify_db_instance(self.physical_resource_id, {"deletion_protection": False})
        rds.delete_db_instance(self.physical_resource_id, skip_final_snapshot=True)


class DBProxy(_Resource, CloudFormationModel):
    cfn_type = "AWS::RDS::DBProxy"
    name_property = "DBProxyName"
    attribute_names = ("DBProxyArn", "Endpoint", "VpcId")
    replacing = frozenset({"DBProxyName", "EngineFamily", "VpcSubnetIds"})

    def create(self):
        props = self.properties
        proxy = self.backend("rds").create_db_proxy(
            db_proxy_name=self.name,
            engine_family=props["EngineFamily"],
            auth=props.get("Auth") or [],
            role_arn=props["RoleArn"],
            vpc_subnet_ids=props["VpcSubnetIds"],
            vpc_security_group_ids=props.get("VpcSecurityGroupIds"),
            require_tls=_flag(props.get("RequireTLS")),
            idle_client_timeout=props.get("IdleClientTimeout"),
            debug_logging=_flag(props.get("DebugLogging")),
            tags=props.get("Tags"),
        )
        self.physical_resource_id = proxy.db_proxy_name
        self.attributes = {
            "DBProxyArn": proxy.arn,
            "Endpoint": proxy.endpoint,
            "VpcId": proxy.vpc_id,
        }

    def modify(self):
        proxy = self.backend("rds").db_proxies[self.physical_resource_id]
        props = self.properties
        proxy.auth = props.get("Auth") or proxy.auth
        proxy.role_arn = props["RoleArn"]
        proxy.require_tls = _flag(props.get("RequireTLS"))
        proxy.idle_client_timeout = props.get("IdleClientTimeout") or proxy.idle_client_timeout
        proxy.vpc_security_group_ids = props.get("VpcSecurityGroupIds") or []

    def remove(self):
        self.backend("rds").delete_db_proxy(self.physical_resource_id)


class DBProxyTargetGroup(_Resource, CloudFormationModel):
    cfn_type = "AWS::RDS::DBProxyTargetGroup"
    attribute_names = ("TargetGroupArn",)
    replacing = frozenset({"DBProxyName", "TargetGroupName"})

    def _proxy_and_group(self):
        return self.properties["DBProxyName"], self.properties.get("TargetGroupName", "default")

    def create(self):
        rds = self.backend("rds")
        proxy_name, group_name = self._proxy_and_group()
        self._register(rds, proxy_name, group_name)
        group = rds.db_proxies[proxy_name].proxy_target_groups[group_name]
        self.physical_resource_id = group.target_group_arn
        self.attributes = {"TargetGroupArn": group.target_group_arn}

    def _register(self, rds, proxy_name, group_name):
        config = self.properties.get("ConnectionPoolConfigurationInfo")
        if config:
            rds.modify_db_proxy_target_group(
                proxy_name, {"TargetGroupName": group_name, "ConnectionPoolConfig": config}
            )
        instances = self.properties.get("DBInstanceIdentifiers") or []
        rds.register_db_proxy_targets(
            db_proxy_name=proxy_name,
            target_group_name=group_name,
            db_cluster_identifiers=self.properties.get("DBClusterIdentifiers") or [],
            db_instance_identifiers=instances,
        )
        databases = sibling("databases")
        if databases is not None:
            endpoint = rds.db_proxies[proxy_name].endpoint
            for instance in instances:
                databases.proxy_created(proxy_name, endpoint, instance)

    def modify(self):
        self.remove()
        self._register(self.backend("rds"), *self._proxy_and_group())

    def remove(self):
        rds = self.backend("rds")
        proxy_name, group_name = self._proxy_and_group()
        if proxy_name in rds.db_proxies:
            targets = rds.db_proxies[proxy_name].proxy_target_groups[group_name].targets
            rds.deregister_db_proxy_targets(
                proxy_name,
                group_name,
                [t.rds_resource_id for t in targets if t.type == "TRACKED_CLUSTER"],
                [t.rds_resource_id for t in targets if t.type == "RDS_INSTANCE"],
            )


# --- API Gateway v2 (Zappa's HTTP API stage) ------------------------------------------------
def _lower_camel(properties, skip=()):
    """apigatewayv2's backend takes the REST API's lowerCamel member names."""
    return {k[0].lower() + k[1:]: v for k, v in properties.items() if k not in skip}


class Api(_Resource, CloudFormationModel):
    cfn_type = "AWS::ApiGatewayV2::Api"
    attribute_names = ("ApiEndpoint", "ApiId")
    replacing = frozenset({"ProtocolType"})

    def _arguments(self):
        props = self.properties
        return {
            "api_key_selection_expression": props.get("ApiKeySelectionExpression"),
            "cors_configuration": _lower_camel(props["CorsConfiguration"])
            if props.get("CorsConfiguration")
            else None,
            "description": props.get("Description"),
            "disable_schema_validation": props.get("DisableSchemaValidation"),
            "disable_execute_api_endpoint": props.get("DisableExecuteApiEndpoint"),
            "name": props.get("Name") or self.name,
            "route_selection_expression": props.get("RouteSelectionExpression"),
            "version": props.get("Version"),
        }

    def create(self):
        api = self.backend("apigatewayv2").create_api(
            protocol_type=self.properties["ProtocolType"],
            tags=self.properties.get("Tags") or {},
            **self._arguments(),
        )
        self.physical_resource_id = api.api_id
        self.attributes = {"ApiEndpoint": api.api_endpoint, "ApiId": api.api_id}

    def modify(self):
        self.backend("apigatewayv2").update_api(
            api_id=self.physical_resource_id, **self._arguments()
        )

    def remove(self):
        self.backend("apigatewayv2").delete_api(self.physical_resource_id)


class Integration(_Resource, CloudFormationModel):
    cfn_type = "AWS::ApiGatewayV2::Integration"
    attribute_names = ("IntegrationId",)
    replacing = frozenset({"ApiId"})

    def _arguments(self):
        props = self.properties
        return {
            "api_id": props["ApiId"],
            "connection_id": props.get("ConnectionId"),
            "connection_type": props.get("ConnectionType"),
            "content_handling_strategy": props.get("ContentHandlingStrategy"),
            "credentials_arn": props.get("CredentialsArn"),
            "description": props.get("Description"),
            "integration_method": props.get("IntegrationMethod"),
            "integration_subtype": props.get("IntegrationSubtype"),
            "integration_type": props["IntegrationType"],
            "integration_uri": props.get("IntegrationUri"),
            "passthrough_behavior": props.get("PassthroughBehavior"),
            "payload_format_version": props.get("PayloadFormatVersion"),
            "request_parameters": props.get("RequestParameters"),
            "request_templates": props.get("RequestTemplates"),
            "response_parameters": props.get("ResponseParameters"),
            "template_selection_expression": props.get("TemplateSelectionExpression"),
            "timeout_in_millis": props.get("TimeoutInMillis"),
            "tls_config": props.get("TlsConfig"),
        }

    def create(self):
        integration = self.backend("apigatewayv2").create_integration(**self._arguments())
        self.physical_resource_id = integration.id
        self.attributes = {"IntegrationId": integration.id}

    def modify(self):
        self.backend("apigatewayv2").update_integration(
            integration_id=self.physical_resource_id, **self._arguments()
        )

    def remove(self):
        self.backend("apigatewayv2").delete_integration(
            self.properties["ApiId"], self.physical_resource_id
        )


class Route(_Resource, CloudFormationModel):
    cfn_type = "AWS::ApiGatewayV2::Route"
    attribute_names = ("RouteId",)
    replacing = frozenset({"ApiId"})

    def _arguments(self):
        props = self.properties
        return {
            "api_id": props["ApiId"],
            "api_key_required": _flag(props.get("ApiKeyRequired")),
            "authorization_scopes": props.get("AuthorizationScopes") or [],
            "authorization_type": props.get("AuthorizationType", "NONE"),
            "authorizer_id": props.get("AuthorizerId"),
            "model_selection_expression": props.get("ModelSelectionExpression"),
            "operation_name": props.get("OperationName"),
            "request_models": props.get("RequestModels"),
            "request_parameters": props.get("RequestParameters"),
            "route_key": props["RouteKey"],
            "route_response_selection_expression": props.get("RouteResponseSelectionExpression"),
            "target": props.get("Target"),
        }

    def create(self):
        route = self.backend("apigatewayv2").create_route(**self._arguments())
        self.physical_resource_id = route.route_id
        self.attributes = {"RouteId": route.route_id}

    def modify(self):
        self.backend("apigatewayv2").update_route(
            route_id=self.physical_resource_id, **self._arguments()
        )

    def remove(self):
        self.backend("apigatewayv2").delete_route(
            self.properties["ApiId"], self.physical_resource_id
        )


class Stage(_Resource, CloudFormationModel):
    cfn_type = "AWS::ApiGatewayV2::Stage"
    replacing = frozenset({"ApiId", "StageName"})

    def create(self):
        props = self.properties
        config = _lower_camel(props, skip=("ApiId",))
        config["autoDeploy"] = _flag(props.get("AutoDeploy"))
        stage = self.backend("apigatewayv2").create_stage(props["ApiId"], config)
        self.physical_resource_id = stage.name

    def remove(self):
        self.backend("apigatewayv2").delete_stage(
            self.properties["ApiId"], self.physical_resource_id
        )


# --- Elastic Load Balancing: moto's listener, with forward actions it can read ---------------
def _forward_to_one_group(properties):
    """moto's listener reads a forward action's ``TargetGroupArn`` only; the template forwards
    with ``ForwardConfig.TargetGroups`` (one per target, an ``AWS::NoValue`` for the other).
    moto keeps one group per action, so the first one is the one it forwards to."""
    actions = []
    for action in properties.get("DefaultActions") or []:
        groups = [
            group["TargetGroupArn"]
            for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        ]
        if action.get("Type") == "forward" and "TargetGroupArn" not in action and groups:
            action = {**action, "TargetGroupArn": groups[0]}
        actions.append(action)
    return {**properties, "DefaultActions": actions}


class Listener(CloudFormationModel):
    """moto's ``AWS::ElasticLoadBalancingV2::Listener``, fed forward actions it understands."""

    @staticmethod
    def cloudformation_type():
        return "AWS::ElasticLoadBalancingV2::Listener"

    @staticmethod
    def cloudformation_name_type():
        return ""

    @classmethod
    def has_cfn_attr(cls, attr):
        from moto.elbv2.models import FakeListener

        return FakeListener.has_cfn_attr(attr)

    @staticmethod
    def _json(cloudformation_json):
        properties = _forward_to_one_group(cloudformation_json.get("Properties") or {})
        return {**cloudformation_json, "Properties": properties}

    @classmethod
    def create_from_cloudformation_json(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs
    ):
        from moto.elbv2.models import FakeListener

        return FakeListener.create_from_cloudformation_json(
            resource_name, cls._json(cloudformation_json), account_id, region_name, **kwargs
        )

    @classmethod
    def update_from_cloudformation_json(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
    ):
        from moto.elbv2.models import FakeListener

        return FakeListener.update_from_cloudformation_json(
            original_resource,
            new_resource_name,
            cls._json(cloudformation_json),
            account_id,
            region_name,
        )


def target_group_attribute(target_group, attribute_name):
    """``Fn::GetAtt`` on moto's target group, which answers none (AWS documents these)."""
    arn = target_group.arn
    attributes = {
        "TargetGroupArn": arn,
        "TargetGroupFullName": arn.split(":")[-1],  # targetgroup/<name>/<id>
        "TargetGroupName": target_group.name,
        "LoadBalancerArns": list(target_group.load_balancer_arns),
    }
    if attribute_name not in attributes:
        raise UnformattedGetAttTemplateException()
    return attributes[attribute_name]


def _answer_target_group_attributes():
    from moto.elbv2.models import FakeTargetGroup

    FakeTargetGroup.get_cfn_attribute = target_group_attribute  # type: ignore[attr-defined]


def cidr(ip_block, count, cidr_bits):
    """``Fn::Cidr``: the first ``count`` subnets of ``ip_block`` with ``cidr_bits`` host bits."""
    network = ipaddress.ip_network(ip_block, strict=False)
    subnets = network.subnets(new_prefix=network.max_prefixlen - int(cidr_bits))
    return [str(subnet) for subnet in itertools.islice(subnets, int(count))]


def _with_intrinsics(clean_json):
    """moto's ``clean_json`` (the intrinsic functions' resolver) with what it lacks:
    ``Fn::Cidr`` (it passes it through as a mapping, and a ``Fn::Select`` over it fails the
    stack), and ``AWS::NoValue`` in a list removing the item (it leaves a null there)."""
    if getattr(clean_json, "completes_intrinsics", False):
        return clean_json

    def resolve(resource_json, resources_map):
        if isinstance(resource_json, dict) and list(resource_json) == ["Fn::Cidr"]:
            arguments = [resolve(a, resources_map) for a in resource_json["Fn::Cidr"]]
            return cidr(*arguments)
        if isinstance(resource_json, list):
            items = (resolve(item, resources_map) for item in resource_json)
            return [item for item in items if item is not None]
        return clean_json(resource_json, resources_map)

    resolve.completes_intrinsics = True  # type: ignore[attr-defined]
    return resolve


def _with_sound_updates(parse_and_update_resource):
    """moto's update of one modified resource, made to follow conditions and keep what it
    cannot update.

    moto lists a resource as modified when a parameter it references changed, whatever its
    condition, then stores what the update returns, ``None`` when the type has no update
    (its ``Ref`` then resolves to nothing). Here a resource whose condition now fails is
    deleted, one whose condition now holds is created, and a type moto cannot update keeps
    its resource as it was (logged: the stack then differs from its template there).
    """
    if getattr(parse_and_update_resource, "sound", False):
        return parse_and_update_resource

    def update(logical_id, resource_json, resources_map, account_id, region_name):
        parsed = resources_map._parsed_resources
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            if parsed.get(logical_id) is not None:
                resources_map._delete_resource(parsed.pop(logical_id), resource_json)
            return None
        if parsed.get(logical_id) is None:
            parsed.pop(logical_id, None)
            return resources_map[logical_id]  # created, as a new resource is
        model = parsing.resource_class_from_type(resource_json["Type"])
        if model is not None and hasattr(
            model.update_from_cloudformation_json, "__isabstractmethod__"
        ):
            logger.warning("moto cannot update %s %s: kept as it was", model, logical_id)
            return parsed[logical_id]
        return parse_and_update_resource(
            logical_id, resource_json, resources_map, account_id, region_name
        )

    update.sound = True  # type: ignore[attr-defined]
    return update


def _with_conditions_followed(update):
    """A stack update creates the resources whose condition now holds and deletes those whose
    condition now fails, as CloudFormation does; moto only looks at resources that are new,
    changed or that name a changed parameter (a service waiting for an image parameter is
    none of these)."""
    if getattr(update, "follows_conditions", False):
        return update

    def follow(self, template, parameters=None):
        update(self, template, parameters)
        for logical_id, resource_json in self._resource_json_map.items():
            condition = resource_json.get("Condition")
            if not condition:
                continue
            parsed = self._parsed_resources.get(logical_id)
            if self.lazy_condition_map[condition] and parsed is None:
                self._parsed_resources.pop(logical_id, None)
                self[logical_id]  # created, as moto creates an added resource
            elif not self.lazy_condition_map[condition] and parsed is not None:
                self._delete_resource(self._parsed_resources.pop(logical_id), resource_json)

    follow.follows_conditions = True  # type: ignore[attr-defined]
    return follow


# Types whose generated names CloudFormation lowercases (their services refuse capitals).
LOWERCASE_NAMES = frozenset({"AWS::ECR::Repository", "AWS::RDS::DBInstance"})


def _with_lowercase_names(generate_resource_name):
    """moto's name generator (``<stack>-<LogicalId>-<SUFFIX>``), lowercased where AWS's is."""
    if getattr(generate_resource_name, "lowercases", False):
        return generate_resource_name

    def generate(resource_type, stack_name, logical_id):
        name = generate_resource_name(resource_type, stack_name, logical_id)
        return name.lower() if resource_type in LOWERCASE_NAMES else name

    generate.lowercases = True  # type: ignore[attr-defined]
    return generate


def _yaml_tags_as_cloudformation_reads_them():
    """``!GetAtt Database.Endpoint.Address`` names attribute ``Endpoint.Address`` of
    ``Database``, as CloudFormation reads it; moto's YAML loader splits at every dot. And
    ``!Condition Name`` (inside ``!And``/``!Or``/``!Not``) is ``{"Condition": Name}``; moto
    made it ``Fn::Condition``, which its conditions never evaluate (always false)."""
    from moto.cloudformation import models, responses, utils

    original = utils.yaml_tag_constructor
    if getattr(original, "as_cloudformation", False):
        return

    def constructor(loader, tag, node):
        if tag == "!GetAtt" and not isinstance(node.value, list):
            return {"Fn::GetAtt": node.value.split(".", 1)}
        if tag == "!Condition":
            return {"Condition": node.value}
        return original(loader, tag, node)

    constructor.as_cloudformation = True  # type: ignore[attr-defined]
    for module in (utils, models, responses):
        module.yaml_tag_constructor = constructor  # type: ignore[attr-defined]


def _describe_stacks_as_cloudformation_does():
    """DescribeStacks lists each parameter as it was given (its default when it was not):
    CloudFormation does; moto lists what it resolved them to (a Python list for a
    CommaDelimitedList, the AMI for an SSM parameter type), so no comparison would hold.
    DescribeStackResources lists the resources the stack has, not those left out."""
    from moto.cloudformation.models import Stack

    def parameter_list(self):
        declared = self.template_dict.get("Parameters", {})
        hidden = self.resource_map.no_echo_parameter_keys
        given = self.parameters or {}
        return [
            {
                "ParameterKey": key,
                "ParameterValue": "****"
                if key in hidden
                else str(given.get(key, spec.get("Default", ""))),
            }
            for key, spec in declared.items()
        ]

    Stack.parameter_list = property(parameter_list)  # type: ignore[method-assign,assignment]
    # A resource whose condition is false is not the stack's: moto keeps a None for it, and
    # DescribeStackResources listed it as an entry without id or type.
    Stack.stack_resources = property(  # type: ignore[method-assign,assignment]
        lambda self: [resource for resource in self.resource_map.values() if resource is not None]
    )


def _inline_policies_as_json():
    """A role's inline policies from a template are JSON documents (GetRolePolicy returns
    them so); moto's CloudFormation stored the parsed dict, which IAM then answers as a
    Python repr."""
    from moto.iam.models import Role, iam_backends
    from moto.utilities.utils import get_partition

    original = Role.put_policy
    if getattr(original, "as_json", False):
        return

    def put_policy(self, policy_name, policy_json):
        if not isinstance(policy_json, str):
            policy_json = json.dumps(policy_json)
        original(self, policy_name, policy_json)

    put_policy.as_json = True  # type: ignore[attr-defined]
    Role.put_policy = put_policy  # type: ignore[method-assign]

    # ManagedPolicyArns attach the policies to the role; moto's model ignores them.
    create = Role.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(cls, name, cloudformation_json, account_id, region, **kw):
        role = create(cls, name, cloudformation_json, account_id, region, **kw)
        backend = iam_backends[account_id][get_partition(region)]
        for arn in cloudformation_json.get("Properties", {}).get("ManagedPolicyArns", []):
            backend.attach_role_policy(arn, role.name)
        return role

    Role.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[method-assign,assignment]


def install():
    """Make moto's CloudFormation see the models above (importing this module defined them),
    with the intrinsics, names, updates and attributes it lacks; returns the models."""
    # clean_json recurses through the module's global, so nested intrinsics resolve here too.
    _yaml_tags_as_cloudformation_reads_them()
    _describe_stacks_as_cloudformation_does()
    _inline_policies_as_json()
    parsing.clean_json = _with_intrinsics(parsing.clean_json)
    parsing.generate_resource_name = _with_lowercase_names(parsing.generate_resource_name)
    parsing.parse_and_update_resource = _with_sound_updates(parsing.parse_and_update_resource)
    parsing.ResourceMap.update = _with_conditions_followed(parsing.ResourceMap.update)  # type: ignore[method-assign]
    _answer_target_group_attributes()
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()
    return [m for m in parsing.get_model_list() if m.__module__ == __name__]

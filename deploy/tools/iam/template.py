"""An IAM policy of the CloudFormation template, rendered with a deployed stack's values.

A small evaluator of the intrinsic functions a policy uses (Ref, Fn::Sub in both forms,
Fn::GetAtt, Fn::If with the template's Conditions, Fn::Join, Fn::Select, Fn::Split, Fn::Equals /
And / Or / Not, AWS::NoValue and the pseudo parameters), so the check runs against what
CloudFormation would attach rather than a copy of it.
"""

import re
from pathlib import Path

from cfnlint.decode import decode_str

from .actions import partition

# Fn::GetAtt <Logical>.Arn where the physical id (what Ref returns) is enough to build it.
ARN_FROM_PHYSICAL_ID = {
    "AWS::DynamoDB::Table": "arn:{partition}:dynamodb:{region}:{account}:table/{id}",
    "AWS::S3::Bucket": "arn:{partition}:s3:::{id}",
    "AWS::Lambda::Function": "arn:{partition}:lambda:{region}:{account}:function:{id}",
    # Ref is the queue's URL; its last segment is the name.
    "AWS::SQS::Queue": "arn:{partition}:sqs:{region}:{account}:{tail}",
    "AWS::SNS::Topic": "{id}",
    "AWS::SecretsManager::Secret": "{id}",
    "AWS::IAM::ManagedPolicy": "{id}",
    "AWS::Logs::LogGroup": "arn:{partition}:logs:{region}:{account}:log-group:{id}:*",
}
POLICY_TYPES = ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::Role")

SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")


class TemplateError(ValueError):
    """The template or the values given cannot render the policy."""


class _NoValue:
    """AWS::NoValue: the property (or list item) is removed."""


NO_VALUE = _NoValue()


def load_template(template_path):
    template, errors = decode_str(Path(template_path).read_text())
    if errors:
        raise TemplateError(f"{template_path}: {errors[0]}")
    return template


def resolve_policy(
    template_path,
    resource_name,
    physical_ids,
    parameters,
    region,
    account,
    stack_name=None,
):
    """The policy document of ``resource_name`` (an AWS::IAM::ManagedPolicy or Policy, or a
    Role's inline policies plus the template's managed policies it attaches) as IAM sees it.

    ``physical_ids`` maps logical ids to what Ref returns (bucket and table names, a queue's
    URL, a secret's ARN...) and may hold ``"<Logical>.<Attribute>"`` keys for Fn::GetAtt
    values that cannot be derived (a queue's Arn, a role's Arn). ``parameters`` are the
    stack's parameter values; the template's defaults fill the rest.
    """
    template = load_template(template_path)
    renderer = Renderer(template, physical_ids, parameters, region, account, stack_name)
    return renderer.policy(resource_name)


class Renderer:
    def __init__(self, template, physical_ids, parameters, region, account, stack_name):
        self.template = template
        self.resources = template.get("Resources", {})
        self.physical_ids = dict(physical_ids)
        self.pseudo = {
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::Partition": partition(region),
            "AWS::URLSuffix": "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com",
            "AWS::StackName": stack_name,
        }
        self.parameters = self._parameters(template.get("Parameters", {}), parameters)
        self._conditions = {}

    @staticmethod
    def _parameters(declared, given):
        values = {}
        for name, spec in declared.items():
            if name in given:
                value = given[name]
            elif "Default" in spec:
                value = spec["Default"]
            else:
                continue
            if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
                value = value.split(",") if value else [""]
            values[name] = value
        unknown = set(given) - set(declared)
        if unknown:
            raise TemplateError(f"unknown parameters: {', '.join(sorted(unknown))}")
        return values

    def policy(self, resource_name):
        resource = self.resources.get(resource_name)
        if resource is None:
            raise TemplateError(f"the template has no resource {resource_name}")
        kind = resource.get("Type")
        if kind not in POLICY_TYPES:
            raise TemplateError(f"{resource_name} is a {kind}, not one of {POLICY_TYPES}")
        properties = resource.get("Properties", {})
        if kind != "AWS::IAM::Role":
            return self.render(properties["PolicyDocument"])
        documents = [
            self.render(policy["PolicyDocument"]) for policy in properties.get("Policies", [])
        ]
        for arn in _as_list(properties.get("ManagedPolicyArns")):
            # Only the template's own policies can be read; AWS-managed ones are not in it.
            name = arn.get("Ref") if isinstance(arn, dict) else None
            if name in self.resources and self.resources[name]["Type"] in POLICY_TYPES:
                documents.append(self.policy(name))
        statements = [
            statement for document in documents for statement in _as_list(document["Statement"])
        ]
        return {"Version": "2012-10-17", "Statement": statements}

    def render(self, value):
        if isinstance(value, dict):
            if len(value) == 1:
                (key,) = value
                if key == "Ref" or key.startswith("Fn::") or key == "Condition":
                    return self.function(key, value[key])
            rendered = {key: self.render(item) for key, item in value.items()}
            return {key: item for key, item in rendered.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in map(self.render, value) if item is not NO_VALUE]
        # cfn-lint's str_node and friends, as plain values.
        return str(value) if isinstance(value, str) else value

    def function(self, name, argument):
        handler = {
            "Ref": self.ref,
            "Fn::Sub": self.sub,
            "Fn::GetAtt": self.get_att,
            "Fn::If": self.if_,
            "Fn::Join": self.join,
            "Fn::Select": self.select,
            "Fn::Split": self.split,
            "Fn::Equals": self.equals,
            "Fn::Not": lambda arg: not self.truth(arg[0]),
            "Fn::And": lambda arg: all(self.truth(item) for item in arg),
            "Fn::Or": lambda arg: any(self.truth(item) for item in arg),
            "Condition": self.condition,
        }.get(name)
        if handler is None:
            raise TemplateError(f"{name} is not supported by deploy/tools/iam/template.py")
        return handler(argument)

    def ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            if self.pseudo[name] is None:
                raise TemplateError(f"{name} is referenced; pass stack_name")
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        if name in self.resources:
            raise TemplateError(f"no physical id for {name}; pass it in physical_ids")
        raise TemplateError(f"Ref {name}: no such parameter or resource")

    def get_att(self, argument):
        logical, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
        key = f"{logical}.{attribute}"
        if key in self.physical_ids:
            return self.physical_ids[key]
        kind = self.resources.get(logical, {}).get("Type")
        if attribute == "Arn" and kind in ARN_FROM_PHYSICAL_ID:
            return ARN_FROM_PHYSICAL_ID[kind].format(
                partition=self.pseudo["AWS::Partition"],
                region=self.pseudo["AWS::Region"],
                account=self.pseudo["AWS::AccountId"],
                id=self.ref(logical),
                tail=str(self.ref(logical)).rstrip("/").rpartition("/")[2],
            )
        raise TemplateError(f"Fn::GetAtt {key}: pass its value in physical_ids as {key!r}")

    def sub(self, argument):
        if isinstance(argument, str):
            text, variables = argument, {}
        else:
            text, variables = argument[0], {k: self.render(v) for k, v in argument[1].items()}

        def value(match):
            name = match[1]
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return str(self.get_att(name))
            return str(self.ref(name))

        return SUB_VARIABLE.sub(value, text).replace("${!", "${")

    def if_(self, argument):
        name, when_true, when_false = argument
        return self.render(when_true if self.condition(name) else when_false)

    def condition(self, name):
        if name not in self._conditions:
            conditions = self.template.get("Conditions", {})
            if name not in conditions:
                raise TemplateError(f"no condition {name}")
            self._conditions[name] = self.truth(conditions[name])
        return self._conditions[name]

    def truth(self, value):
        rendered = self.render(value)
        if not isinstance(rendered, bool):
            raise TemplateError(f"a condition rendered to {rendered!r}, not true or false")
        return rendered

    def equals(self, argument):
        left, right = (self.render(item) for item in argument)
        return str(left) == str(right) if not isinstance(left, list) else left == right

    def join(self, argument):
        delimiter, items = argument
        return delimiter.join(str(item) for item in _as_list(self.render(items)))

    def select(self, argument):
        index, items = argument
        items = _as_list(self.render(items))
        index = int(self.render(index))
        if not 0 <= index < len(items):
            raise TemplateError(f"Fn::Select index {index} out of {len(items)} items")
        return items[index]

    def split(self, argument):
        delimiter, text = argument
        return str(self.render(text)).split(delimiter)


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]

"""DynamoDB tables that a store owns, as a Django backend owns its model.

A store (the session engine, the token deny-list) declares its table's shape with
``KeyTable``; ``manage.py createsessionstable``, the local stack, the test fixtures and the
CloudFormation drift test all take the definition from there.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class KeyTable:
    """A table keyed by one string, on-demand, with a Number TTL attribute (epoch seconds).

    DynamoDB deletes expired items late (up to days), so readers check the TTL themselves.
    """

    key_attribute: str
    ttl_attribute: str

    def definition(self, table_name):
        """``CreateTable`` arguments for ``table_name``."""
        return {
            "TableName": table_name,
            "AttributeDefinitions": [{"AttributeName": self.key_attribute, "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": self.key_attribute, "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
        }

    def key(self, value):
        """The item key for ``value``."""
        return {self.key_attribute: {"S": value}}

    def ensure(self, dynamodb, table_name):
        """Create the table if missing, TTL on; True if it created it."""
        return ensure_table(dynamodb, self.definition(table_name), self.ttl_attribute)

    def problems(self, dynamodb, table_name):
        """How the existing table differs from the definition; empty if it matches."""
        try:
            described = dynamodb.describe_table(TableName=table_name)["Table"]
        except dynamodb.exceptions.ResourceNotFoundException:
            return ["it does not exist"]
        definition = self.definition(table_name)
        problems = []
        if described["KeySchema"] != definition["KeySchema"]:
            problems.append(f"key schema is {described['KeySchema']}")
        types = {a["AttributeName"]: a["AttributeType"] for a in described["AttributeDefinitions"]}
        for attribute in definition["AttributeDefinitions"]:
            if types.get(attribute["AttributeName"]) != attribute["AttributeType"]:
                problems.append(
                    f"{attribute['AttributeName']} is not of type {attribute['AttributeType']}"
                )
        billing = described.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
        if billing != definition["BillingMode"]:
            problems.append(f"billing mode is {billing}")
        ttl = dynamodb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            problems.append("TTL is off")
        elif ttl.get("AttributeName") != self.ttl_attribute:
            problems.append(f"TTL is on {ttl.get('AttributeName')}, not {self.ttl_attribute}")
        return problems


def ensure_table(dynamodb, definition, ttl_attribute=None):
    """Create the table if missing and make sure TTL is on; returns True if it created it."""
    name = definition["TableName"]
    created = False
    try:
        dynamodb.describe_table(TableName=name)
    except dynamodb.exceptions.ResourceNotFoundException:
        dynamodb.create_table(**definition)
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        created = True
    if ttl_attribute:
        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl_attribute},
            )
    return created

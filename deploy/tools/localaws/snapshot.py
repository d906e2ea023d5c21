"""Save and restore the local stack's data: DynamoDB items, S3 objects, Cognito users, SSM.

The snapshot is plain JSON (``snapshot.json``) plus content-addressed object bodies
(``blobs/<sha256>``), written atomically. It goes through the AWS APIs, so it does not
depend on moto's internals, except for what no API returns: Cognito passwords and the
``sub`` of restored users (read and set on moto's in-process backend), so that a user
keeps the identity the app keyed their data on.
"""

import base64
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from apps.core import aws

logger = logging.getLogger(__name__)

VERSION = 1
_TABLE_FIELDS = ("AttributeDefinitions", "KeySchema")
_INDEX_FIELDS = ("IndexName", "KeySchema", "Projection")


class Snapshot:
    """The state of one stack (``endpoint``) kept in ``directory``."""

    def __init__(self, endpoint, region, directory):
        self.endpoint = endpoint
        self.region = region
        self.directory = Path(directory)
        self.blobs = self.directory / "blobs"
        self.path = self.directory / "snapshot.json"
        self._etags = {}  # (bucket, key) -> (etag, blob): unchanged objects are not re-read

    def _client(self, service):
        return aws.client(service, endpoint=self.endpoint)

    # --- save ------------------------------------------------------------------------

    def save(self):
        state = {
            "version": VERSION,
            "dynamodb": self._dump_dynamodb(),
            "s3": self._dump_s3(),
            "cognito": self._dump_cognito(),
            "ssm": self._dump_ssm(),
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        _write_atomically(self.path, json.dumps(state, indent=1, sort_keys=True).encode())
        self._collect_garbage(state)

    def _dump_dynamodb(self):
        dynamodb = self._client("dynamodb")
        tables = []
        for name in aws.pages(dynamodb, "list_tables", "TableNames"):
            described = dynamodb.describe_table(TableName=name)["Table"]
            definition = {field: described[field] for field in _TABLE_FIELDS}
            definition["TableName"] = name
            definition["BillingMode"] = "PAY_PER_REQUEST"
            for kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
                if described.get(kind):
                    definition[kind] = [
                        {field: index[field] for field in _INDEX_FIELDS}
                        for index in described[kind]
                    ]
            ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
            items = [
                _encode_item(item)
                for item in aws.pages(
                    dynamodb, "scan", "Items", TableName=name, ConsistentRead=True
                )
            ]
            tables.append(
                {
                    "definition": definition,
                    "ttl_attribute": ttl.get("AttributeName")
                    if ttl.get("TimeToLiveStatus") == "ENABLED"
                    else None,
                    "items": items,
                }
            )
        return tables

    def _dump_s3(self):
        s3 = self._client("s3")
        buckets = []
        etags = {}
        for bucket in s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            objects = []
            for listed in aws.pages(s3, "list_objects_v2", "Contents", Bucket=name):
                key = listed["Key"]
                known = self._etags.get((name, key))
                head = s3.head_object(Bucket=name, Key=key)
                if known and known[0] == head["ETag"]:
                    blob = known[1]
                else:
                    body = s3.get_object(Bucket=name, Key=key)["Body"].read()
                    blob = self._store_blob(body)
                etags[(name, key)] = (head["ETag"], blob)
                objects.append(
                    {
                        "key": key,
                        "blob": blob,
                        "content_type": head.get("ContentType"),
                        "metadata": head.get("Metadata", {}),
                    }
                )
            buckets.append({"name": name, "objects": objects})
        self._etags = etags
        return buckets

    def _dump_cognito(self):
        cognito = self._client("cognito-idp")
        pools = []
        for pool in aws.pages(cognito, "list_user_pools", "UserPools", MaxResults=60):
            pool_id = pool["Id"]
            memberships: dict[str, list[str]] = {}
            groups = []
            for group in aws.pages(cognito, "list_groups", "Groups", UserPoolId=pool_id):
                groups.append(group["GroupName"])
                for user in aws.pages(
                    cognito,
                    "list_users_in_group",
                    "Users",
                    UserPoolId=pool_id,
                    GroupName=group["GroupName"],
                ):
                    memberships.setdefault(user["Username"], []).append(group["GroupName"])
            users = []
            for user in aws.pages(cognito, "list_users", "Users", UserPoolId=pool_id):
                backend_user = _moto_pool(self.region, pool_id).users.get(user["Username"])
                users.append(
                    {
                        "username": user["Username"],
                        "attributes": user.get("Attributes", []),
                        "enabled": user.get("Enabled", True),
                        "status": user.get("UserStatus"),
                        "password": backend_user.password if backend_user else None,
                        "groups": sorted(memberships.get(user["Username"], [])),
                    }
                )
            pools.append({"id": pool_id, "name": pool["Name"], "groups": groups, "users": users})
        return pools

    def _dump_ssm(self):
        ssm = self._client("ssm")
        parameters = []
        for described in aws.pages(ssm, "describe_parameters", "Parameters"):
            value = ssm.get_parameter(Name=described["Name"], WithDecryption=True)["Parameter"]
            parameters.append(
                {"name": value["Name"], "type": value["Type"], "value": value["Value"]}
            )
        return parameters

    def _store_blob(self, body):
        digest = hashlib.sha256(body).hexdigest()
        path = self.blobs / digest
        if not path.exists():
            self.blobs.mkdir(parents=True, exist_ok=True)
            _write_atomically(path, body)
        return digest

    def _collect_garbage(self, state):
        if not self.blobs.is_dir():
            return
        live = {obj["blob"] for bucket in state["s3"] for obj in bucket["objects"]}
        for path in self.blobs.iterdir():
            if path.name not in live and not path.name.startswith("."):
                path.unlink(missing_ok=True)

    # --- restore ---------------------------------------------------------------------

    def restore(self):
        """Load the saved state into the (already provisioned) stack; False if none saved."""
        try:
            state = json.loads(self.path.read_text())
        except FileNotFoundError:
            return False
        if state.get("version") != VERSION:
            logger.warning("ignoring %s: snapshot version %s", self.path, state.get("version"))
            return False
        self._restore_dynamodb(state["dynamodb"])
        self._restore_s3(state["s3"])
        self._restore_cognito(state["cognito"])
        self._restore_ssm(state["ssm"])
        return True

    def _restore_dynamodb(self, tables):
        from apps.core.tables import ensure_table

        dynamodb = self._client("dynamodb")
        for table in tables:
            definition = table["definition"]
            ensure_table(dynamodb, definition, ttl_attribute=table["ttl_attribute"])
            items = [_decode_item(item) for item in table["items"]]
            for start in range(0, len(items), 25):
                batch = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
                requests = {definition["TableName"]: batch}
                while requests:
                    response = dynamodb.batch_write_item(RequestItems=requests)
                    requests = response.get("UnprocessedItems") or {}

    def _restore_s3(self, buckets):
        from deploy.aws.resources import ensure_private_bucket

        s3 = self._client("s3")
        for bucket in buckets:
            ensure_private_bucket(s3, bucket["name"], self.region)
            for obj in bucket["objects"]:
                extra = {"Metadata": obj["metadata"]}
                if obj["content_type"]:
                    extra["ContentType"] = obj["content_type"]
                s3.put_object(
                    Bucket=bucket["name"],
                    Key=obj["key"],
                    Body=(self.blobs / obj["blob"]).read_bytes(),
                    **extra,
                )

    def _restore_cognito(self, pools):
        from apps.accounts.cognito import ensure_group

        cognito = self._client("cognito-idp")
        existing = {
            pool["Id"]
            for pool in aws.pages(cognito, "list_user_pools", "UserPools", MaxResults=60)
        }
        for pool in pools:
            if pool["id"] not in existing:
                # Pools are provisioned, not restored: their ids come from their definition.
                logger.warning(
                    "not restoring users of pool %s: it was not provisioned", pool["id"]
                )
                continue
            for group in pool["groups"]:
                ensure_group(cognito, pool["id"], group)
            for user in pool["users"]:
                self._restore_user(cognito, pool["id"], user)

    def _restore_user(self, cognito, pool_id, user):
        pool = _moto_pool(self.region, pool_id)
        if user["username"] not in pool.users:
            # Built in-process: no API sets a user's sub, and the app keys users on it.
            from moto.cognitoidp.models import CognitoIdpUser, UserStatus

            attributes = [a for a in user["attributes"] if a["Name"] != "sub"]
            restored = CognitoIdpUser(
                pool_id,
                user["username"],
                user["password"],
                UserStatus(user["status"] or "CONFIRMED"),
                attributes,
            )
            sub = next((a["Value"] for a in user["attributes"] if a["Name"] == "sub"), None)
            if sub:
                restored.id = sub
                restored.update_attributes([{"Name": "sub", "Value": sub}])
            restored.enabled = user["enabled"]
            pool.users[user["username"]] = restored
        for group in user["groups"]:
            cognito.admin_add_user_to_group(
                UserPoolId=pool_id, Username=user["username"], GroupName=group
            )

    def _restore_ssm(self, parameters):
        ssm = self._client("ssm")
        for parameter in parameters:
            ssm.put_parameter(
                Name=parameter["name"],
                Type=parameter["type"],
                Value=parameter["value"],
                Overwrite=True,
            )


def _moto_pool(region, pool_id):
    """moto's in-process user pool: the only way to read a password or keep a sub."""
    from moto.cognitoidp.models import cognitoidp_backends
    from moto.core import DEFAULT_ACCOUNT_ID

    return cognitoidp_backends[DEFAULT_ACCOUNT_ID][region].user_pools[pool_id]


def _write_atomically(path, data):
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# DynamoDB binary values (B, BS, nested in M and L) are bytes; JSON gets base64.
def _encode_item(item):
    return {name: _encode_value(value) for name, value in item.items()}


def _encode_value(value):
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64encode(inner).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(b).decode() for b in inner]}
    if kind == "M":
        return {"M": _encode_item(inner)}
    if kind == "L":
        return {"L": [_encode_value(v) for v in inner]}
    return value


def _decode_item(item):
    return {name: _decode_value(value) for name, value in item.items()}


def _decode_value(value):
    ((kind, inner),) = value.items()
    if kind == "B":
        return {"B": base64.b64decode(inner)}
    if kind == "BS":
        return {"BS": [base64.b64decode(b) for b in inner]}
    if kind == "M":
        return {"M": _decode_item(inner)}
    if kind == "L":
        return {"L": [_decode_value(v) for v in inner]}
    return value

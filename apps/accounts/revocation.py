"""Revoked tokens: a deny-list of ``jti``/``origin_jti`` values, checked on every token.

Logout revokes the refresh token at Cognito, but access and ID tokens already handed out
stay valid until they expire; listing their ``origin_jti`` here ends them at once.
The backend is a setting (``TOKEN_DENYLIST_BACKEND``); the DynamoDB one follows the sessions
table's conventions: a string key and a TTL attribute that reads also check.
"""

import time

from django.conf import settings
from django.utils.module_loading import import_string

from apps.core import aws
from apps.core.errors import DependencyUnavailable, describe
from apps.core.tables import KeyTable

KEY_ATTRIBUTE = "jti"
TTL_ATTRIBUTE = "expires_at"
# The DynamoDB backend's table (the local stack and deploy/aws create it from this).
TABLE = KeyTable(key_attribute=KEY_ATTRIBUTE, ttl_attribute=TTL_ATTRIBUTE)


class DenyListUnavailable(DependencyUnavailable):
    """The deny-list could not be read or written; fail closed (503), never open."""

    dependency = "token deny-list"


class DenyList:
    """Interface of a deny-list backend."""

    def is_revoked(self, jtis):
        """True if any of ``jtis`` (None entries ignored) is on the list and not expired."""
        raise NotImplementedError

    def revoke(self, jti, expires_at):
        """List ``jti`` until ``expires_at`` (epoch seconds)."""
        raise NotImplementedError


class DynamoDBDenyList(DenyList):
    def is_revoked(self, jtis):
        keys = sorted({jti for jti in jtis if isinstance(jti, str) and jti})
        if not keys:
            return False
        table = settings.TOKEN_DENYLIST_TABLE
        request = {
            table: {
                "Keys": [{KEY_ATTRIBUTE: {"S": jti}} for jti in keys],
                "ConsistentRead": True,
                "ProjectionExpression": "#ttl",
                "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE},
            }
        }
        now = time.time()
        with aws.unavailable_as(DenyListUnavailable, _describe("batch_get_item")):
            while request:
                response = aws.client("dynamodb").batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(table, []):
                    if float(item[TTL_ATTRIBUTE]["N"]) > now:
                        return True
                request = response.get("UnprocessedKeys") or {}
        return False

    def revoke(self, jti, expires_at):
        with aws.unavailable_as(DenyListUnavailable, _describe("put_item")):
            aws.client("dynamodb").put_item(
                TableName=settings.TOKEN_DENYLIST_TABLE,
                Item={**TABLE.key(jti), TTL_ATTRIBUTE: {"N": str(int(expires_at))}},
            )


def _describe(operation):
    return lambda exc: f"DynamoDB {operation} on {settings.TOKEN_DENYLIST_TABLE}: {describe(exc)}"


def deny_list():
    return import_string(settings.TOKEN_DENYLIST_BACKEND)()


def is_revoked(*jtis):
    return deny_list().is_revoked(jtis)


def revoke(jti, expires_at):
    deny_list().revoke(jti, expires_at)

"""
DynamoDB session store: one item per session in ``SESSIONS_TABLE``.

An item holds the session key (or its SHA-256), the signed session data and the expiry in
epoch seconds, which is the table's TTL attribute (``TABLE`` below defines the table).
DynamoDB deletes expired items late, up to days after, so reads check the expiry.
"""

import hashlib
import re
import time

from django.conf import settings
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    SessionBase,
    UpdateError,
)
from django.utils.crypto import get_random_string

from apps.core import aws
from apps.core.tables import KeyTable
from apps.sessions.exceptions import SessionStoreUnavailable

KEY_ATTRIBUTE = "session_key"
TTL_ATTRIBUTE = "expires_at"
DATA_ATTRIBUTE = "data"
# The table this store needs (createsessionstable, the local stack and deploy/aws use it).
TABLE = KeyTable(key_attribute=KEY_ATTRIBUTE, ttl_attribute=TTL_ATTRIBUTE)

# The keys SessionBase generates are 32 of VALID_KEY_CHARS; this allows some room. Anything
# else cannot be a session of ours, and DynamoDB rejects keys over 2048 bytes with an error.
_VALID_KEY = re.compile(r"[a-z0-9]{8,64}")


class SessionStore(SessionBase):
    """
    Implement DynamoDB session store.

    Every call goes through the shared client of ``apps.core.aws`` (timeouts, retries). A
    call DynamoDB cannot serve raises SessionStoreUnavailable, which SessionMiddleware
    answers with a 503; the error also stays in ``unavailable``, so nothing later in the
    request can report success. The async methods are SessionBase's: they run these
    methods in a thread, which suits a blocking, thread-safe boto3 client.
    """

    def __init__(self, session_key=None):
        super().__init__(session_key)
        self.unavailable = None
        # Expiry of the stored item in epoch seconds, once loaded or saved.
        self._expires_at = None

    def _validate_session_key(self, key):
        # Stricter than SessionBase: a key this store never issues is dropped before any call.
        return isinstance(key, str) and _VALID_KEY.fullmatch(key) is not None

    def _dynamodb(self, operation, **params):
        """Call ``operation`` on the sessions table, or raise SessionStoreUnavailable."""
        table = settings.SESSIONS_TABLE
        try:
            with aws.unavailable_as(
                SessionStoreUnavailable,
                lambda exc: f"DynamoDB {operation} on {table}: {type(exc).__name__}: {exc}",
            ):
                return getattr(aws.client("dynamodb"), operation)(TableName=table, **params)
        except SessionStoreUnavailable as exc:
            self.unavailable = exc
            raise

    def _key(self, session_key):
        """The item's primary key: the session key, or its SHA-256 if keys are hashed."""
        if settings.SESSION_DYNAMODB_HASH_KEYS:
            # Whoever can read the table (a backup, an export) finds no usable cookie in it.
            session_key = hashlib.sha256(session_key.encode()).hexdigest()
        return TABLE.key(session_key)

    def _get_session_from_dynamodb(self):
        if self.session_key is None:
            return None
        response = self._dynamodb(
            "get_item",
            Key=self._key(self.session_key),
            ConsistentRead=settings.SESSION_DYNAMODB_CONSISTENT_READ,
        )
        item = response.get("Item", {})
        try:
            session_data = item[DATA_ATTRIBUTE]["S"]
            expires_at = int(item[TTL_ATTRIBUTE]["N"])
        except (KeyError, ValueError):
            # No item, or not one this store wrote: the same as no session.
            session_data, expires_at = None, 0
        if expires_at <= time.time():
            self._session_key = None
            return None
        self._expires_at = expires_at
        return session_data

    def load(self):
        """
        Return the session data. An unknown, expired or malformed session is empty and
        loses its key, so a later save creates a new one; nothing is written here.
        """
        session_data = self._get_session_from_dynamodb()
        return self.decode(session_data) if session_data is not None else {}

    def exists(self, session_key):
        """Return True if an item holds ``session_key``; an expired one still takes the key."""
        if not self._validate_session_key(session_key):
            return False
        response = self._dynamodb(
            "get_item",
            Key=self._key(session_key),
            ProjectionExpression="#key",
            ExpressionAttributeNames={"#key": KEY_ATTRIBUTE},
            ConsistentRead=settings.SESSION_DYNAMODB_CONSISTENT_READ,
        )
        return "Item" in response

    def create(self):
        """Save the session under a new key that no item holds yet."""
        while True:
            self._session_key = self._get_new_session_key()
            try:
                # Save immediately to ensure we have a unique entry in the table.
                self.save(must_create=True)
            except CreateError:
                # Key wasn't unique. Try again.
                continue
            self.modified = True
            return

    def _get_new_session_key(self):
        # The conditional write in save(must_create=True) is the uniqueness check; asking
        # exists() first, as SessionBase does, would add a read to every new session.
        return get_random_string(32, VALID_KEY_CHARS)

    def _item(self, data, expires_at):
        """The item for the current session: key, signed data and TTL expiry."""
        return {
            **self._key(self._get_or_create_session_key()),  # type: ignore[attr-defined]  # SessionBase's, unlisted in the stubs
            DATA_ATTRIBUTE: {"S": self.encode(data)},
            TTL_ATTRIBUTE: {"N": str(expires_at)},
        }

    def _refresh_can_wait(self):
        """
        With SESSION_SAVE_EVERY_REQUEST an unmodified session is saved only to push its
        expiry back; skip that write while more than SESSION_DYNAMODB_REFRESH_FRACTION
        of the session's age remains.
        """
        if self.modified or not settings.SESSION_SAVE_EVERY_REQUEST or self._expires_at is None:
            return False
        remaining = self._expires_at - time.time()
        return remaining >= settings.SESSION_DYNAMODB_REFRESH_FRACTION * self.get_expiry_age()

    def save(self, must_create=False):
        """
        Save the session data. If 'must_create' is True, only create a new item (raise
        CreateError if the key is taken). Otherwise only update an item that still exists
        and has not expired (raise UpdateError if it was deleted meanwhile, e.g. by a
        logout in another request), so a deleted session is never resurrected.
        """
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]  # as above
        if not must_create and self._refresh_can_wait():
            return
        expires_at = int(self.get_expiry_date().timestamp())
        if must_create:
            condition = {
                "ConditionExpression": "attribute_not_exists(#key)",
                "ExpressionAttributeNames": {"#key": KEY_ATTRIBUTE},
            }
        else:
            # attribute_exists alone would revive an expired item that TTL has not deleted yet.
            condition = {
                "ConditionExpression": "attribute_exists(#key) AND #expires > :now",
                "ExpressionAttributeNames": {
                    "#key": KEY_ATTRIBUTE,
                    "#expires": TTL_ATTRIBUTE,
                },
                "ExpressionAttributeValues": {":now": {"N": str(int(time.time()))}},
            }
        condition_failed = aws.client("dynamodb").exceptions.ConditionalCheckFailedException
        try:
            self._dynamodb("put_item", Item=self._item(data, expires_at), **condition)
        except condition_failed as exc:
            raise (CreateError if must_create else UpdateError) from exc
        self._expires_at = expires_at

    def delete(self, session_key=None):
        """Delete the item of ``session_key`` (default: this session's); none is fine."""
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if self._validate_session_key(session_key):
            self._dynamodb("delete_item", Key=self._key(session_key))

    @classmethod
    def clear_expired(cls):
        """
        Do nothing: the table's TTL deletes expired items without cost, and load() ignores
        those not deleted yet. A scan would read, and bill, the whole table on every run.
        """

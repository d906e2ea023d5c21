"""The DynamoDB session store against moto's server: Django's own expectations, then ours;
every case again with hashed keys.
"""

import hashlib
import time

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.test import SimpleTestCase, override_settings

from apps.sessions.backends.dynamodb import DATA_ATTRIBUTE, SessionStore
from apps.sessions.backends.dynamodb import KEY_ATTRIBUTE as SESSIONS_KEY_ATTRIBUTE
from apps.sessions.backends.dynamodb import TTL_ATTRIBUTE as SESSIONS_TTL_ATTRIBUTE
from apps.sessions.tests.django_cases import SessionTestsMixin
from apps.sessions.tests.table import (
    get_item,
    operations,
    put_item,
    recorded_calls,
    set_stored_expiry,
    stored_expiry,
)


@pytest.mark.usefixtures("local_aws")
class DynamoDBSessionTests(SessionTestsMixin, SimpleTestCase):
    backend = SessionStore

    def saved_session(self, **data):
        session = self.backend()
        session.update(data)
        session.save()
        self.addCleanup(session.delete)
        return session

    def test_item_holds_signed_data_and_ttl_expiry(self):
        session = self.saved_session(cat="dog")
        item = get_item(session.session_key)
        self.assertEqual(session.decode(item[DATA_ATTRIBUTE]["S"]), {"cat": "dog"})
        expected = time.time() + settings.SESSION_COOKIE_AGE
        self.assertAlmostEqual(stored_expiry(session.session_key), expected, delta=5)

    def test_custom_expiry_is_the_ttl(self):
        session = self.backend()
        session.set_expiry(60)
        session.save()
        self.addCleanup(session.delete)
        self.assertAlmostEqual(stored_expiry(session.session_key), time.time() + 60, delta=5)

    def test_expired_item_that_ttl_has_not_deleted_is_not_loaded(self):
        session = self.saved_session(cat="dog")
        set_stored_expiry(session.session_key, time.time() - 1)
        reloaded = self.backend(session.session_key)
        self.assertEqual(reloaded.load(), {})
        self.assertIsNone(reloaded.session_key)

    def test_loading_an_unknown_key_writes_nothing(self):
        session = self.backend("someunknownkey")
        with recorded_calls() as calls:
            self.assertIsNone(session.get("cat"))
        self.assertEqual(operations(calls), ["GetItem"])
        self.assertIsNone(get_item("someunknownkey"))

    def test_malformed_item_is_an_empty_session(self):
        put_item("malformeditem1", {SESSIONS_TTL_ATTRIBUTE: {"N": str(int(time.time()) + 60)}})
        self.addCleanup(self.backend().delete, "malformeditem1")
        session = self.backend("malformeditem1")
        self.assertEqual(session.load(), {})
        self.assertIsNone(session.session_key)

    def test_tampered_data_is_rejected_by_the_signature(self):
        session = self.saved_session(user="alice")
        item = get_item(session.session_key)
        # signing.dumps() gives "payload:timestamp:signature"; swap the payload only.
        signed_part = item[DATA_ATTRIBUTE]["S"].partition(":")[2]
        forged_payload = session.encode({"user": "mallory"}).partition(":")[0]
        item[DATA_ATTRIBUTE] = {"S": f"{forged_payload}:{signed_part}"}
        put_item(session.session_key, item)
        with self.assertLogs("django.security.SuspiciousSession", "WARNING"):
            self.assertEqual(self.backend(session.session_key).load(), {})

    def test_keys_it_never_issues_are_dropped_without_a_call(self):
        with recorded_calls() as calls:
            for key in ("A" * 32, "x" * 3000, "abc/def/ghi", "é" * 32, 12345678):
                session = self.backend(key)
                self.assertIsNone(session.session_key)
                self.assertEqual(session.load(), {})
                self.assertIs(session.exists(key), False)
                session.delete(key)
        self.assertEqual(calls, [])

    def test_create_retries_on_a_key_collision(self):
        taken = self.saved_session(cat="dog").session_key
        fresh = SessionStore()._get_new_session_key()

        class CollidingSessionStore(SessionStore):
            keys = iter([taken, fresh])

            def _get_new_session_key(self):
                return next(self.keys)

        session = CollidingSessionStore()
        session["bird"] = "owl"
        with recorded_calls() as calls:
            session.save()
        self.addCleanup(session.delete)
        self.assertEqual(operations(calls), ["PutItem", "PutItem"])
        self.assertEqual(session.session_key, fresh)
        # The session that held the key first is untouched.
        self.assertEqual(self.backend(taken).load(), {"cat": "dog"})

    def test_new_session_is_one_conditional_write(self):
        session = self.backend()
        session["cat"] = "dog"
        with recorded_calls() as calls:
            session.save()
        self.assertEqual(operations(calls), ["PutItem"])
        self.assertEqual(calls[0][1]["ConditionExpression"], "attribute_not_exists(#key)")

    def test_save_does_not_resurrect_an_expired_item(self):
        session = self.saved_session(cat="dog")
        session.modified = False
        set_stored_expiry(session.session_key, time.time() - 1)
        session["cat"] = "cow"
        with self.assertRaises(UpdateError):
            session.save()
        self.assertEqual(self.backend(session.session_key).load(), {})

    def test_reads_are_consistent_unless_configured_otherwise(self):
        key = self.saved_session(cat="dog").session_key
        for consistent in (True, False):
            with (
                self.subTest(consistent=consistent),
                self.settings(SESSION_DYNAMODB_CONSISTENT_READ=consistent),
            ):
                with recorded_calls() as calls:
                    self.backend(key).load()
                self.assertIs(calls[0][1]["ConsistentRead"], consistent)

    def test_clear_expired_leaves_it_to_ttl(self):
        key = self.saved_session(cat="dog").session_key
        with recorded_calls() as calls:
            SessionStore.clear_expired()
        self.assertEqual(calls, [])
        self.assertIsNotNone(get_item(key))

    async def test_aclear_expired_leaves_it_to_ttl(self):
        with recorded_calls() as calls:
            await SessionStore.aclear_expired()
        self.assertEqual(calls, [])


@pytest.mark.usefixtures("local_aws")
@override_settings(SESSION_DYNAMODB_HASH_KEYS=True)
class HashedKeyDynamoDBSessionTests(DynamoDBSessionTests):
    """Every case again with the partition key holding SHA-256(session key)."""

    def test_table_holds_the_hash_not_the_key(self):
        session = self.saved_session(cat="dog")
        digest = hashlib.sha256(session.session_key.encode()).hexdigest()
        with self.settings(SESSION_DYNAMODB_HASH_KEYS=False):
            self.assertIsNone(get_item(session.session_key))
            item = get_item(digest)
        self.assertEqual(item[SESSIONS_KEY_ATTRIBUTE], {"S": digest})

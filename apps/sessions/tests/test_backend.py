"""The DynamoDB session store against moto's server: Django's own expectations, then ours."""

import base64
import hashlib
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.core.signing import TimestampSigner
from django.test import SimpleTestCase, override_settings
from django.utils import timezone

from apps.sessions.backends.dynamodb import DATA_ATTRIBUTE, SessionStore
from apps.sessions.backends.dynamodb import KEY_ATTRIBUTE as SESSIONS_KEY_ATTRIBUTE
from apps.sessions.backends.dynamodb import TTL_ATTRIBUTE as SESSIONS_TTL_ATTRIBUTE
from apps.sessions.exceptions import SessionStoreUnavailable
from apps.sessions.tests.table import (
    get_item,
    operations,
    put_item,
    recorded_calls,
    set_stored_expiry,
    stored_expiry,
)
from tests.fixtures import free_port


class SessionTestsMixin:
    """The backend-independent cases of Django's tests/sessions_tests (SessionTestsMixin)."""

    backend = None  # subclasses must specify

    def setUp(self):
        self.session = self.backend()
        self.addCleanup(self.session.delete)

    def test_new_session(self):
        self.assertIs(self.session.modified, False)
        self.assertIs(self.session.accessed, False)

    def test_get_empty(self):
        self.assertIsNone(self.session.get("cat"))

    async def test_get_empty_async(self):
        self.assertIsNone(await self.session.aget("cat"))

    def test_store(self):
        self.session["cat"] = "dog"
        self.assertIs(self.session.modified, True)
        self.assertEqual(self.session.pop("cat"), "dog")

    async def test_store_async(self):
        await self.session.aset("cat", "dog")
        self.assertIs(self.session.modified, True)
        self.assertEqual(await self.session.apop("cat"), "dog")

    def test_pop(self):
        self.session["some key"] = "exists"
        # Need to reset these to pretend we haven't accessed it:
        self.accessed = False
        self.modified = False

        self.assertEqual(self.session.pop("some key"), "exists")
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, True)
        self.assertIsNone(self.session.get("some key"))

    def test_pop_default(self):
        self.assertEqual(self.session.pop("some key", "does not exist"), "does not exist")
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, False)

    def test_pop_no_default_keyerror_raised(self):
        with self.assertRaises(KeyError):
            self.session.pop("some key")

    def test_setdefault(self):
        self.assertEqual(self.session.setdefault("foo", "bar"), "bar")
        self.assertEqual(self.session.setdefault("foo", "baz"), "bar")
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, True)

    async def test_setdefault_async(self):
        self.assertEqual(await self.session.asetdefault("foo", "bar"), "bar")
        self.assertEqual(await self.session.asetdefault("foo", "baz"), "bar")
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, True)

    def test_update(self):
        self.session.update({"update key": 1})
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, True)
        self.assertEqual(self.session.get("update key", None), 1)

    def test_has_key(self):
        self.session["some key"] = 1
        self.session.modified = False
        self.session.accessed = False
        self.assertIn("some key", self.session)
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, False)

    def test_values(self):
        self.assertEqual(list(self.session.values()), [])
        self.assertIs(self.session.accessed, True)
        self.session["some key"] = 1
        self.session.modified = False
        self.session.accessed = False
        self.assertEqual(list(self.session.values()), [1])
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, False)

    def test_keys(self):
        self.session["x"] = 1
        self.session.modified = False
        self.session.accessed = False
        self.assertEqual(list(self.session.keys()), ["x"])
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, False)

    def test_items(self):
        self.session["x"] = 1
        self.session.modified = False
        self.session.accessed = False
        self.assertEqual(list(self.session.items()), [("x", 1)])
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, False)

    def test_clear(self):
        self.session["x"] = 1
        self.session.modified = False
        self.session.accessed = False
        self.assertEqual(list(self.session.items()), [("x", 1)])
        self.session.clear()
        self.assertEqual(list(self.session.items()), [])
        self.assertIs(self.session.accessed, True)
        self.assertIs(self.session.modified, True)

    def test_save(self):
        self.session.save()
        self.assertIs(self.session.exists(self.session.session_key), True)

    async def test_save_async(self):
        await self.session.asave()
        self.assertIs(await self.session.aexists(self.session.session_key), True)

    def test_delete(self):
        self.session.save()
        self.session.delete(self.session.session_key)
        self.assertIs(self.session.exists(self.session.session_key), False)

    async def test_delete_async(self):
        await self.session.asave()
        await self.session.adelete(self.session.session_key)
        self.assertIs(await self.session.aexists(self.session.session_key), False)

    def test_flush(self):
        self.session["foo"] = "bar"
        self.session.save()
        prev_key = self.session.session_key
        self.session.flush()
        self.assertIs(self.session.exists(prev_key), False)
        self.assertNotEqual(self.session.session_key, prev_key)
        self.assertIsNone(self.session.session_key)
        self.assertIs(self.session.modified, True)
        self.assertIs(self.session.accessed, True)

    async def test_flush_async(self):
        await self.session.aset("foo", "bar")
        await self.session.asave()
        prev_key = self.session.session_key
        await self.session.aflush()
        self.assertIs(await self.session.aexists(prev_key), False)
        self.assertNotEqual(self.session.session_key, prev_key)
        self.assertIsNone(self.session.session_key)
        self.assertIs(self.session.modified, True)
        self.assertIs(self.session.accessed, True)

    def test_cycle(self):
        self.session["a"], self.session["b"] = "c", "d"
        self.session.save()
        prev_key = self.session.session_key
        prev_data = list(self.session.items())
        self.session.cycle_key()
        self.assertIs(self.session.exists(prev_key), False)
        self.assertNotEqual(self.session.session_key, prev_key)
        self.assertEqual(list(self.session.items()), prev_data)

    async def test_cycle_async(self):
        await self.session.aset("a", "c")
        await self.session.aset("b", "d")
        await self.session.asave()
        prev_key = self.session.session_key
        prev_data = list(await self.session.aitems())
        await self.session.acycle_key()
        self.assertIs(await self.session.aexists(prev_key), False)
        self.assertNotEqual(self.session.session_key, prev_key)
        self.assertEqual(list(await self.session.aitems()), prev_data)

    def test_cycle_with_no_session_cache(self):
        self.session["a"], self.session["b"] = "c", "d"
        self.session.save()
        prev_data = self.session.items()
        self.session = self.backend(self.session.session_key)
        self.assertIs(hasattr(self.session, "_session_cache"), False)
        self.session.cycle_key()
        self.assertCountEqual(self.session.items(), prev_data)

    async def test_cycle_with_no_session_cache_async(self):
        await self.session.aset("a", "c")
        await self.session.aset("b", "d")
        await self.session.asave()
        prev_data = await self.session.aitems()
        self.session = self.backend(self.session.session_key)
        self.assertIs(hasattr(self.session, "_session_cache"), False)
        await self.session.acycle_key()
        self.assertCountEqual(await self.session.aitems(), prev_data)

    def test_save_doesnt_clear_data(self):
        self.session["a"] = "b"
        self.session.save()
        self.assertEqual(self.session["a"], "b")

    async def test_save_doesnt_clear_data_async(self):
        await self.session.aset("a", "b")
        await self.session.asave()
        self.assertEqual(await self.session.aget("a"), "b")

    def test_invalid_key(self):
        # Submitting an invalid session key (either by guessing, or if the db has
        # removed the key) results in a new key being generated.
        try:
            session = self.backend("1")
            session.save()
            self.assertNotEqual(session.session_key, "1")
            self.assertIsNone(session.get("cat"))
            session.delete()
        finally:
            session.delete("1")

    async def test_invalid_key_async(self):
        try:
            session = self.backend("1")
            await session.asave()
            self.assertNotEqual(session.session_key, "1")
            self.assertIsNone(await session.aget("cat"))
            await session.adelete()
        finally:
            await session.adelete("1")

    def test_session_key_empty_string_invalid(self):
        """Falsey values (Such as an empty string) are rejected."""
        self.session._session_key = ""
        self.assertIsNone(self.session.session_key)

    def test_session_key_too_short_invalid(self):
        """Strings shorter than 8 characters are rejected."""
        self.session._session_key = "1234567"
        self.assertIsNone(self.session.session_key)

    def test_session_key_valid_string_saved(self):
        """Strings of length 8 and up are accepted and stored."""
        self.session._session_key = "12345678"
        self.assertEqual(self.session.session_key, "12345678")

    def test_session_key_is_read_only(self):
        def set_session_key(session):
            session.session_key = session._get_new_session_key()

        with self.assertRaises(AttributeError):
            set_session_key(self.session)

    # Custom session expiry
    def test_default_expiry(self):
        # A normal session has a max age equal to settings
        self.assertEqual(self.session.get_expiry_age(), settings.SESSION_COOKIE_AGE)

        # So does a custom session with an idle expiration time of 0 (but it'll
        # expire at browser close)
        self.session.set_expiry(0)
        self.assertEqual(self.session.get_expiry_age(), settings.SESSION_COOKIE_AGE)

    async def test_default_expiry_async(self):
        self.assertEqual(await self.session.aget_expiry_age(), settings.SESSION_COOKIE_AGE)
        await self.session.aset_expiry(0)
        self.assertEqual(await self.session.aget_expiry_age(), settings.SESSION_COOKIE_AGE)

    def test_custom_expiry_seconds(self):
        modification = timezone.now()

        self.session.set_expiry(10)

        date = self.session.get_expiry_date(modification=modification)
        self.assertEqual(date, modification + timedelta(seconds=10))

        age = self.session.get_expiry_age(modification=modification)
        self.assertEqual(age, 10)

    def test_custom_expiry_timedelta(self):
        modification = timezone.now()

        # Mock timezone.now, because set_expiry calls it on this code path.
        original_now = timezone.now
        try:
            timezone.now = lambda: modification
            self.session.set_expiry(timedelta(seconds=10))
        finally:
            timezone.now = original_now

        date = self.session.get_expiry_date(modification=modification)
        self.assertEqual(date, modification + timedelta(seconds=10))

        age = self.session.get_expiry_age(modification=modification)
        self.assertEqual(age, 10)

    def test_custom_expiry_datetime(self):
        modification = timezone.now()

        self.session.set_expiry(modification + timedelta(seconds=10))

        date = self.session.get_expiry_date(modification=modification)
        self.assertEqual(date, modification + timedelta(seconds=10))

        age = self.session.get_expiry_age(modification=modification)
        self.assertEqual(age, 10)

    def test_custom_expiry_reset(self):
        self.session.set_expiry(None)
        self.session.set_expiry(10)
        self.session.set_expiry(None)
        self.assertEqual(self.session.get_expiry_age(), settings.SESSION_COOKIE_AGE)

    def test_get_expire_at_browser_close(self):
        # Tests get_expire_at_browser_close with different settings and different
        # set_expiry calls
        with override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=False):
            self.session.set_expiry(10)
            self.assertIs(self.session.get_expire_at_browser_close(), False)

            self.session.set_expiry(0)
            self.assertIs(self.session.get_expire_at_browser_close(), True)

            self.session.set_expiry(None)
            self.assertIs(self.session.get_expire_at_browser_close(), False)

        with override_settings(SESSION_EXPIRE_AT_BROWSER_CLOSE=True):
            self.session.set_expiry(10)
            self.assertIs(self.session.get_expire_at_browser_close(), False)

            self.session.set_expiry(0)
            self.assertIs(self.session.get_expire_at_browser_close(), True)

            self.session.set_expiry(None)
            self.assertIs(self.session.get_expire_at_browser_close(), True)

    def test_decode(self):
        # Ensure we can decode what we encode
        data = {"a test key": "a test value"}
        encoded = self.session.encode(data)
        self.assertEqual(self.session.decode(encoded), data)

    def test_decode_failure_logged_to_security(self):
        tests = [
            base64.b64encode(b"flaskdj:alkdjf").decode("ascii"),
            "bad:encoded:value",
        ]
        for encoded in tests:
            with self.subTest(encoded=encoded):
                with self.assertLogs("django.security.SuspiciousSession", "WARNING") as cm:
                    self.assertEqual(self.session.decode(encoded), {})
                # The failed decode is logged.
                self.assertIn("Session data corrupted", cm.output[0])

    def test_decode_serializer_exception(self):
        signer = TimestampSigner(salt=self.session.key_salt)
        encoded = signer.sign(b"invalid data")
        self.assertEqual(self.session.decode(encoded), {})

    def test_actual_expiry(self):
        old_session_key = None
        new_session_key = None
        try:
            self.session["foo"] = "bar"
            self.session.set_expiry(-timedelta(seconds=10))
            self.session.save()
            old_session_key = self.session.session_key
            # With an expiry date in the past, the session expires instantly.
            new_session = self.backend(self.session.session_key)
            new_session_key = new_session.session_key
            self.assertNotIn("foo", new_session)
        finally:
            self.session.delete(old_session_key)
            self.session.delete(new_session_key)

    async def test_actual_expiry_async(self):
        old_session_key = None
        new_session_key = None
        try:
            await self.session.aset("foo", "bar")
            await self.session.aset_expiry(-timedelta(seconds=10))
            await self.session.asave()
            old_session_key = self.session.session_key
            # With an expiry date in the past, the session expires instantly.
            new_session = self.backend(self.session.session_key)
            new_session_key = new_session.session_key
            self.assertIs(await new_session.ahas_key("foo"), False)
        finally:
            await self.session.adelete(old_session_key)
            await self.session.adelete(new_session_key)

    def test_session_load_does_not_create_record(self):
        """
        Loading an unknown session key does not create a session record.

        Creating session records on load is a DOS vulnerability.
        """
        session = self.backend("someunknownkey")
        session.load()

        self.assertIsNone(session.session_key)
        self.assertIs(session.exists(session.session_key), False)
        # provided unknown key was cycled, not reused
        self.assertNotEqual(session.session_key, "someunknownkey")

    async def test_session_load_does_not_create_record_async(self):
        session = self.backend("someunknownkey")
        await session.aload()

        self.assertIsNone(session.session_key)
        self.assertIs(await session.aexists(session.session_key), False)
        # Provided unknown key was cycled, not reused.
        self.assertNotEqual(session.session_key, "someunknownkey")

    def test_session_save_does_not_resurrect_session_logged_out_in_other_context(self):
        """
        Sessions shouldn't be resurrected by a concurrent request.
        """
        # Create new session.
        s1 = self.backend()
        s1["test_data"] = "value1"
        s1.save(must_create=True)

        # Logout in another context.
        s2 = self.backend(s1.session_key)
        s2.delete()

        # Modify session in first context.
        s1["test_data"] = "value2"
        with self.assertRaises(UpdateError):
            # This should throw an exception as the session is deleted, not
            # resurrect the session.
            s1.save()

        self.assertEqual(s1.load(), {})

    async def test_session_asave_does_not_resurrect_session_logged_out_in_other_context(self):
        """Sessions shouldn't be resurrected by a concurrent request."""
        # Create new session.
        s1 = self.backend()
        await s1.aset("test_data", "value1")
        await s1.asave(must_create=True)

        # Logout in another context.
        s2 = self.backend(s1.session_key)
        await s2.adelete()

        # Modify session in first context.
        await s1.aset("test_data", "value2")
        with self.assertRaises(UpdateError):
            # This should throw an exception as the session is deleted, not
            # resurrect the session.
            await s1.asave()

        self.assertEqual(await s1.aload(), {})


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
@override_settings(SESSION_SAVE_EVERY_REQUEST=True, SESSION_DYNAMODB_REFRESH_FRACTION=0.5)
class RefreshThrottleTests(SimpleTestCase):
    """With SESSION_SAVE_EVERY_REQUEST, an unmodified session is rewritten only when due."""

    def setUp(self):
        session = SessionStore()
        session["cat"] = "dog"
        session.save()
        self.addCleanup(session.delete)
        self.key = session.session_key

    def save_unmodified(self):
        session = SessionStore(self.key)
        session.get("cat")
        with recorded_calls() as calls:
            session.save()
        return operations(calls)

    def test_fresh_session_is_not_rewritten(self):
        self.assertEqual(self.save_unmodified(), [])

    def test_session_past_the_fraction_is_rewritten_with_a_new_expiry(self):
        set_stored_expiry(self.key, time.time() + 0.4 * settings.SESSION_COOKIE_AGE)
        self.assertEqual(self.save_unmodified(), ["PutItem"])
        expected = time.time() + settings.SESSION_COOKIE_AGE
        self.assertAlmostEqual(stored_expiry(self.key), expected, delta=5)

    def test_session_within_the_fraction_is_not_rewritten(self):
        set_stored_expiry(self.key, time.time() + 0.6 * settings.SESSION_COOKIE_AGE)
        self.assertEqual(self.save_unmodified(), [])

    def test_modified_session_is_always_written(self):
        session = SessionStore(self.key)
        session["cat"] = "cow"
        with recorded_calls() as calls:
            session.save()
        self.assertEqual(operations(calls), ["PutItem"])

    @override_settings(SESSION_DYNAMODB_REFRESH_FRACTION=1.0)
    def test_fraction_one_rewrites_every_time(self):
        set_stored_expiry(self.key, time.time() + settings.SESSION_COOKIE_AGE - 2)
        self.assertEqual(self.save_unmodified(), ["PutItem"])

    @override_settings(SESSION_SAVE_EVERY_REQUEST=False)
    def test_explicit_save_without_save_every_request_writes(self):
        self.assertEqual(self.save_unmodified(), ["PutItem"])


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


@pytest.mark.usefixtures("local_aws")
@override_settings(AWS_CONNECT_TIMEOUT=0.5, AWS_READ_TIMEOUT=0.5, AWS_MAX_ATTEMPTS=1)
class UnavailableStoreTests(SimpleTestCase):
    """A store that cannot answer raises SessionStoreUnavailable and remembers it."""

    def assert_unavailable(self, call):
        session = SessionStore("someunknownkey")
        with self.assertRaises(SessionStoreUnavailable) as raised:
            call(session)
        self.assertIs(session.unavailable, raised.exception)

    def test_unreachable_endpoint(self):
        with self.settings(AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}"):
            self.assert_unavailable(lambda session: session.get("cat"))
            self.assert_unavailable(lambda session: session.cycle_key())
            self.assert_unavailable(lambda session: session.delete())

    def test_missing_table(self):
        with self.settings(SESSIONS_TABLE="missing"):
            self.assert_unavailable(lambda session: session.load())
            self.assert_unavailable(lambda session: session.create())

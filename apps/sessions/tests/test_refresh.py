"""The store's refresh throttle: with SESSION_SAVE_EVERY_REQUEST, an unmodified session is
rewritten only once less than SESSION_DYNAMODB_REFRESH_FRACTION of its age remains.
"""

import time

import pytest
from django.conf import settings
from django.test import SimpleTestCase, override_settings

from apps.sessions.backends.dynamodb import SessionStore
from apps.sessions.tests.table import (
    operations,
    recorded_calls,
    set_stored_expiry,
    stored_expiry,
)


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

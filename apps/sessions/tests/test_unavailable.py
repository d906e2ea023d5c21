"""A store that cannot answer (no endpoint, no table): SessionStoreUnavailable, remembered on
the session for the middleware.
"""

import pytest
from django.test import SimpleTestCase, override_settings

from apps.sessions.backends.dynamodb import SessionStore
from apps.sessions.exceptions import SessionStoreUnavailable
from deploy.tools.harness.loopback import free_port


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

"""moto's server in a thread, with its state saved to disk after every write.

moto keeps state in memory only. This wrapper marks the state dirty whenever a request
may have changed it, and a background thread calls the ``save`` callback (a snapshot,
see ``snapshot.py``) at most once per ``save_interval``; ``stop()`` saves a last time.
On start the caller re-provisions and restores the snapshot, so tables, objects, users
and parameters survive a restart (a hard kill loses at most the last interval).

It serves loopback only: moto's Cognito signs tokens with a key anyone has, so whoever
could reach the stack could forge tokens for it.
"""

import logging
import os
import threading
from collections.abc import Callable

from apps.core.loopback import is_loopback_host

logger = logging.getLogger(__name__)

# moto's Cognito signs every token with one built-in key whose private half ships with moto.
FORGEABLE_TOKENS_WARNING = (
    "WARNING: this stack's Cognito signs tokens with moto's public built-in key: anyone can "
    "forge a token that verifies against it. Never point a deployed app at this stack."
)

# Operations that only read (DynamoDB, Cognito and SSM name theirs in X-Amz-Target).
_READ_PREFIXES = ("Get", "Describe", "List", "Scan", "Query", "BatchGet", "TransactGet")


# moto serves a pool's keys at /<pool id>/.well-known/jwks.json but, unlike Cognito, only
# routes the request when a signature names the service; plain GETs (what the app's JWKS
# fetch sends) get one added here, so the local URL behaves like the real one.
_COGNITO_HINT = (
    "AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/cognito-idp/aws4_request, "
    "SignedHeaders=host, Signature=local"
)


def _route_well_known(environ):
    if "/.well-known/" in environ.get("PATH_INFO", "") and not environ.get("HTTP_AUTHORIZATION"):
        environ["HTTP_AUTHORIZATION"] = _COGNITO_HINT


def _is_write(environ):
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        operation = target.rpartition(".")[2]
        return not operation.startswith(_READ_PREFIXES)
    return environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD", "OPTIONS")


def require_loopback(host):
    """Refuse to serve anywhere but loopback: whoever reaches the stack can forge its tokens."""
    if not is_loopback_host(host):
        raise ValueError(
            f"The local AWS stack binds loopback only (127.0.0.0/8, ::1, localhost), not "
            f"{host!r}: its Cognito signs tokens with moto's public key, so whoever reaches it "
            "can forge them. Set LOCALAWS_HOST to 127.0.0.1."
        )


class LocalAWS:
    """Start, serve and stop moto on ``host:port`` (port 0 picks a free one), loopback only."""

    def __init__(self, host="127.0.0.1", port=0, save_interval=0.5):
        require_loopback(host)
        self.host = host
        self.port = port
        self._save: Callable[[], object] | None = None
        self._save_interval = save_interval
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._dynamodb_writes = threading.Lock()
        self._server = None
        self._threads = []

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def start(self):
        # Reproducible Cognito ids: the same pool and client come back after a restart.
        os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY", "HASH")
        os.environ.setdefault("MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY", "HASH")
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            create_backend_app,
        )
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, *args, **kwargs):
                pass

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self.host,
            self.port,
            self._track_writes(app),
            threaded=True,
            request_handler=QuietHandler,
        )
        self.port = self._server.server_address[1]
        self._start_thread(self._server.serve_forever)
        return self

    def save_changes(self, save):
        """From now on call ``save()`` after writes (start it once the state is restored)."""
        self._save = save
        self._start_thread(self._save_loop)

    def _start_thread(self, target):
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self):
        self._stopping.set()
        for thread in self._threads[1:]:
            thread.join(timeout=30)
        # The last save reads the state through the server, so it runs before shutdown.
        if self._save and self._dirty.is_set():
            self._save_now()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self._threads[0].join(timeout=10)

    def _track_writes(self, app):
        def tracked(environ, start_response):
            _route_well_known(environ)
            write = _is_write(environ)
            if write and environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
                # DynamoDB applies each write atomically (an UpdateItem ADD is a counter);
                # moto reads, changes and stores the item unlocked, so threaded requests
                # could lose updates. One DynamoDB write at a time, as the service behaves.
                with self._dynamodb_writes:
                    response = list(app(environ, start_response))
            else:
                response = app(environ, start_response)
            # After the write is applied, so a save never races ahead of it.
            if write:
                self._dirty.set()
            return response

        return tracked

    def _save_loop(self):
        while not self._stopping.wait(self._save_interval):
            if self._dirty.is_set():
                self._save_now()

    def _save_now(self):
        if self._save is None:  # save_changes() not called yet: nothing to save with
            return
        self._dirty.clear()
        try:
            self._save()
        except Exception:
            # Keep serving; the next write retries the save.
            logger.exception("could not save the local AWS stack's state")
            self._dirty.set()

"""ECR's registry endpoint, emulated: what ``podman login`` and ``podman push`` speak to.

A minimal OCI distribution server (Docker Registry HTTP API v2) on a loopback port: the
version check, blob uploads (monolithic and chunked, digests verified), blobs and manifests
by tag or digest. A manifest put registers the image in moto's ECR backend (``put_image``,
in this process), so DescribeImages answers for it as ECR does, and an immutable
repository refuses a tag twice as ECR does. Blobs live under ``<state_dir>/registry``.

How the deploy's ``podman push <account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>``
reaches it: podman (containers/image) connects to the reference's own host for login and
push; ``registries.conf``'s ``location`` rewriting applies to pulls only (checked with
podman 4.3). So the emulator stands where the network would: it is the HTTP proxy
(``HTTP_PROXY``) and answers absolute-form requests for ECR hosts only, and the
``registries.conf`` that ``registries_conf`` writes marks those hosts ``insecure``, which
lets the engine fall back to plain HTTP once HTTPS (through the dead ``HTTPS_PROXY``) fails.
Any other host gets 502, as from a proxy that reaches nothing.

Credentials: ``Authorization: Basic`` with what ECR's GetAuthorizationToken returns (moto:
``AWS:<account>-auth-token``), on every request but the version check's challenge.
"""

import base64
import hashlib
import json
import logging
import re
import shutil
import threading
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
ECR_HOST = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
ROUTE = re.compile(
    r"^/v2/(?P<name>[a-z0-9][a-z0-9._/-]*?)/"
    r"(?:(?P<kind>blobs|manifests)/(?P<reference>[^/]+)|blobs/uploads/(?P<upload>[^/]*))$"
)
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)


def expected_authorization(account_id) -> str:
    """The ``Authorization`` header for ``account_id``'s registry: basic auth with the token
    moto's GetAuthorizationToken returns (moto/ecr/responses.py), as ECR checks its own."""
    token = base64.b64encode(f"AWS:{account_id}-auth-token".encode()).decode()
    return f"Basic {token}"


def registries_conf(path, account_id, regions=("us-east-1",)) -> Path:
    """Write the ``registries.conf`` (``CONTAINERS_REGISTRIES_CONF``) that marks the account's
    ECR hosts insecure, so the engine speaks plain HTTP to them through ``HTTP_PROXY``."""
    entries = "".join(
        f'[[registry]]\nlocation = "{account_id}.dkr.ecr.{region}.amazonaws.com"\n'
        "insecure = true\n"
        for region in regions
    )
    path = Path(path)
    path.write_text(f"unqualified-search-registries = []\n{entries}")
    return path


class RegistryError(Exception):
    """An error as the distribution API reports one: status, code, message."""

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Registry:
    """``Registry(state_dir).start()``; ``url`` (the proxy address); ``stop()``."""

    def __init__(self, state_dir):
        self.root = Path(state_dir) / "registry"
        self.root.mkdir(parents=True, exist_ok=True)
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def start(self):
        registry = self

        class Handler(RegistryHandler):
            store = registry

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{HOST}:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # Storage: one directory per registry (account, region) and repository ----------------
    def repository_dir(self, account_id, region, name):
        return self.root / account_id / region / name

    def blob_path(self, repository_dir, digest):
        return repository_dir / "blobs" / digest.replace(":", "-")

    def upload_path(self, repository_dir, upload_id):
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise RegistryError(HTTPStatus.NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", "unknown upload")
        return repository_dir / "uploads" / upload_id


class RegistryHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store: Registry

    def log_message(self, format, *args):
        logger.debug("registry: " + format, *args)

    def do_GET(self):
        self._serve()

    do_HEAD = do_PUT = do_PATCH = do_POST = do_DELETE = do_GET

    def do_CONNECT(self):
        # HTTPS to an ECR host is not emulated: the engine falls back to HTTP (insecure).
        self._refuse(HTTPStatus.BAD_GATEWAY, "the emulated network has no TLS tunnels")

    # --- dispatch ------------------------------------------------------------------------
    def _serve(self):
        target = urlsplit(self.path)
        host = (target.netloc or self.headers.get("Host", "")).rsplit(":", 1)[0].lower()
        registry = ECR_HOST.match(host)
        try:
            body = self._read_body()
            if registry is None:
                raise RegistryError(
                    HTTPStatus.BAD_GATEWAY,
                    "UNSUPPORTED",
                    f"{host or 'this host'} is unreachable: the emulated network reaches only "
                    "ECR registries",
                )
            self.account_id, self.region = registry["account"], registry["region"]
            self.query = parse_qs(target.query)
            self._authorize()
            if target.path in ("/v2", "/v2/"):
                return self._send(HTTPStatus.OK, b"{}", "application/json")
            route = ROUTE.match(target.path)
            if route is None:
                raise RegistryError(HTTPStatus.NOT_FOUND, "UNSUPPORTED", "no such endpoint")
            self._route(route, body)
        except RegistryError as exc:
            self._error(exc)

    def _route(self, route, body):
        name = route["name"]
        self.repository = self._repository(name)
        self.directory = self.store.repository_dir(self.account_id, self.region, name)
        method = self.command
        if route["upload"] is not None:
            if method == "POST":
                return self._start_upload(name, body)
            path = self.store.upload_path(self.directory, route["upload"])
            if not path.exists():
                raise RegistryError(HTTPStatus.NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", "unknown upload")
            if method == "PATCH":
                return self._append(name, path, body)
            if method == "PUT":
                return self._finish_upload(name, path, body)
            if method == "DELETE":
                path.unlink()
                return self._send(HTTPStatus.NO_CONTENT)
        elif route["kind"] == "blobs" and method in ("GET", "HEAD"):
            return self._blob(route["reference"])
        elif route["kind"] == "manifests" and method in ("GET", "HEAD"):
            return self._manifest(route["reference"])
        elif route["kind"] == "manifests" and method == "PUT":
            return self._put_manifest(name, route["reference"], body)
        raise RegistryError(HTTPStatus.METHOD_NOT_ALLOWED, "UNSUPPORTED", f"{method} not allowed")

    # --- blobs ---------------------------------------------------------------------------
    def _start_upload(self, name, body):
        digest = self.query.get("digest", [None])[0]
        if digest:  # a monolithic upload in the POST itself
            self._store_blob(body, digest)
            return self._blob_created(name, digest)
        upload_id = uuid.uuid4().hex
        path = self.store.upload_path(self.directory, upload_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")
        self._upload_accepted(name, upload_id, 0)

    def _append(self, name, path, body):
        with path.open("ab") as upload:
            upload.write(body)
        self._upload_accepted(name, path.name, path.stat().st_size)

    def _finish_upload(self, name, path, body):
        digest = self.query.get("digest", [""])[0]
        content = path.read_bytes() + body
        self._store_blob(content, digest)
        path.unlink()
        self._blob_created(name, digest)

    def _store_blob(self, content, digest):
        if not DIGEST.match(digest or ""):
            raise RegistryError(HTTPStatus.BAD_REQUEST, "DIGEST_INVALID", "sha256 digests only")
        if f"sha256:{hashlib.sha256(content).hexdigest()}" != digest:
            raise RegistryError(
                HTTPStatus.BAD_REQUEST, "DIGEST_INVALID", "the content does not match its digest"
            )
        path = self.store.blob_path(self.directory, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{uuid.uuid4().hex}")
        partial.write_bytes(content)
        partial.replace(path)

    def _blob(self, digest):
        path = self.store.blob_path(self.directory, digest)
        if not DIGEST.match(digest) or not path.exists():
            raise RegistryError(HTTPStatus.NOT_FOUND, "BLOB_UNKNOWN", f"blob {digest} unknown")
        self._send(
            HTTPStatus.OK,
            path.read_bytes(),
            "application/octet-stream",
            {"Docker-Content-Digest": digest},
        )

    def _upload_accepted(self, name, upload_id, size):
        self._send(
            HTTPStatus.ACCEPTED,
            headers={
                "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
                "Docker-Upload-UUID": upload_id,
                "Range": f"0-{max(size - 1, 0)}",
            },
        )

    def _blob_created(self, name, digest):
        self._send(
            HTTPStatus.CREATED,
            headers={"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest},
        )

    # --- manifests: moto's ECR images ------------------------------------------------------
    def _manifest(self, reference):
        for image in self.repository.images:
            if reference in image.image_tags or reference == image.image_digest:
                media_type = image.image_manifest_media_type or MANIFEST_TYPES[0]
                return self._send(
                    HTTPStatus.OK,
                    image.image_manifest.encode(),
                    media_type,
                    {"Docker-Content-Digest": image.image_digest},
                )
        raise RegistryError(
            HTTPStatus.NOT_FOUND, "MANIFEST_UNKNOWN", f"manifest {reference} unknown"
        )

    def _put_manifest(self, name, reference, body):
        from moto.ecr.exceptions import ImageAlreadyExistsException

        media_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
        try:
            manifest = json.loads(body)
        except ValueError as exc:
            raise RegistryError(HTTPStatus.BAD_REQUEST, "MANIFEST_INVALID", str(exc)) from exc
        media_type = media_type or manifest.get("mediaType", "")
        if media_type not in MANIFEST_TYPES:
            raise RegistryError(
                HTTPStatus.BAD_REQUEST, "MANIFEST_INVALID", f"unsupported type {media_type!r}"
            )
        if DIGEST.match(reference) and reference != digest:
            raise RegistryError(HTTPStatus.BAD_REQUEST, "DIGEST_INVALID", "digest mismatch")
        for blob in [manifest.get("config", {}), *manifest.get("layers", [])]:
            if not self.store.blob_path(self.directory, blob.get("digest", "")).exists():
                raise RegistryError(
                    HTTPStatus.BAD_REQUEST,
                    "MANIFEST_BLOB_UNKNOWN",
                    f"blob {blob.get('digest')} was not pushed",
                )
        tag = None if DIGEST.match(reference) else reference
        try:
            self._ecr().put_image(
                repository_name=name,
                image_manifest=body.decode(),
                image_tag=tag,
                image_manifest_mediatype=media_type,
                digest=digest,
            )
        except ImageAlreadyExistsException as exc:
            raise RegistryError(HTTPStatus.BAD_REQUEST, "TAG_INVALID", exc.message) from exc
        logger.info("registry: %s:%s pushed (%s)", name, reference, digest)
        self._send(
            HTTPStatus.CREATED,
            headers={
                "Location": f"/v2/{name}/manifests/{digest}",
                "Docker-Content-Digest": digest,
            },
        )

    def _ecr(self):
        from moto.ecr.models import ecr_backends

        return ecr_backends[self.account_id][self.region]

    def _repository(self, name):
        repository = self._ecr().repositories.get(name)
        if repository is None:
            raise RegistryError(
                HTTPStatus.NOT_FOUND,
                "NAME_UNKNOWN",
                f"The repository with name '{name}' does not exist in the registry with id "
                f"'{self.account_id}'",
            )
        return repository

    # --- the wire --------------------------------------------------------------------------
    def _authorize(self):
        if self.headers.get("Authorization") == expected_authorization(self.account_id):
            return
        raise RegistryError(HTTPStatus.UNAUTHORIZED, "UNAUTHORIZED", "authentication required")

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _error(self, exc):
        body = json.dumps({"errors": [{"code": exc.code, "message": exc.message}]}).encode()
        headers = {}
        if exc.status == HTTPStatus.UNAUTHORIZED:
            host = f"{self.account_id}.dkr.ecr.{self.region}.amazonaws.com"
            headers["WWW-Authenticate"] = (
                f'Basic realm="https://{host}/",service="ecr.amazonaws.com"'
            )
        self._send(exc.status, body, "application/json", headers)

    def _refuse(self, status, message):
        self._send(status, message.encode(), "text/plain")

    def _send(self, status, body=b"", content_type=None, headers=None):
        self.send_response(status)
        self.send_header("Docker-Distribution-API-Version", "registry/2.0")
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def start(account):
    """Serve ``account``'s registries; sets ``account.registry_url``."""
    registry = Registry(account.state_dir).start()
    account.registry_url = registry.url
    return registry


def stop(registry):
    registry.stop()
    shutil.rmtree(registry.root, ignore_errors=True)

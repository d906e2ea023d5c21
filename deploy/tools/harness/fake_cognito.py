"""Cognito stand-ins: signed tokens shaped like Cognito's, and loopback servers for its JWKS
endpoint and the hosted UI's OAuth."""

import base64
import hashlib
import json
import time
import urllib.parse
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from deploy.tools.harness.loopback import LoopbackServer, QuietHandler

REGION = "us-east-1"
POOL_ID = "us-east-1_TestPool1"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
CLIENT_ID = "testclient1234567890"
OTHER_CLIENT_ID = "otherclient098765432"


class SigningKey:
    """An RSA key with a kid, its public JWK, and a token minting helper."""

    def __init__(self, kid):
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk = {
            **json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key())),
            "kid": kid,
            "alg": "RS256",
            "use": "sig",
        }

    def sign(self, claims, *, headers=None, algorithm="RS256", key=None):
        return jwt.encode(
            claims,
            key or self.private,
            algorithm=algorithm,
            headers={"kid": self.kid, **(headers or {})},
        )


def jwks_document(*keys):
    """The JWKS document (``{"keys": [...]}``) publishing ``keys``."""
    return {"keys": [key.jwk for key in keys]}


def claims(token_use="access", **overrides):  # noqa: S107 - a claim value, not a secret
    """Claims as Cognito issues them for ``token_use``; ``None`` values are removed."""
    now = int(time.time())
    base = {
        "sub": "7d8ca528-4931-4254-9273-ea5ee853f271",
        "iss": ISSUER,
        "token_use": token_use,
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        "origin_jti": str(uuid.uuid4()),
    }
    if token_use == "access":  # noqa: S105 - a claim value, not a secret
        base.update(client_id=CLIENT_ID, username=base["sub"], scope="openid email")
    else:
        base.update(aud=CLIENT_ID, email="ada@example.com", **{"cognito:username": base["sub"]})
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not None}


class JWKSServer(LoopbackServer):
    """Serves a JWKS document, counts fetches, and can be switched off (503)."""

    def __init__(self, *keys):
        self.document = jwks_document(*keys)
        self.fetches = 0
        self.up = True

        class Handler(QuietHandler):
            def do_GET(self):
                owner = self.server.owner
                owner.fetches += 1
                if not owner.up:
                    return self.reply(503, b"{}")
                self.reply(200, json.dumps(owner.document).encode())

        super().__init__(Handler)


class FakeHostedUI(LoopbackServer):
    """The hosted UI's OAuth endpoints: authorize (by the test), token, revoke.

    ``authorize()`` plays the user signing in: it records a code bound to the client,
    redirect URI, PKCE challenge and nonce of the authorize URL. ``/oauth2/token`` checks
    all of them (and the client secret, if one is set) before minting tokens.
    """

    def __init__(self, key, client_secret=None):
        self.key = key
        self.client_secret = client_secret
        self.codes = {}
        self.revoked = []
        self.token_requests = []

        class Handler(QuietHandler):
            def do_POST(self):
                owner = self.server.owner
                form = dict(urllib.parse.parse_qsl(self.read_body().decode()))
                if owner.client_secret and not owner.basic_ok(self.headers.get("Authorization")):
                    return self.reply(401, b'{"error": "invalid_client"}')
                if self.path == "/oauth2/token":
                    owner.token_requests.append(form)
                    status, body = owner.token(form)
                    return self.reply(status, json.dumps(body).encode())
                if self.path == "/oauth2/revoke":
                    owner.revoked.append(form.get("token"))
                    return self.reply(200, b"")
                return self.reply(404, b"{}")

        super().__init__(Handler)

    def basic_ok(self, header):
        expected = base64.b64encode(f"{CLIENT_ID}:{self.client_secret}".encode()).decode()
        return header == f"Basic {expected}"

    def authorize(self, authorize_url, *, nonce=None, **claim_overrides):
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
        code = uuid.uuid4().hex
        self.codes[code] = {
            "client_id": query["client_id"],
            "redirect_uri": query["redirect_uri"],
            "challenge": query["code_challenge"],
            "method": query["code_challenge_method"],
            "nonce": query["nonce"] if nonce is None else nonce,
            "claims": claim_overrides,
        }
        return code, query

    def token(self, form):
        grant = self.codes.pop(form.get("code"), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return 400, {"error": "invalid_grant"}
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if (
            grant["method"] != "S256"
            or challenge != grant["challenge"]
            or form.get("redirect_uri") != grant["redirect_uri"]
            or form.get("client_id") != grant["client_id"]
        ):
            return 400, {"error": "invalid_grant"}
        origin = str(uuid.uuid4())
        id_claims = claims("id", nonce=grant["nonce"], origin_jti=origin, **grant["claims"])
        access_claims = claims("access", origin_jti=origin)
        return 200, {
            "id_token": self.key.sign(id_claims),
            "access_token": self.key.sign(access_claims),
            "refresh_token": f"refresh-{uuid.uuid4()}",
            "token_type": "Bearer",
            "expires_in": 3600,
        }

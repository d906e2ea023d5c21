import json

import pytest

from deploy.tools.harness import fake_cognito
from deploy.tools.harness.loopback import free_port
from tests.fixtures import use_local_cognito


@pytest.fixture(scope="session")
def test_key():
    return fake_cognito.SigningKey("test-key-1")


@pytest.fixture
def token_settings(settings, tmp_path, test_key, local_aws):
    """Verify tokens of the fake Cognito's pool with keys pre-seeded from a JWKS file.

    The JWKS URL points at a closed port, so any fetch attempt fails (and is counted).
    """
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps(fake_cognito.jwks_document(test_key)))
    settings.COGNITO_ISSUER = fake_cognito.ISSUER
    settings.COGNITO_USER_POOL_ID = fake_cognito.POOL_ID
    settings.COGNITO_APP_CLIENT_ID = [fake_cognito.CLIENT_ID]
    settings.COGNITO_JWKS_FILE = str(jwks_file)
    settings.COGNITO_JWKS_URL = f"http://127.0.0.1:{free_port()}/jwks.json"
    settings.COGNITO_DOMAIN = None
    return settings


@pytest.fixture
def local_cognito(settings, local_aws):
    """Verify the local stack's real Cognito tokens, keys fetched from the stack."""
    return use_local_cognito(settings, local_aws)

"""Deploy checks (``manage.py check --deploy``): the token keys are not the local stack's.

The local AWS stack is moto, whose Cognito signs every token with one built-in RSA key; the
private half ships with moto, so anyone can forge a token that verifies against it. The stack
serves that key set on loopback only (``manage.py localaws`` binds nowhere else), so a key
URL or issuer on loopback, or a key file holding moto's key, means the settings would accept
forged tokens.
"""

import hashlib
import json

from django.conf import settings
from django.core.checks import Error, Tags, register

from apps.accounts.jwks import MAX_JWKS_BYTES
from apps.core.loopback import is_loopback_url

# SHA-256 of the modulus (``n`` as the JWKS spells it) of moto's signing key, kid "dummy" in
# moto/cognitoidp/resources/jwks-public.json. A fingerprint, because shipped code may not
# import moto; apps/accounts/tests/test_checks.py compares it with the installed moto's key.
MOTO_SIGNING_KEY_SHA256 = "a546642aa4c7ab20f8c4f44630d64157359052f3b7ca6f75f2d3609d7b0aa150"


def holds_moto_key(path):
    """Whether the JWKS file at ``path`` has moto's signing key (an unreadable file has not)."""
    try:
        with open(path, "rb") as file:
            document = json.loads(file.read(MAX_JWKS_BYTES + 1))
    except (OSError, ValueError):
        return False  # the key cache logs an unusable file and fetches the key set instead
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        return False
    return any(
        isinstance(key, dict)
        and hashlib.sha256(str(key.get("n", "")).encode()).hexdigest() == MOTO_SIGNING_KEY_SHA256
        for key in keys
    )


@register(Tags.security, deploy=True)
def check_token_keys_are_not_the_local_stacks(app_configs, **kwargs):
    """A deployed target takes its token keys from Cognito, never from the local stack."""
    errors = []
    if settings.COGNITO_JWKS_URL and is_loopback_url(settings.COGNITO_JWKS_URL):
        errors.append(
            Error(
                f"COGNITO_JWKS_URL {settings.COGNITO_JWKS_URL!r} is on loopback: the local AWS "
                "stack's key set, which signs tokens anyone can forge.",
                hint="Unset COGNITO_JWKS_URL on a deployed target: the keys then come from the "
                "pool's issuer (https://cognito-idp.<region>.amazonaws.com/<pool id>).",
                id="accounts.E001",
            )
        )
    if settings.COGNITO_ISSUER and is_loopback_url(settings.COGNITO_ISSUER):
        errors.append(
            Error(
                f"COGNITO_ISSUER {settings.COGNITO_ISSUER!r} is on loopback: tokens and keys "
                "would come from the local AWS stack, whose tokens anyone can forge.",
                hint="Unset COGNITO_ISSUER for a Cognito pool (it follows from AWS_REGION and "
                "COGNITO_USER_POOL_ID), or set it to the real issuer's https URL.",
                id="accounts.E002",
            )
        )
    if settings.COGNITO_JWKS_FILE and holds_moto_key(settings.COGNITO_JWKS_FILE):
        errors.append(
            Error(
                f"COGNITO_JWKS_FILE {settings.COGNITO_JWKS_FILE!r} holds moto's built-in "
                "signing key, whose private half is public: anyone can forge tokens for it.",
                hint="Write the file from the pool's own key set, https://cognito-idp."
                "<region>.amazonaws.com/<pool id>/.well-known/jwks.json, or unset it.",
                id="accounts.E003",
            )
        )
    return errors

"""Values derived from the Cognito settings, at call time."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def issuer():
    """The exact ``iss`` every token must carry."""
    if settings.COGNITO_ISSUER:
        return settings.COGNITO_ISSUER
    if not (settings.COGNITO_USER_POOL_ID and settings.AWS_REGION):
        raise ImproperlyConfigured(
            "COGNITO_USER_POOL_ID is not set; token verification needs it (or COGNITO_ISSUER)."
        )
    return (
        f"https://cognito-idp.{settings.AWS_REGION}.amazonaws.com/{settings.COGNITO_USER_POOL_ID}"
    )


def jwks_url():
    """Where the signing keys come from: a setting, else the issuer's well-known URL."""
    return settings.COGNITO_JWKS_URL or f"{issuer()}/.well-known/jwks.json"


def client_ids():
    return frozenset(settings.COGNITO_APP_CLIENT_ID)


def hosted_ui_url():
    """Base URL of the hosted UI (managed login), or None for the local/fallback form."""
    domain = settings.COGNITO_DOMAIN
    if not domain:
        return None
    if "://" not in domain:
        domain = f"https://{domain}"
    return domain.rstrip("/")

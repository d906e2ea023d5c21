from django.contrib.auth.backends import ModelBackend

from apps.accounts import services
from apps.accounts.tokens import TokenError, verify_token


class CognitoBackend(ModelBackend):
    """Authenticate with a Cognito ID token: ``authenticate(request, id_token=..., nonce=...)``.

    Password logins against the Django database are not accepted (they return None): every
    user signs in through Cognito. Permissions come from ModelBackend, so Django groups
    synced from Cognito groups work in the admin.
    """

    # A token, not ModelBackend's username and password: authenticate() passes its
    # keyword arguments through, and each backend takes the ones it understands.
    def authenticate(self, request, id_token=None, nonce=None, **credentials):  # type: ignore[override]
        if id_token is None:
            return None
        try:
            claims = verify_token(id_token, token_uses=("id",), nonce=nonce)
        except TokenError as exc:
            if request is not None:
                request.auth_error = exc.reason
            return None
        user = services.user_from_claims(claims)
        if request is not None:
            request.auth_claims = claims
        return user if self.user_can_authenticate(user) else None

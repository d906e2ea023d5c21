"""Bearer-token authentication for API clients, after Django's AuthenticationMiddleware."""

import logging

from django.conf import settings

from apps.accounts import services
from apps.accounts.tokens import TokenError, verify_token
from apps.core.errors import UNAVAILABLE_ERRORS, unavailable_cause
from apps.core.http import dependency_unavailable, unauthorized

logger = logging.getLogger(__name__)


class CognitoJWTMiddleware:
    """``Authorization: Bearer <token>`` authenticates the request from the token alone.

    A bad token gets 401 with an RFC 6750 ``WWW-Authenticate`` header and a JSON body; no
    session is read or written and CSRF does not apply (the browser never sends this header
    on its own). Without a Bearer header the session's user stands. The verified claims
    are on ``request.auth_claims`` (None when the user came from the session).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.auth_claims = None
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return self.get_response(request)
        try:
            claims = verify_token(token.strip(), token_uses=settings.COGNITO_BEARER_TOKEN_USES)
            user = services.user_for_bearer(claims)
        except TokenError as exc:
            logger.info("bearer token rejected: %s", exc.reason, extra={"reason": exc.reason})
            return unauthorized("invalid_token", exc.reason)
        except UNAVAILABLE_ERRORS as exc:
            # Before any view, so no process_exception sees it: the same 503 from here.
            return dependency_unavailable(request, unavailable_cause(exc))
        if not user.is_active:
            return unauthorized("invalid_token", "inactive_user")
        request.user = user
        request.auth_claims = claims
        # Not a browser request riding on cookies, so there is nothing for CSRF to protect.
        request._dont_enforce_csrf_checks = True
        return self.get_response(request)

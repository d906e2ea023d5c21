"""Users and groups from Cognito claims, and the login/logout workflows both login modes share."""

import logging
import time

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import IntegrityError, transaction

from apps.accounts import revocation

logger = logging.getLogger(__name__)

SESSION_TOKENS_KEY = "_cognito"


def user_from_claims(claims, *, sync_groups=True):
    """The user for a verified token's ``sub``, created on first sight; groups synced.

    Access tokens carry no email or name: those are filled from ID tokens at login and
    never blanked by an access token.
    """
    User = get_user_model()
    sub = claims["sub"]
    profile = {
        "email": claims.get("email", ""),
        "first_name": claims.get("given_name", ""),
        "last_name": claims.get("family_name", ""),
    }
    user = User.objects.filter(sub=sub).first()
    if user is None:
        user = _create_user(User, sub, claims, profile)
    else:
        changed = [
            field for field, value in profile.items() if value and getattr(user, field) != value
        ]
        for field in changed:
            setattr(user, field, profile[field])
        if changed:
            user.save(update_fields=changed)
    if sync_groups:
        sync_user_groups(user, claims.get("cognito:groups") or [])
    return user


def _create_user(User, sub, claims, profile):
    username = claims.get("cognito:username") or claims.get("username") or sub
    if User.objects.filter(username=username).exists():
        username = sub
    try:
        with transaction.atomic():
            return User.objects.create_user(username=username, sub=sub, **profile)
    except IntegrityError:
        # Two first requests of the same user at once: the other one created it.
        return User.objects.get(sub=sub)


def sync_user_groups(user, cognito_groups):
    """Make the user's Django groups and admin flags match their Cognito groups."""
    names = sorted({name for name in cognito_groups if isinstance(name, str) and name})
    groups = [Group.objects.get_or_create(name=name)[0] for name in names]
    user.groups.set(groups)
    is_superuser = settings.COGNITO_SUPERUSER_GROUP in names
    is_staff = is_superuser or settings.COGNITO_STAFF_GROUP in names
    if (user.is_staff, user.is_superuser) != (is_staff, is_superuser):
        user.is_staff, user.is_superuser = is_staff, is_superuser
        user.save(update_fields=["is_staff", "is_superuser"])


def user_for_bearer(claims):
    """The user of an API call; groups are synced at most once per token (per process cache)."""
    marker = f"cognito-synced:{claims.get('jti') or claims.get('origin_jti') or claims['sub']}"
    ttl = max(int(claims["exp"] - time.time()), 1)
    return user_from_claims(claims, sync_groups=cache.add(marker, True, ttl))


def complete_login(request, tokens, *, nonce=None):
    """Finish either login mode: verify the ID token, log in, keep the refresh token.

    Returns the user, or None if the ID token was not acceptable. The session key is
    cycled by ``login()``; the refresh token stays server-side in the session only.
    """
    user = authenticate(request, id_token=tokens.get("IdToken"), nonce=nonce)
    if user is None:
        return None
    login(request, user)
    claims = request.auth_claims
    request.session[SESSION_TOKENS_KEY] = {
        "refresh_token": tokens.get("RefreshToken"),
        "origin_jti": claims.get("origin_jti"),
        "auth_time": claims.get("auth_time"),
    }
    return user


def complete_logout(request):
    """Deny-list the session's tokens, then end the session. Returns the refresh token.

    The deny-list write comes first: if it fails (DenyListUnavailable) the user stays
    signed in and can retry, rather than being told they are out while tokens live on.
    """
    stored = request.session.get(SESSION_TOKENS_KEY) or {}
    origin_jti = stored.get("origin_jti")
    if origin_jti:
        revocation.revoke(origin_jti, time.time() + settings.COGNITO_DENYLIST_TTL)
    logout(request)
    return stored.get("refresh_token")

"""Users and groups from Cognito claims, and the login/logout workflows both login modes share."""

import logging
import time
import uuid

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login, logout
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import IntegrityError, transaction

from apps.accounts import revocation, staff
from apps.core import limits

logger = logging.getLogger(__name__)

SESSION_TOKENS_KEY = "_cognito"


def user_from_claims(claims, *, sync_groups=True):
    """The user for a verified token's ``sub``, created on first sight; groups synced.

    Access tokens carry no email or name: those are filled from ID tokens at login and
    never blanked by an access token. The claims are verify_token's, so their types are
    known; their lengths are fitted to the columns here.
    """
    User = get_user_model()
    sub = claims["sub"]
    # As create_user stores it; a shortened address is somebody else's, so one that does
    # not fit is left out.
    email = User.objects.normalize_email(claims.get("email", ""))
    profile = {
        "email": email if len(email) <= _column_length(User, "email") else "",
        "first_name": claims.get("given_name", "")[: _column_length(User, "first_name")],
        "last_name": claims.get("family_name", "")[: _column_length(User, "last_name")],
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
    try:
        with transaction.atomic():
            return User.objects.create_user(
                username=_free_username(User, sub, claims), sub=sub, **profile
            )
    except IntegrityError:
        # Two first requests of the same user at once: the other one created it.
        return User.objects.get(sub=sub)


def _free_username(User, sub, claims):
    """The token's username if it fits and is free, else the sub, else a new unique name.

    Names are compared as create_user stores them (NFKC, which can lengthen them), and a
    username can be the user's choice: someone may have picked another user's sub.
    """
    limit = _column_length(User, "username")
    for claimed in (claims.get("cognito:username") or claims.get("username"), sub):
        candidate = User.normalize_username(claimed or "")
        if (
            candidate
            and len(candidate) <= limit
            and not User.objects.filter(username=candidate).exists()
        ):
            return candidate
    return f"user-{uuid.uuid4().hex}"


def _column_length(User, field):
    return User._meta.get_field(field).max_length


def sync_user_groups(user, cognito_groups):
    """Make the user's Django groups and admin flags match their Cognito groups."""
    names = sorted({name for name in cognito_groups if isinstance(name, str) and name})
    user.groups.set([_group(name) for name in names])
    is_superuser = settings.COGNITO_SUPERUSER_GROUP in names
    is_staff = is_superuser or settings.COGNITO_STAFF_GROUP in names
    if (user.is_staff, user.is_superuser) != (is_staff, is_superuser):
        user.is_staff, user.is_superuser = is_staff, is_superuser
        user.save(update_fields=["is_staff", "is_superuser"])


def _group(name):
    group, created = Group.objects.get_or_create(name=name)
    if created and name == settings.COGNITO_STAFF_GROUP:
        # migrate made it; this one was deleted since, or COGNITO_STAFF_GROUP was renamed.
        staff.grant_staff_permissions(group)
    return group


def user_for_bearer(claims):
    """The user of an API call; groups are synced at most once per token (per process cache)."""
    # Hashed: a jti may hold any character, and memcached refuses some in keys.
    marker = limits.key(
        "cognito-synced", claims.get("jti") or claims.get("origin_jti") or claims["sub"]
    )
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

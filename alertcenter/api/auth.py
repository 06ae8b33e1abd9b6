"""Personal API tokens: issue, revoke, and authenticate requests with them.

A token is shown to its owner once; only its SHA-256 digest and a short
prefix (to recognise it in a list) are stored.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from alerts.models import ApiToken

TOKEN_MARK = "ac_"
PREFIX_LENGTH = 11
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_PRECISION = timedelta(minutes=1)


def token_digest(raw: str) -> str:
    """Return the hex SHA-256 digest under which a token is stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """Create a token for the user; return it and its raw value (shown once)."""
    raw = TOKEN_MARK + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=raw[:PREFIX_LENGTH], digest=token_digest(raw)
    )
    return token, raw


def revoke_token(token: ApiToken) -> bool:
    """Revoke the token; return False when it was revoked already."""
    changed = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    return changed == 1


def user_for_token(raw: str) -> AbstractBaseUser | None:
    """Return the active user of a live token, noting its use; else None."""
    token = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None

    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def bearer_value(header: str) -> str | None:
    """Return the credentials of an `Authorization: Bearer ...` header, or None
    when the header uses another scheme."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


class BearerTokenAuthentication(authentication.BaseAuthentication):
    """Authenticate `Authorization: Bearer <token>` as the token's user."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        raw = bearer_value(header)
        if raw is None:
            return None
        if not raw or " " in raw:
            raise exceptions.AuthenticationFailed("Malformed bearer token.")

        user = user_for_token(raw)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return user, None

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Describe bearer tokens in the OpenAPI schema."""

    target_class = "alertcenter.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}

"""Roles: admins see and manage everything, ops tune settings, owners own."""

from __future__ import annotations

from typing import Any, Self, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model, QuerySet
from django.http import HttpRequest

ADMINS_GROUP = "admins"
OPS_GROUP = "ops"

AnyUser = AbstractBaseUser | AnonymousUser
_Row = TypeVar("_Row", bound=Model)


def _in_group(user: Any, name: str) -> bool:
    if not user.is_authenticated:
        return False
    cache = getattr(user, "_alertcenter_groups", None)
    if cache is None:
        cache = set(user.groups.values_list("name", flat=True))
        user._alertcenter_groups = cache
    return name in cache


def is_admin(user: Any) -> bool:
    """Return whether the user sees and manages every object."""
    return bool(user.is_authenticated and user.is_superuser) or _in_group(
        user, ADMINS_GROUP
    )


def is_ops(user: Any) -> bool:
    """Return whether the user may change the alert settings."""
    return is_admin(user) or _in_group(user, OPS_GROUP)


def roles_context(request: HttpRequest) -> dict[str, bool]:
    """Expose the roles of the current user to templates."""
    user = request.user
    return {"user_is_admin": is_admin(user), "user_is_ops": is_ops(user)}


class OwnedQuerySet(QuerySet[_Row]):
    """Rows that belong to one user through ``owner_lookup``: admins and ops
    see them all, admins act on them all, everyone else sees and acts on
    their own. One rule for every kind of object, so no view can differ."""

    owner_lookup = "owner"

    def visible_to(self, user: Any) -> Self:
        """Return the rows the user may see."""
        return self if is_ops(user) else self.filter(**{self.owner_lookup: user})

    def managed_by(self, user: Any) -> Self:
        """Return the rows the user may act on (ops only look)."""
        return self if is_admin(user) else self.filter(**{self.owner_lookup: user})

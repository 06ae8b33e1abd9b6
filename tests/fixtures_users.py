"""The standing users of the suite: an owner, another owner, an admin, ops."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.factories import make_user


@pytest.fixture
def owner(db: None) -> User:
    return make_user("owner")


@pytest.fixture
def other_owner(db: None) -> User:
    return make_user("other")


@pytest.fixture
def admin_user(db: None) -> User:
    return make_user("admin", role="admin")


@pytest.fixture
def ops_user(db: None) -> User:
    return make_user("ops", role="ops")

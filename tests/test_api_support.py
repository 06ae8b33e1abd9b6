"""Helpers shared by the API tests (this module holds no tests itself)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from alertcenter.api.auth import issue_token


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    """Start each test with empty write counters: on SQLite user ids repeat
    from test to test, and the counters live in the process-wide cache."""
    cache.clear()


class ApiClient:
    """A test client that speaks JSON with a bearer token of one user."""

    def __init__(self, user: User | None = None, raw_token: str | None = None):
        self.client = Client()
        self.headers: dict[str, str] = {}
        if user is not None and raw_token is None:
            _, raw_token = issue_token(user, "tests")
        if raw_token is not None:
            self.headers["Authorization"] = f"Bearer {raw_token}"

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params or {}, headers=self.headers)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        content_type = kw.pop("content_type", "application/json")
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.client.post(
            path, data, content_type=content_type, headers=self.headers, **kw
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(path, headers=self.headers)


def failure(mailbox: str, **fields: Any) -> dict[str, Any]:
    """Return a valid failure body about a mailbox address."""
    body: dict[str, Any] = {
        "occurred_at": timezone.now().isoformat(),
        "mailbox": mailbox,
        "stage": "smtp-auth",
        "reply_code": 535,
        "status": "5.7.8",
        "text": "535 5.7.8 Authentication credentials invalid",
    }
    body.update(fields)
    return body

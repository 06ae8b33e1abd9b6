"""Root test configuration: which real services the suite runs on."""

from __future__ import annotations

import importlib.util

import pytest
from django.conf import settings

pytest_plugins = ["tests.fixtures_users", "tests.celery_worker"]
if importlib.util.find_spec("tests.fixtures_mail") is not None:
    pytest_plugins.append("tests.fixtures_mail")


def pytest_report_header(config: pytest.Config) -> list[str]:
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    redis = "Redis at " + settings.REDIS_URL if settings.REDIS_AVAILABLE else "no Redis"
    return [f"alertcenter: database {engine}, {redis}, CI={settings.IN_CI}"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    redis = "available" if settings.REDIS_AVAILABLE else "unavailable"
    terminalreporter.write_line(
        f"alertcenter: suite ran on database={engine} redis={redis} CI={settings.IN_CI}"
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    for item in items:
        if "postgres" in item.keywords and not settings.POSTGRES_AVAILABLE:
            item.add_marker(pytest.mark.skip(reason="PostgreSQL does not answer"))
        if "redis" in item.keywords and not settings.REDIS_AVAILABLE:
            item.add_marker(pytest.mark.skip(reason="Redis does not answer"))

"""The foundation: migrations, settings helpers, encryption at rest."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.db import connection

from alertcenter.env import EnvError, env_bool, env_int, env_rate
from tests.factories import make_mailbox


@pytest.mark.django_db
def test_no_migrations_are_missing() -> None:
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


def test_env_bool_refuses_unknown_words(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(EnvError):
        env_bool("FLAG")
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG") is True


def test_env_int_checks_kind_and_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("N", "ten")
    with pytest.raises(EnvError):
        env_int("N", 1)
    monkeypatch.setenv("N", "-1")
    with pytest.raises(EnvError):
        env_int("N", 1, minimum=0)
    monkeypatch.setenv("N", "7")
    assert env_int("N", 1) == 7


@pytest.mark.parametrize("raw", ["120", "abc/minute", "0/second", "5/fortnight"])
def test_env_rate_refuses_what_a_rate_limit_cannot_read(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv("RATE", raw)
    with pytest.raises(EnvError):
        env_rate("RATE", "1/day")


def test_env_rate_reads_a_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    assert env_rate("RATE", "1/day") == "1/day"
    monkeypatch.setenv("RATE", " 2000/second ")
    assert env_rate("RATE", "1/day") == "2000/second"


@pytest.mark.django_db
def test_mailbox_password_is_encrypted_at_rest() -> None:
    mailbox = make_mailbox(password="hunter2-very-secret")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT password FROM mailboxes_mailbox WHERE id = %s", [mailbox.pk]
        )
        stored = cursor.fetchone()[0]
    assert "hunter2" not in stored
    assert stored.startswith("fernet:")
    mailbox.refresh_from_db()
    assert mailbox.password == "hunter2-very-secret"


@pytest.mark.django_db
def test_login_page_answers(client) -> None:
    response = client.get("/login/")
    assert response.status_code == 200
    assert "Content-Security-Policy" in response.headers


@pytest.mark.django_db
def test_wall_needs_login(client) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")

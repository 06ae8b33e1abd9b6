"""Alert cards: what the card template is given matches what the models and
Django's date filter would have shown."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone

from alerts.cards import CardMaker
from alerts.choices import Level, Persistence, Scope
from alerts.models import SyncPrompt
from alerts.tests.test_wall_helpers import make_alert
from alerts.views import wall_queryset
from tests.factories import make_email, make_mailbox

pytestmark = pytest.mark.django_db


def _card_of(alert, user, **kw):
    return CardMaker(user, **kw).card(wall_queryset(user).get(pk=alert.pk))


def test_card_urls_are_those_of_the_objects(admin_user, owner) -> None:
    mailbox = make_mailbox(owner)
    email = make_email(mailbox)
    alert = make_alert([owner], profile=mailbox.profile, mailbox=mailbox, email=email)
    SyncPrompt.objects.create(alert=alert, kind="conflict", item="x", choices=["a"])

    card = _card_of(alert, admin_user)

    assert card.url == alert.get_absolute_url()
    assert card.profile.url == mailbox.profile.get_absolute_url()
    assert card.mailbox.url == mailbox.get_absolute_url()
    assert card.email.url == email.get_absolute_url()
    assert card.email.text == str(email)
    assert card.resolve_url == reverse("alerts:resolve", args=[alert.pk])
    assert card.delete_url == reverse("alerts:delete", args=[alert.pk])
    assert card.prompt.decide_url == reverse("alerts:decide", args=[alert.pk])


def test_links_to_objects_of_others_are_plain_text(owner, other_owner) -> None:
    theirs = make_mailbox(other_owner)
    alert = make_alert([owner], profile=theirs.profile, mailbox=theirs)

    card = _card_of(alert, owner)

    assert (card.profile.text, card.profile.url) == (theirs.profile.name, "")
    assert (card.mailbox.text, card.mailbox.url) == (theirs.address, "")


@pytest.mark.parametrize(
    ("level", "scope", "persistence"),
    [
        (Level.ERROR, Scope.EMAIL, Persistence.PERMANENT),
        (Level.WARNING, Scope.MAILBOX, Persistence.TRANSIENT),
        (Level.INFORMATION, Scope.PROFILE, ""),
    ],
)
def test_labels_are_the_display_values(admin_user, level, scope, persistence) -> None:
    alert = make_alert(level=level, scope=scope, persistence=persistence)

    card = _card_of(alert, admin_user)

    assert card.level_label == alert.get_level_display()
    assert card.scope_label == alert.get_scope_display()
    expected = alert.get_persistence_display() if persistence else ""
    assert card.persistence_label == expected


def test_times_read_as_the_date_filter_shows_them(admin_user) -> None:
    seen = datetime(2026, 1, 31, 23, 59, 30, 123456, tzinfo=UTC)
    alert = make_alert(seen=seen)

    with timezone.override("Asia/Kolkata"):
        card = _card_of(alert, admin_user)
        local = timezone.template_localtime(seen)
        assert card.last_seen.iso == date_filter(local, "c")
        assert card.last_seen.text == date_filter(local, "Y-m-d H:i")
    assert card.last_seen.text == "2026-02-01 05:29"

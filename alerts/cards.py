"""What an alert card shows, worked out in Python once per page.

The card template only places these values. Django's template engine spends
a few microseconds on every variable, filter and tag it meets, and a wall
page holds 25 cards: deciding permissions, labels, dates and URLs here keeps
the page inside its time budget. Text stays plain ``str``; the template
escapes it as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Model
from django.urls import reverse
from django.utils.formats import localize
from django.utils.timezone import template_localtime

from alertcenter.access import is_admin
from alerts.choices import AlertState
from alerts.models import Alert, SyncPrompt

# Reversed in place of a pk, then looked for: no URL prefix holds these digits.
_MARK = 2_147_000_999


class _PkUrls:
    """Reverse a URL that takes one pk once, when first asked, then put each
    pk in its place."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.parts: tuple[str, str] | None = None

    def __call__(self, pk: int) -> str:
        if self.parts is None:
            head, _, tail = reverse(self.name, args=[_MARK]).partition(str(_MARK))
            self.parts = (head, tail)
        return f"{self.parts[0]}{pk}{self.parts[1]}"


@dataclass(frozen=True, slots=True)
class Stamp:
    """A moment as the card shows it: machine form and minute form."""

    iso: str
    text: str


@dataclass(frozen=True, slots=True)
class Link:
    """An object an alert concerns; ``url`` is empty when the viewer may not
    open it."""

    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """A sync decision on a card; ``decide_url`` is empty when the viewer may
    not decide it."""

    kind: str
    item: str
    decision: str
    decided_at: str
    choices: list[Any]
    decide_url: str


@dataclass(frozen=True, slots=True)
class Card:
    """One alert as one viewer sees it on the wall or on its own page."""

    pk: int
    level: str
    level_label: str
    scope_label: str
    persistence_label: str
    resolved: bool
    action_required: bool
    expanded: bool
    message: str
    url: str
    count: int
    first_seen: Stamp
    last_seen: Stamp
    code: str
    profile: Link | None
    mailbox: Link | None
    email: Link | None
    reason: str
    stage: str
    explanation: str
    action: str
    detail: str
    resolution: str
    prompt: Prompt | None
    resolve_url: str
    delete_url: str


def _labels(model: type[Model], name: str) -> dict[Any, str]:
    """Return the display label of each choice of a field, as the model's
    get_FOO_display() gives it."""
    return {
        value: str(label) for value, label in model._meta.get_field(name).flatchoices
    }


LEVEL_LABELS = _labels(Alert, "level")
SCOPE_LABELS = _labels(Alert, "scope")
PERSISTENCE_LABELS = _labels(Alert, "persistence")
PROMPT_KIND_LABELS = _labels(SyncPrompt, "kind")


def _stamp(moment: datetime) -> Stamp:
    """Return the moment as the template's date filters "c" and "Y-m-d H:i"
    showed it, in the current time zone."""
    local = template_localtime(moment)
    minute = (
        f"{local.year:04d}-{local.month:02d}-{local.day:02d} "
        f"{local.hour:02d}:{local.minute:02d}"
    )
    return Stamp(local.isoformat(), minute)


def _code(alert: Alert) -> str:
    """Return the reply code and status code, as many as are known."""
    parts = [localize(alert.reply_code) if alert.reply_code else "", alert.status_code]
    return " ".join(part for part in parts if part)


class CardMaker:
    """Make the cards of one page for one viewer: what is the same for every
    card (role, URL shapes) is worked out once."""

    def __init__(self, user: Any, expanded: bool = False) -> None:
        self.user_pk = user.pk
        self.admin = is_admin(user)
        self.expanded = expanded
        self.detail_url = _PkUrls("alerts:detail")
        self.resolve_url = _PkUrls("alerts:resolve")
        self.delete_url = _PkUrls("alerts:delete")
        self.decide_url = _PkUrls("alerts:decide")
        # What get_absolute_url() of a profile, a mailbox and an email give.
        self.profile_url = _PkUrls("serverprofiles:detail")
        self.mailbox_url = _PkUrls("mailboxes:detail")
        self.email_url = _PkUrls("mailboxes:email")

    def cards(self, alerts: list[Alert]) -> list[Card]:
        return [self.card(alert) for alert in alerts]

    def card(self, alert: Alert) -> Card:
        # Admins' alerts carry no per-viewer annotations; neither is true then.
        action_required = bool(getattr(alert, "action_required", False))
        acts = self.admin or action_required
        resolved = alert.state == AlertState.RESOLVED
        active = alert.state == AlertState.ACTIVE
        return Card(
            pk=alert.pk,
            level=alert.level,
            level_label=LEVEL_LABELS.get(alert.level, alert.level),
            scope_label=SCOPE_LABELS.get(alert.scope, alert.scope),
            persistence_label=PERSISTENCE_LABELS.get(
                alert.persistence, alert.persistence
            ),
            resolved=resolved,
            action_required=action_required,
            expanded=self.expanded,
            message=alert.message,
            url=self.detail_url(alert.pk),
            count=alert.count,
            first_seen=_stamp(alert.first_seen),
            last_seen=_stamp(alert.last_seen),
            code=_code(alert),
            profile=self._profile(alert),
            mailbox=self._mailbox(alert),
            email=self._email(alert),
            reason=alert.reason,
            stage=alert.stage,
            explanation=alert.explanation or "None recorded.",
            action=alert.action or "None needed.",
            detail=alert.detail,
            resolution=alert.resolution if resolved else "",
            prompt=self._prompt(alert, acts),
            resolve_url=self.resolve_url(alert.pk) if active and acts else "",
            delete_url=self.delete_url(alert.pk)
            if self.admin or getattr(alert, "is_recipient", False)
            else "",
        )

    def _opens(self, owner_id: int | None) -> bool:
        return self.admin or owner_id == self.user_pk

    def _profile(self, alert: Alert) -> Link | None:
        profile = alert.profile
        if profile is None:
            return None
        url = self.profile_url(profile.pk) if self._opens(profile.owner_id) else ""
        return Link(profile.name, url)

    def _mailbox(self, alert: Alert) -> Link | None:
        mailbox = alert.mailbox
        if mailbox is None:
            return None
        url = self.mailbox_url(mailbox.pk) if self._opens(mailbox.owner_id) else ""
        return Link(mailbox.address, url)

    def _email(self, alert: Alert) -> Link | None:
        email = alert.email
        if email is None:
            return None
        # An email's alert names the email's mailbox too (the funnel completes
        # it), which the page query already joined.
        mailbox = alert.mailbox if alert.mailbox_id == email.mailbox_id else None
        opens = self._opens((mailbox or email.mailbox).owner_id)
        return Link(str(email), self.email_url(email.pk) if opens else "")

    def _prompt(self, alert: Alert, acts: bool) -> Prompt | None:
        prompt = getattr(alert, "prompt", None)
        if prompt is None:
            return None
        decided_at = ""
        if prompt.decision and prompt.decided_at:
            decided_at = _stamp(prompt.decided_at).text
        return Prompt(
            kind=PROMPT_KIND_LABELS.get(prompt.kind, prompt.kind),
            item=prompt.item,
            decision=prompt.decision,
            decided_at=decided_at,
            choices=prompt.choices,
            decide_url=self.decide_url(alert.pk) if acts else "",
        )

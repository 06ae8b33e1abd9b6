"""The filters of the alerts wall; the HTTP API reuses the same FilterSet."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django_filters.filters import QuerySetRequestMixin

from alertcenter.access import is_ops
from alerts.choices import AlertState, Level, Persistence, Scope
from alerts.models import Alert, SearchText
from mailboxes.models import Email, Mailbox
from serverprofiles.models import ServerProfile

# Up to this many visible mailboxes or profiles, the form offers them as a
# list; beyond it, a text box alone (an admin may see 10,000 mailboxes).
CHOICE_LIMIT = 200
# The level buttons count at most this many alerts of each level (and one
# more, to know that there are more): exact counts of 400,000 alerts cost
# more than the whole page may.
COUNT_CAP = 10_000
STATE_ALL = "all"
STATE_CHOICES = [
    (AlertState.ACTIVE.value, "Active"),
    (AlertState.RESOLVED.value, "Resolved"),
    (STATE_ALL, "All"),
]


def _request_user(request: HttpRequest | None) -> Any:
    return getattr(request, "user", None)


def visible_mailboxes(request: HttpRequest | None) -> QuerySet[Mailbox]:
    """Return the mailboxes the requesting user may filter by; ops see every
    alert, so they may filter by every mailbox."""
    user = _request_user(request)
    if user is None:
        return Mailbox.objects.none()
    if is_ops(user):
        return Mailbox.objects.only("id", "address")
    return Mailbox.objects.visible_to(user).only("id", "address")


def visible_profiles(request: HttpRequest | None) -> QuerySet[ServerProfile]:
    """Return the profiles the requesting user may filter by: their own and
    those of their mailboxes (profile alerts reach affected mailbox owners)."""
    user = _request_user(request)
    if user is None:
        return ServerProfile.objects.none()
    if is_ops(user):
        return ServerProfile.objects.only("id", "name")
    of_my_mailboxes = Mailbox.objects.filter(owner=user).values("profile_id")
    mine = Q(owner=user) | Q(pk__in=of_my_mailboxes)
    return ServerProfile.objects.filter(mine).only("id", "name")


def visible_emails(request: HttpRequest | None) -> QuerySet[Email]:
    user = _request_user(request)
    if user is None:
        return Email.objects.none()
    if is_ops(user):
        return Email.objects.all()
    return Email.objects.visible_to(user)


def _start_of_day(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class ObjectLookupField(forms.CharField):
    """Take objects of a queryset by id or by name: the object of that id, or
    of that exact name in any case, else every object whose name starts with
    the text. Clean to one object, a queryset of several, or None."""

    def __init__(
        self, *, queryset: QuerySet[Any] | None = None, name_field: str, **kwargs: Any
    ) -> None:
        kwargs.setdefault("max_length", 254)
        super().__init__(**kwargs)
        self.queryset = queryset
        self.name_field = name_field

    def clean(self, value: Any) -> Model | QuerySet[Any] | None:
        text = super().clean(value)
        if not text:
            return None
        if self.queryset is None or not text.isprintable():
            raise ValidationError("Enter a name or an id.", code="invalid")
        found = self.lookup(self.queryset, text)
        if found is None:
            raise ValidationError(
                "Nothing you may see matches %(text)s.",
                code="invalid_choice",
                params={"text": text},
            )
        return found

    def lookup(
        self, queryset: QuerySet[Any], text: str
    ) -> Model | QuerySet[Any] | None:
        if text.isascii() and text.isdigit():
            # Longer figures are beyond any id and beyond the database's integer.
            return queryset.filter(pk=text).first() if len(text) < 18 else None
        exact = queryset.filter(**{f"{self.name_field}__iexact": text}).first()
        if exact is not None:
            return exact
        starting = queryset.filter(**{f"{self.name_field}__istartswith": text})
        return starting if starting.exists() else None


class ObjectLookupFilter(QuerySetRequestMixin, django_filters.Filter):
    """Filter by the objects an ObjectLookupField names (the request-bound
    queryset limits them to what the user may see)."""

    field_class = ObjectLookupField

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if value is None:
            return qs
        if isinstance(value, Model):
            return qs.filter(**{self.field_name: value})
        return qs.filter(**{f"{self.field_name}__in": value.values("pk")})


_DATE = forms.DateInput(attrs={"type": "date"})


class AlertFilterSet(django_filters.FilterSet):
    """Filter a base queryset of alerts (already limited to what the user may
    see) by level, scope, persistence, state, object, date and text."""

    level = django_filters.ChoiceFilter(choices=Level.choices, empty_label="All")
    scope = django_filters.ChoiceFilter(choices=Scope.choices, empty_label="Any scope")
    persistence = django_filters.ChoiceFilter(
        choices=Persistence.choices, empty_label="Any persistence"
    )
    state = django_filters.ChoiceFilter(
        choices=STATE_CHOICES, method="filter_state", empty_label=None
    )
    mailbox = ObjectLookupFilter(
        queryset=visible_mailboxes,
        name_field="address",
        help_text="A mailbox id, its address, or the start of addresses.",
    )
    profile = ObjectLookupFilter(
        queryset=visible_profiles,
        name_field="name",
        help_text="A profile id, its name, or the start of names.",
    )
    email = django_filters.ModelChoiceFilter(queryset=visible_emails)
    since = django_filters.DateFilter(
        method="filter_since", label="Seen since", widget=_DATE
    )
    until = django_filters.DateFilter(
        method="filter_until", label="Seen until", widget=_DATE
    )
    q = django_filters.CharFilter(
        method="search",
        label="Search",
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "message, server text, reason"}
        ),
    )

    class Meta:
        model = Alert
        fields: list[str] = []

    def __init__(
        self,
        data: QueryDict | dict[str, Any] | None = None,
        queryset: QuerySet[Alert] | None = None,
        **kwargs: Any,
    ) -> None:
        # Active alerts unless another state was asked for, also when unbound.
        data = data.copy() if data is not None else QueryDict(mutable=True)
        if not data.get("state"):
            data["state"] = AlertState.ACTIVE.value
        super().__init__(data, queryset, **kwargs)

    def filter_state(
        self, queryset: QuerySet[Alert], name: str, value: str
    ) -> QuerySet[Alert]:
        if value == STATE_ALL:
            return queryset
        return queryset.filter(state=value)

    def filter_since(
        self, queryset: QuerySet[Alert], name: str, value: datetime.date
    ) -> QuerySet[Alert]:
        return queryset.filter(last_seen__gte=_start_of_day(value))

    def filter_until(
        self, queryset: QuerySet[Alert], name: str, value: datetime.date
    ) -> QuerySet[Alert]:
        next_day = value + datetime.timedelta(days=1)
        return queryset.filter(last_seen__lt=_start_of_day(next_day))

    def search(
        self, queryset: QuerySet[Alert], name: str, value: str
    ) -> QuerySet[Alert]:
        """Match the text in message, server text and reason, in any case.

        On PostgreSQL, trigram indexes on UPPER(SearchText) (migration 0005)
        serve this icontains lookup, and on active alerts they also hold the
        level, for the level counts; on SQLite it scans, which the demo
        affords.
        """
        value = value.strip()
        if not value:
            return queryset
        return queryset.alias(text=SearchText()).filter(text__icontains=value)

    def filter_queryset(
        self, queryset: QuerySet[Alert], skip: Iterable[str] = ()
    ) -> QuerySet[Alert]:
        for name, value in self.form.cleaned_data.items():
            if name not in skip:
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    def level_counts(self) -> dict[str, int]:
        """Return how many alerts each level has under the other filters, up
        to COUNT_CAP + 1 each (a figure above COUNT_CAP means "more"), in one
        query."""
        counts = {level: 0 for level in Level.values}
        if not self.is_valid():
            return counts
        others = self.filter_queryset(self.queryset.all(), skip={"level"})
        # One bounded count per level, each a LIMITed scan of an index; the
        # ORM cannot count a sliced queryset inside a select, so the three
        # compiled queries are joined by hand.
        parts, params = [], []
        for level in counts:
            capped = others.filter(level=level).order_by().values("pk")
            sql, level_params = capped[: COUNT_CAP + 1].query.sql_with_params()
            parts.append(f"(SELECT COUNT(*) FROM ({sql}) AS capped)")
            params.extend(level_params)
        with connections[others.db].cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(parts)}", params)
            row = cursor.fetchone()
        return dict(zip(counts, row, strict=True))

    def choice_lists(self) -> dict[str, Any]:
        """Return what the form offers for mailbox and profile: the visible
        ones when there are at most CHOICE_LIMIT, else None (a text box
        alone), and the text of the current choice."""
        request = self.request
        addresses = list(
            visible_mailboxes(request).values_list("address", flat=True)[
                : CHOICE_LIMIT + 1
            ]
        )
        profiles = list(
            visible_profiles(request).values_list("pk", "name")[: CHOICE_LIMIT + 1]
        )
        return {
            "mailboxes": addresses if len(addresses) <= CHOICE_LIMIT else None,
            "profiles": profiles if len(profiles) <= CHOICE_LIMIT else None,
            "mailbox_text": self._chosen_text("mailbox", "address"),
            "profile_text": self._chosen_text("profile", "name"),
            "profile_id": self._chosen_id("profile"),
        }

    def _chosen(self, name: str) -> Any:
        form = self.form
        return form.cleaned_data.get(name) if hasattr(form, "cleaned_data") else None

    def _chosen_text(self, name: str, name_field: str) -> str:
        """Return the name of the one object chosen, else the text as sent."""
        chosen = self._chosen(name)
        if isinstance(chosen, Model):
            return str(getattr(chosen, name_field))
        return str(self.data.get(name, ""))

    def _chosen_id(self, name: str) -> int | None:
        chosen = self._chosen(name)
        return chosen.pk if isinstance(chosen, Model) else None

    def query_string(self, **changes: str) -> str:
        """Return the active filters as a URL query string, with changes."""
        params = QueryDict(mutable=True)
        for name in self.filters:
            value = self.data.get(name)
            if value:
                params[name] = value
        for name, value in changes.items():
            if value:
                params[name] = value
            else:
                params.pop(name, None)
        return params.urlencode()


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


def encode_cursor(alert: Alert) -> str:
    """Return the keyset cursor that points just after this alert."""
    return f"{(alert.last_seen - _EPOCH) // _MICROSECOND}.{alert.pk}"


def decode_cursor(text: str) -> tuple[datetime.datetime, int]:
    """Return (last_seen, id) from a cursor; raise ValueError when malformed."""
    micros, _, pk = text.partition(".")
    # Twenty digits cover every date and id there is; more is not a cursor.
    if not micros.lstrip("-").isdigit() or not pk.isdigit() or len(text) > 42:
        raise ValueError(f"not a cursor: {text[:50]!r}")
    try:
        return _EPOCH + int(micros) * _MICROSECOND, int(pk)
    except OverflowError:
        raise ValueError(f"not a cursor: {text[:50]!r}") from None


def newest_first(
    queryset: QuerySet[Alert], cursor: tuple[datetime.datetime, int] | None = None
) -> QuerySet[Alert]:
    """Order alerts newest first and start after the cursor, if any; the wall
    index (-last_seen, -id) serves this without counting the whole list."""
    queryset = queryset.order_by("-last_seen", "-id")
    if cursor is not None:
        last_seen, pk = cursor
        queryset = queryset.filter(
            Q(last_seen__lt=last_seen) | Q(last_seen=last_seen, id__lt=pk)
        )
    return queryset
